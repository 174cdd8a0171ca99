import type { ReactNode } from 'react';
import { useI18n } from '../i18n';
import { LanguageSwitcher } from './LanguageSwitcher';
import { ThemeSwitcher } from './ThemeSwitcher';
import { Page } from './Page';

/** The narrow centred card of the signed-out screens, with the language choice at hand. */
export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="auth">
      <header className="auth-top">
        <span className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>{t('app.name')}</span>
        </span>
        <LanguageSwitcher />
        <ThemeSwitcher />
      </header>
      <main id="main" className="auth-card">
        <Page title={title}>{children}</Page>
      </main>
    </div>
  );
}
