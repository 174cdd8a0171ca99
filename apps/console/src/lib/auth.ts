import { useMutation, useQuery } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';
import { useI18n } from '../i18n';
import { useToast } from '../components/Toasts';
import { describeError } from './errors';
import { isApiError, type RouterOutputs, session, useTRPC } from './trpc';
import type { SessionState } from './session';

export type Me = RouterOutputs['auth']['me'];

export function useSessionState(): SessionState {
  return useSyncExternalStore(session.subscribe, session.getState);
}

/** The signed-in user as the server knows them now (role included: the token's claim may be stale). */
export function useMe() {
  const trpc = useTRPC();
  return useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 60_000 }));
}

/**
 * Ends the session on the server, then here. If the server cannot be reached the user stays
 * signed in and is told so: otherwise a reload would quietly bring the session back.
 */
export function useSignOut(scope: 'this' | 'everywhere' = 'this') {
  const trpc = useTRPC();
  const toast = useToast();
  const { t } = useI18n();
  const options = {
    onSuccess: () => session.end('signed-out'),
    onError: (error: unknown) => {
      if (isApiError(error) && error.data) session.end('signed-out');
      else toast.show(describeError(error, t).message, 'error');
    },
  };
  const thisSession = useMutation(trpc.auth.logout.mutationOptions(options));
  const everywhere = useMutation(trpc.auth.logoutAll.mutationOptions(options));
  return scope === 'this' ? thisSession : everywhere;
}

/** Only a path on this site, and never back to the sign-in pages themselves. */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  const path = next.split(/[?#]/)[0] ?? '';
  if (path === '/sign-in' || path === '/register') return null;
  return next;
}
