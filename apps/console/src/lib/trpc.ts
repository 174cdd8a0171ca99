import type { AppRouter } from '@stm/client';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { EventSource } from 'eventsource';
import { type ApiError, httpStatusOf, isApiError, mayRenewAfter } from './api';
import { createSession, type Session, type SessionDeps } from './session';

export { type ApiError, type ErrorReason, isApiError, type RouterInputs, type RouterOutputs } from './api';

const URL = '/trpc';
const CSRF_COOKIES = ['__Host-stm_csrf', 'stm_csrf'];

/** The readable half of the double-submit pair; the server checks it against the httpOnly cookie. */
export function readCsrfCookie(cookieHeader: string = document.cookie): string | undefined {
  const cookies = new Map(
    cookieHeader
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at), decodeURIComponent(part.slice(at + 1))] as const;
      }),
  );
  for (const name of CSRF_COOKIES) {
    const value = cookies.get(name);
    if (value) return value;
  }
  return undefined;
}

const sameOriginFetch: typeof fetch = (input, init) => fetch(input, { ...init, credentials: 'same-origin' });

/** Tabs queue for the refresh lock; a stalled request must not hold it (and them) forever. */
const REFRESH_TIMEOUT_MS = 15_000;
const refreshFetch: typeof fetch = (input, init) => fetch(input, { ...init, credentials: 'same-origin', signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS) });

/**
 * Only for the cookie refresh: no batching (it must not wait on or fail with other calls) and
 * no bearer token, so the auth link below can never recurse into it.
 */
const refreshClient = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: URL,
      fetch: refreshFetch,
      headers: () => {
        const csrf = readCsrfCookie();
        return csrf ? { 'x-csrf-token': csrf } : {};
      },
    }),
  ],
});

async function webLock<T>(task: () => Promise<T>): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- browsers before 2022 have no Web Locks, whatever the DOM types say
  if (typeof navigator === 'undefined' || !navigator.locks) return task();
  return await navigator.locks.request('stm-session-refresh', task);
}

function broadcastChannel(): SessionDeps['channel'] {
  if (typeof BroadcastChannel === 'undefined') return undefined;
  const channel = new BroadcastChannel('stm-session');
  return {
    post: (message) => channel.postMessage(message),
    listen: (onMessage) => channel.addEventListener('message', (event: MessageEvent) => onMessage(String(event.data))),
  };
}

const channel = broadcastChannel();

/** When the user last touched this page; the session renews in the background only after that. */
let lastActivity = Date.now();
if (typeof window !== 'undefined') {
  for (const event of ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const) {
    window.addEventListener(event, () => (lastActivity = Date.now()), { capture: true, passive: true });
  }
}

export const session: Session = createSession({
  refresh: () => refreshClient.auth.refresh.mutate({}),
  // 4xx: the server looked at the cookie and said no. Anything else may pass; keep the session.
  isSessionRejected: (error) => {
    const status = httpStatusOf(error);
    return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  },
  isDeactivation: (error) => isApiError(error) && error.data?.reason === 'ACCOUNT_DEACTIVATED',
  hasSessionCookie: () => readCsrfCookie() !== undefined,
  lastActivity: () => lastActivity,
  exclusive: webLock,
  ...(channel ? { channel } : {}),
});

// Back online: the session the page could not check at load is most likely still there.
if (typeof window !== 'undefined') window.addEventListener('online', () => void session.retryRestore());

/**
 * The server's refusal that ended the session (the account deactivated), which says more than a
 * call's bare 401; else the call's own error.
 */
function whySessionEnded(error: ApiError): ApiError {
  const refusal = session.refusal();
  return isApiError(refusal) ? refusal : error;
}

/**
 * A 401 on a call means the access token is no longer good (expired while the tab slept, signing
 * key revoked, session ended). Renew once and retry once; if renewal is refused the session
 * module ends the session, and the route guard returns the user to sign-in.
 */
