import type { ReactNode } from 'react';
import { useI18n } from '../i18n';

export function Loading({ label, block = false }: { label?: string; block?: boolean }) {
  const { t } = useI18n();
  return (
    <div className={block ? 'loading loading-block' : 'loading'} role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label ?? t('common.loading')}</span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}

/**
 * A message about the form or page as a whole. It is always in the tree so that assistive
 * technology notices when text appears in it.
 */
export function Alert({ message, tone = 'error' }: { message: string | null | undefined; tone?: 'error' | 'success' | 'info' }) {
  return (
    <div className={message ? `alert alert-${tone}` : 'alert-slot'} role={tone === 'error' ? 'alert' : 'status'}>
      {message}
    </div>
  );
}
