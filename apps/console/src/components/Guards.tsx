import { type ReactNode, useState } from 'react';
import { Link, Redirect, useLocation, useSearch } from 'wouter';
import { safeNext, useMe, useSessionState } from '../lib/auth';
import { session } from '../lib/trpc';
import { AuthFrame } from './AuthFrame';
import { NotAllowed } from '../pages/Status';
import { Alert, Loading } from './Feedback';
import { describeError } from '../lib/errors';
import { useI18n } from '../i18n';

/**
 * Signed-in screens. When the session ends (or never was), the user goes to sign-in and, unless
 * they signed out on purpose, comes back here afterwards.
 */
export function RequireSession({ children }: { children: ReactNode }) {
  const state = useSessionState();
  const [location] = useLocation();
  const search = useSearch();
  if (state.status === 'restoring') return <Loading block />;
  if (state.status === 'unreachable') return <ServerUnreachable />;
  const deactivated = state.status === 'signed-out' && state.reason === 'deactivated';
  if (state.status === 'signed-out' && !deactivated) {
    const here = `${location}${search ? `?${search}` : ''}`;
    const next = state.reason !== 'signed-out' && here !== '/' ? `?next=${encodeURIComponent(here)}` : '';
    return <Redirect to={`/sign-in${next}`} replace />;
  }
  // A deactivated user's screen stays, in the same place in the tree (nothing remounts), so that
  // a dialog keeps what was being typed; the banner says why nothing works any more.
  return (
    <>
      {deactivated ? <AccountDeactivated /> : null}
      {children}
    </>
  );
}

/**
 * The session could not be checked: the user is most likely still signed in, so they are told
 * the server cannot be reached rather than sent to sign in. It keeps trying by itself too.
 */
function ServerUnreachable() {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const retry = () => {
    setBusy(true);
    void session.retryRestore().finally(() => setBusy(false));
  };
  return (
    <AuthFrame title={t('session.unreachableTitle')}>
      <Alert message={t('session.unreachableBody')} />
      <button type="button" className="btn btn-primary btn-block" onClick={retry} disabled={busy} aria-busy={busy || undefined}>
        {busy ? t('session.retrying') : t('common.retry')}
      </button>
    </AuthFrame>
  );
}

function AccountDeactivated() {
  const { t } = useI18n();
  const [location] = useLocation();
  const search = useSearch();
  // Back to this page once signed in again (after the account is reactivated).
  const here = `${location}${search ? `?${search}` : ''}`;
  return (
    <div className="deactivated-banner" role="alert">
      <span>{t('session.deactivated')}</span>
      <Link href={here === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(here)}`} className="btn btn-small">
        {t('signIn.title')}
      </Link>
    </div>
  );
}

/** Sign-in and registration: a signed-in visitor goes on to where they were headed. */
export function GuestOnly({ children }: { children: ReactNode }) {
  const state = useSessionState();
  const search = useSearch();
  if (state.status === 'restoring') return <Loading block />;
  if (state.status === 'signed-in') {
    const next = safeNext(new URLSearchParams(search).get('next')) ?? '/tasks';
    return <Redirect to={next} replace />;
  }
  return children;
}

/**
 * The admin area, for administrators only. The server refuses non-admins regardless; this keeps
 * them from even downloading the admin code and tells them plainly.
 */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const me = useMe();
  if (me.isPending) return <Loading block />;
  if (me.isError) return <Alert message={describeError(me.error, t).message} />;
  if (me.data.role !== 'admin') return <NotAllowed />;
  return children;
}
