import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { en, type MessageKey } from './en';
import { es } from './es';

export type { MessageKey } from './en';

export type Language = 'en' | 'es';

/** Each language named in itself, so a reader finds their own whatever is on screen. */
export const LANGUAGES: { code: Language; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
];

const dictionaries: Record<Language, Record<MessageKey, string>> = { en, es };
const STORAGE_KEY = 'stm.language';

export type Vars = Record<string, string | number>;
export type Translate = (key: MessageKey, vars?: Vars) => string;

/** Keys that come as a `.one` / `.other` pair. */
export type PluralKey = {
  [K in MessageKey]: K extends `${infer Base}.other` ? (`${Base}.one` extends MessageKey ? Base : never) : never;
}[MessageKey];

/** A remembered choice wins; then the browser's languages in order; then English. */
export function detectLanguage(stored: string | null | undefined, preferred: readonly string[]): Language {
  if (stored === 'en' || stored === 'es') return stored;
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'en' || base === 'es') return base;
  }
  return 'en';
}

export function translate(language: Language, key: MessageKey, vars?: Vars): string {
  const template = dictionaries[language][key];
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? new Intl.NumberFormat(language).format(value) : value;
  });
}

export function translatePlural(language: Language, key: PluralKey, count: number, vars?: Vars): string {
  const form = new Intl.PluralRules(language).select(count) === 'one' ? 'one' : 'other';
  return translate(language, `${key}.${form}` as MessageKey, { count, ...vars });
}

export interface I18n {
  language: Language;
  setLanguage: (language: Language) => void;
  t: Translate;
  plural: (key: PluralKey, count: number, vars?: Vars) => string;
  /** ISO string from the API to a date and time in the reader's language and time zone. */
  dateTime: (iso: string) => string;
  date: (iso: string) => string;
}

const I18nContext = createContext<I18n | null>(null);

function readStoredLanguage(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: fall back to the browser's languages
  }
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(() =>
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- some browsers leave navigator.languages out, whatever the DOM types say
    detectLanguage(readStoredLanguage(), navigator.languages ?? [navigator.language]),
  );

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  const setLanguage = useCallback((next: Language) => {
    setLanguageState(next);
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Not remembered across visits; still switched for this one.
    }
  }, []);

  const value = useMemo<I18n>(() => {
    const dateTimeFormat = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });
    const dateFormat = new Intl.DateTimeFormat(language, { dateStyle: 'medium' });
    return {
      language,
      setLanguage,
      t: (key, vars) => translate(language, key, vars),
      plural: (key, count, vars) => translatePlural(language, key, count, vars),
      dateTime: (iso) => dateTimeFormat.format(new Date(iso)),
      date: (iso) => dateFormat.format(new Date(iso)),
    };
  }, [language, setLanguage]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error('useI18n outside I18nProvider');
  return context;
}
