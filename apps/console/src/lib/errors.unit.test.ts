import { changePasswordInput, registerInput } from '@stm/validators';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { translate, type Translate } from '../i18n';
import { describeError, formErrors, validate } from './errors';

const en: Translate = (key, vars) => translate('en', key, vars);
const es: Translate = (key, vars) => translate('es', key, vars);

/** What the tRPC client makes of an error response from the API. */
function apiError(data: Record<string, unknown>) {
  return TRPCClientError.from({ error: { message: 'English text the console ignores', code: -32600, data } });
}

describe('describeError', () => {
  it('translates by reason code, with its numbers', () => {
    const locked = apiError({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, reason: 'ACCOUNT_LOCKED', retryAfterSeconds: 90 });
    expect(describeError(locked, es).message).toBe('Demasiados intentos fallidos. Vuelve a intentarlo dentro de 90 segundos.');
    const short = apiError({
      code: 'BAD_REQUEST',
      httpStatus: 400,
      reason: 'PASSWORD_TOO_SHORT',
      fieldErrors: { newPassword: ['Password must be at least 12 characters'] },
      details: { minLength: 12 },
    });
    expect(describeError(short, en)).toEqual({
      message: 'The password must be at least 12 characters.',
      field: 'newPassword',
      reason: 'PASSWORD_TOO_SHORT',
    });
  });

  it('falls back to the transport code, and to "no connection" without an answer', () => {
    expect(describeError(apiError({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 }), en).message).toMatch(/^Too many requests/);
    expect(describeError(new TypeError('Failed to fetch'), en).message).toMatch(/^Could not reach the server/);
  });
});

describe('validate', () => {
  it('uses the shared schema and words its issues in the chosen language', () => {
    const result = validate(registerInput, { username: 'ab cd!', password: '' }, es);
    expect(result).toEqual({
      ok: false,
      errors: { username: 'Usa solo letras, números, «_», «.» y «-».', password: 'Este campo es obligatorio.' },
    });
    expect(validate(registerInput, { username: 'abc', password: 'x' }, en)).toMatchObject({
      errors: { username: 'Use at least 4 characters.' },
    });
  });

  it('words the password length as the server counts it: characters, not UTF-16 units', () => {
    expect(validate(registerInput, { username: 'long_one', password: 'x'.repeat(129) }, en)).toMatchObject({
      errors: { password: 'Use at most 128 characters.' },
    });
    expect(validate(registerInput, { username: 'emoji_one', password: '🙂'.repeat(128) }, en)).toMatchObject({ ok: true });
  });

  it('passes what the server would accept', () => {
    expect(validate(changePasswordInput, { currentPassword: 'old one', newPassword: 'new one' }, en)).toEqual({
      ok: true,
      data: { currentPassword: 'old one', newPassword: 'new one' },
    });
  });
});

describe('formErrors', () => {
  const taken = { message: 'That username is taken.', field: 'username' };

  it("shows the form's own check of a field before the server's refusal of it", () => {
    const shown = formErrors(['username', 'password'], { username: 'Required.' }, taken);
    expect(shown.field('username')).toBe('Required.');
    expect(shown.form).toBeNull();
  });

  it('shows a refusal at the field it blames, and nowhere else', () => {
    const shown = formErrors(['username', 'password'], {}, taken);
    expect(shown.field('username')).toBe('That username is taken.');
    expect(shown.field('password')).toBeUndefined();
    expect(shown.form).toBeNull();
  });

  it('gives the form a refusal that blames no field of it', () => {
    expect(formErrors(['newPassword'], {}, taken).form).toBe('That username is taken.');
    expect(formErrors(['newPassword'], {}, { message: 'No connection.' }).form).toBe('No connection.');
    expect(formErrors(['newPassword'], { newPassword: 'Too short.' }, null)).toMatchObject({ form: null });
  });
});
