import { type ReactNode, useEffect, useRef } from 'react';
import { useI18n } from '../i18n';

let initialPage = true;

/**
 * A screen's heading and document title. After a client-side navigation the heading takes focus,
 * so keyboard and screen-reader users start at the new content (as a full page load would).
 */
export function Page({
  title,
  count,
  actions,
  children,
  className,
}: {
  title: string;
  /** How many things the screen lists in all ("42 tasks"), beside its title. */
  count?: string | null | undefined;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = `${title} · ${t('app.name')}`;
  }, [title, t]);

  useEffect(() => {
    if (initialPage) initialPage = false;
    else heading.current?.focus({ preventScroll: false });
  }, []);

  return (
    <div className={className ? `page ${className}` : 'page'}>
      <div className="page-header">
        <div className="page-title">
          <h1 ref={heading} tabIndex={-1}>
            {title}
          </h1>
          {count ? <p className="page-count">{count}</p> : null}
        </div>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </div>
  );
}