const sessionRetryLink: TRPCLink<AppRouter> = () => {
  return ({ op, next }) =>
    observable((observer) => {
      let retried = false;
      let subscription: { unsubscribe(): void } | undefined;
      const attempt = () => {
        subscription = next(op).subscribe({
          next: (value) => observer.next(value),
          complete: () => observer.complete(),
          error: (error) => {
            // A 401 of a call that checks its own credentials (a sign-in, a step-up) is the answer.
            if (httpStatusOf(error) !== 401 || !mayRenewAfter(op.path)) {
              observer.error(error);
              return;
            }
            if (retried || session.getState().status !== 'signed-in') {
              if (session.getState().status === 'signed-in') session.end('expired');
              // Ended meanwhile (a live stream heard first that the account was deactivated).
              observer.error(whySessionEnded(error));
              return;
            }
            retried = true;
            session.renew().then(
              (token) => {
                if (token) {
                  attempt();
                  return;
                }
                observer.error(whySessionEnded(error));
              },
              () => observer.error(error),
            );
          },
        });
      };
      attempt();
      return () => subscription?.unsubscribe();
    });
};

export const trpcClient = createTRPCClient<AppRouter>({
  links: [
    sessionRetryLink,
    splitLink({
      condition: (op) => op.type === 'subscription',
      // Live changes over server-sent events. The browser's own EventSource cannot send the
      // bearer token, which lives only in memory: this one reads the stream over fetch, and asks
      // for the token afresh on every (re)connection.
      true: httpSubscriptionLink({
        url: URL,
        EventSource,
        eventSourceOptions: async () => {
          const token = await session.getAccessToken();
          return {
            fetch: (input, init) =>
              fetch(input, { ...init, credentials: 'same-origin', headers: { ...init.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } }),
          };
        },
      }),
      false: httpBatchLink({
        url: URL,
        fetch: sameOriginFetch,
        maxItems: 10,
        headers: async () => {
          const token = await session.getAccessToken();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    }),
  ],
});

/**
 * A mutation sent as the page goes away (closed, reloaded, navigated off): `keepalive` lets it
 * outlive the page, which the client's batching and async headers would not. Fire and forget.
 */
export function mutateOnPageExit(path: 'tasks.delete', input: unknown): void {
  const token = session.peekAccessToken();
  if (!token) return;
  void fetch(`${URL}/${path}`, {
    method: 'POST',
    keepalive: true,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  }).catch(() => undefined);
}

/** How often data whose refresh failed is tried again while the page stays open. */
const ERROR_REFETCH_MS = 20_000;

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // Data whose last refresh failed stays on screen (marked stale) and is fetched again as
      // soon as there is a reason to expect an answer: focus, reconnect, or a while later.
      refetchOnWindowFocus: (query) => (query.state.status === 'error' ? 'always' : true),
      refetchOnReconnect: (query) => (query.state.status === 'error' ? 'always' : true),
      refetchInterval: (query) => (query.state.status === 'error' ? ERROR_REFETCH_MS : false),
      // Refusals are answers, not glitches: only retry what might succeed a moment later.
      retry: (failureCount, error) => {
        const status = httpStatusOf(error);
        return failureCount < 2 && (status === undefined || status >= 500 || status === 429);
      },
    },
    mutations: { retry: false },
  },
});

/** Answers that are the same for everyone (the public settings): kept when the session changes. */
const PUBLIC_QUERIES = new Set(['settings.public']);
const isPublicQuery = (queryKey: readonly unknown[]) => Array.isArray(queryKey[0]) && PUBLIC_QUERIES.has(queryKey[0].join('.'));

/**
 * Drops what belongs to the last user. Public answers stay: a screen still showing one (the
 * password policy of a reset form) keeps it, where clearing would leave it without data and
 * without a reason to ask again.
 */
function forgetUserData(): void {
  queryClient.removeQueries({ predicate: (query) => !isPublicQuery(query.queryKey) });
  queryClient.getMutationCache().clear();
}

// Whatever the last user saw must not be shown to the next one. A deactivated user's screen
// stays as it was (their own data, and a dialog with what they were typing must not unmount),
// and is cleared as soon as anyone signs in again.
let keptForDeactivatedUser = false;
session.subscribe(() => {
  const state = session.getState();
  if (state.status === 'signed-out' && state.reason === 'deactivated') {
    keptForDeactivatedUser = true;
  } else if (state.status === 'signed-out' || keptForDeactivatedUser) {
    keptForDeactivatedUser = false;
    forgetUserData();
  }
});

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
