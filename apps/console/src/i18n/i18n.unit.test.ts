import { describe, expect, it } from 'vitest';
import { en } from './en';
import { es } from './es';
import { detectLanguage, translate, translatePlural } from './index';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('dictionaries', () => {
  it('give every Spanish message the same placeholders as the English one', () => {
    for (const [key, text] of Object.entries(en)) {
      expect(placeholders(es[key as keyof typeof en]), key).toEqual(placeholders(text));
    }
  });

  it('leave no Spanish message empty or merely copied from English (brand names aside)', () => {
    const same = Object.keys(en).filter((key) => es[key as keyof typeof en] === en[key as keyof typeof en]);
    // "Editor" is the Spanish word too.
    expect(same.sort()).toEqual(['app.name', 'projects.role.editor']);
  });
});

describe('detectLanguage', () => {
  it('prefers a remembered choice, then the browser languages in order, then English', () => {
    expect(detectLanguage('es', ['en-US'])).toBe('es');
    expect(detectLanguage(null, ['fr-FR', 'es-MX', 'en'])).toBe('es');
    expect(detectLanguage(null, ['en-GB', 'es'])).toBe('en');
    expect(detectLanguage('de', ['fr'])).toBe('en');
  });
});

describe('translate', () => {
  it('fills placeholders, formatting numbers for the language', () => {
    expect(translate('en', 'error.ACCOUNT_LOCKED', { seconds: 1200 })).toBe('Too many failed sign-ins. Try again in 1,200 seconds.');
    expect(translate('es', 'error.ACCOUNT_LOCKED', { seconds: 30 })).toBe('Demasiados intentos fallidos. Vuelve a intentarlo dentro de 30 segundos.');
  });

  it('chooses plural forms by count', () => {
    expect(translatePlural('en', 'account.passwordChangedEnded', 1)).toBe('Password changed. 1 other session was ended.');
    expect(translatePlural('es', 'account.passwordChangedEnded', 3)).toBe('Contraseña cambiada. Se cerraron 3 sesiones más.');
  });
});
