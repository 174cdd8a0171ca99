import { useId } from 'react';
import { type Language, LANGUAGES, useI18n } from '../i18n';

export function LanguageSwitcher() {
  const { t, language, setLanguage } = useI18n();
  const id = useId();
  return (
    <div className="language">
      <label htmlFor={id}>{t('common.language')}</label>
      <select id={id} value={language} onChange={(event) => setLanguage(event.target.value as Language)}>
        {LANGUAGES.map(({ code, name }) => (
          <option key={code} value={code} lang={code}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}
