import { type ReactNode, useEffect, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, Redirect, useLocation } from 'wouter';
import { type MessageKey, useI18n } from '../i18n';
import { useMe, useSignOut } from '../lib/auth';
import { useTRPC } from '../lib/trpc';
import { Alert } from './Feedback';
import { LanguageSwitcher } from './LanguageSwitcher';
import { NotificationBell } from './NotificationBell';
import { ThemeSwitcher } from './ThemeSwitcher';

interface NavItem {
  href: string;
  label: MessageKey;
  adminOnly?: boolean;
  /** Other places that belong to this item. */
  also?: string[];
}

const NAV: NavItem[] = [
  { href: '/tasks', label: 'nav.tasks', also: ['/my-work', '/today', '/upcoming', '/overdue', '/projects'] },
  { href: '/dashboard', label: 'nav.dashboard' },
  { href: '/account', label: 'nav.account' },
  { href: '/security', label: 'nav.security' },
  { href: '/admin', label: 'nav.admin', adminOnly: true },
];

function NavLink({ href, also = [], children }: { href: string; also?: string[] | undefined; children: ReactNode }) {
  const [location] = useLocation();
  const active = [href, ...also].some((place) => location === place || location.startsWith(`${place}/`));
  return (
    <Link href={href} className={active ? 'nav-link active' : 'nav-link'} aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  );
}

/** The frame of every signed-in screen: skip link, header with navigation, main content. */
export function Layout({ children }: { children: ReactNode }) {
  const { t, date } = useI18n();
  const me = useMe();
  const signOut = useSignOut();
  const [location] = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  // On a phone the menu folds away again once the user has picked a destination (set while
  // rendering, as React advises for state that follows a value, rather than in an effect).
  const [menuLocation, setMenuLocation] = useState(location);
  if (menuLocation !== location) {
    setMenuLocation(location);
    setMenuOpen(false);
  }
  // Escape folds an open menu and gives the focus back to its button, as with the bell's panel.
  const menuToggle = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setMenuOpen(false);
      menuToggle.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [menuOpen]);
  const isAdmin = me.data?.role === 'admin';
  const trpc = useTRPC();
  const factors = useQuery(trpc.mfa.status.queryOptions(undefined, { staleTime: 60_000 }));
  const policy = factors.data?.policy;
  const unenrolled = factors.data ? !factors.data.totp && factors.data.passkeys.length === 0 : false;

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('nav.skipToContent')}
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link href="/tasks" className="brand" aria-label={t('app.name')}>
            <img src="/favicon.svg" alt="" width="24" height="24" />
            <span>{t('app.name')}</span>
          </Link>
          <button
            ref={menuToggle}
            type="button"
            className="btn menu-toggle"
            aria-expanded={menuOpen}
            aria-controls="primary-nav"
            onClick={() => setMenuOpen((open) => !open)}
          >
            {t('nav.menu')}
          </button>
          <div id="primary-nav" className={menuOpen ? 'topbar-menu open' : 'topbar-menu'}>
            <nav aria-label={t('nav.label')}>
              <ul className="nav-list">
                {NAV.filter((item) => !item.adminOnly || isAdmin).map((item) => (
                  <li key={item.href}>
                    <NavLink href={item.href} also={item.also}>
                      {t(item.label)}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="topbar-user">
              <NotificationBell />
              <LanguageSwitcher />
              <ThemeSwitcher />
              {me.data ? (
                <span className="whoami" title={t('nav.signedInAs', { username: me.data.username })}>
                  <span className="visually-hidden">{t('nav.signedInAs', { username: me.data.username })}</span>
                  <span aria-hidden="true">{me.data.username}</span>
                </span>
              ) : null}
              <button type="button" className="btn" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
                {t('nav.signOut')}
              </button>
            </div>
          </div>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {/* A policy requires a second factor: during the grace period a reminder, after it nothing but the security page. */}
        {policy?.required && unenrolled && location !== '/security' ? (
          policy.mustEnrolNow ? (
            <Redirect to="/security" replace />
          ) : (
            <div className="policy-banner">
              <Alert tone="info" message={t('security.policyGrace', { date: policy.graceEndsAt ? date(policy.graceEndsAt) : '' })} />
              <Link href="/security">{t('security.setUpNow')}</Link>
            </div>
          )
        ) : null}
        {children}
      </main>
    </div>
  );
}
