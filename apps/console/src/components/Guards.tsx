import type { ReactNode } from 'react';
import { Redirect, useLocation, useSearch } from 'wouter';
import { safeNext, useMe, useSessionState } from '../lib/auth';
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
  if (state.status === 'signed-out') {
    const here = `${location}${search ? `?${search}` : ''}`;
    const next = state.reason !== 'signed-out' && here !== '/' ? `?next=${encodeURIComponent(here)}` : '';
    return <Redirect to={`/sign-in${next}`} replace />;
  }
  return children;
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
