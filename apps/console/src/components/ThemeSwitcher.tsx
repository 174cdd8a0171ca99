import { useId, useState } from 'react';
import { type MessageKey, useI18n } from '../i18n';
import { readThemeChoice, storeThemeChoice, THEME_CHOICES, type ThemeChoice } from '../lib/theme';

const LABELS: Record<ThemeChoice, MessageKey> = {
  system: 'theme.system',
  light: 'theme.light',
  dark: 'theme.dark',
};

export function ThemeSwitcher() {
  const { t } = useI18n();
  const id = useId();
  const [choice, setChoice] = useState(readThemeChoice);
  return (
    <div className="language">
      <label htmlFor={id}>{t('theme.label')}</label>
      <select
        id={id}
        value={choice}
        onChange={(event) => {
          const next = event.target.value as ThemeChoice;
          setChoice(next);
          storeThemeChoice(next);
        }}
      >
        {THEME_CHOICES.map((option) => (
          <option key={option} value={option}>
            {t(LABELS[option])}
          </option>
        ))}
      </select>
    </div>
  );
}
