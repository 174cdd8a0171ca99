/**
 * The typed tRPC client. Only the router's *type* comes from the API (`@stm/api/router`, a dev
 * dependency); nothing of the server runs here. The API has no transformer: inputs and outputs
 * are plain JSON, dates are ISO strings.
 */
import type { AppRouter } from '@stm/api/router';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { EventSource } from 'eventsource';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type ApiClient = TRPCClient<AppRouter>;
export type ApiError = TRPCClientError<AppRouter>;
/** The stable refusal codes the API sends as `data.reason`. */
export type ErrorReason = NonNullable<inferRouterError<AppRouter>['data']['reason']>;
export type TokenResponse = RouterOutputs['auth']['login'];

/** A request that hangs must not hang the terminal (or a lock other processes wait on). */
const REQUEST_TIMEOUT_MS = 30_000;
const USER_AGENT = 'stm-cli';

const timedFetch: typeof fetch = (input, init) => {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
};

export function isApiError(error: unknown): error is ApiError {
  return error instanceof TRPCClientError;
}

export function httpStatusOf(error: unknown): number | undefined {
  return isApiError(error) ? error.data?.httpStatus : undefined;
}

/** Where a session's tokens come from; renewing is the session's business, not the link's. */
export interface SessionTokens {
  accessToken(): Promise<string>;
  /** A fresh access token after the API refused `rejected`. */
  renew(rejected: string): Promise<string>;
}

function transport(apiUrl: string) {
  return httpLink<AppRouter>({
    url: `${apiUrl}/trpc`,
    fetch: timedFetch,
    headers: ({ op }) => {
      const token = op.context.accessToken;
      return typeof token === 'string' ? { authorization: `Bearer ${token}`, 'user-agent': USER_AGENT } : { 'user-agent': USER_AGENT };
    },
  });
}

/**
 * Puts the session's access token on every call. A 401 means the token is no longer good
 * (expired, its key revoked, or the clocks disagree): renew once and retry once. If renewing is
 * refused, the session's error (sign in again) is what the caller sees.
 */
function sessionLink(session: SessionTokens): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let closed = false;
        let subscription: { unsubscribe(): void } | undefined;
        const fail = (error: unknown) => observer.error(TRPCClientError.from(error instanceof Error ? error : new Error(String(error))));
        const send = (token: string, mayRenew: boolean) => {
          subscription = next({ ...op, context: { ...op.context, accessToken: token } }).subscribe({
            next: (value) => observer.next(value),
            complete: () => observer.complete(),
            error: (error) => {
              if (!mayRenew || httpStatusOf(error) !== 401) {
                observer.error(error);
                return;
              }
              session.renew(token).then((fresh) => closed || send(fresh, false), fail);
            },
          });
        };
        session.accessToken().then((token) => closed || send(token, true), fail);
        return () => {
          closed = true;
          subscription?.unsubscribe();
        };
      });
}

/** For calls made without a session: signing in and renewing. */
export function createPublicClient(apiUrl: string): ApiClient {
  return createTRPCClient<AppRouter>({ links: [transport(apiUrl)] });
}

/**
 * Subscriptions (`tasks watch`) over server-sent events, with the session's token as a header:
 * Node has no EventSource of its own, and a browser's could not send one.
 */
function streams(apiUrl: string) {
  return httpSubscriptionLink<AppRouter, typeof EventSource>({
    url: `${apiUrl}/trpc`,
    EventSource,
    eventSourceOptions: ({ op }) => ({
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...init.headers, authorization: `Bearer ${String(op.context.accessToken)}`, 'user-agent': USER_AGENT },
        }),
    }),
  });
}

export function createSessionClient(apiUrl: string, session: SessionTokens): ApiClient {
  return createTRPCClient<AppRouter>({
    links: [sessionLink(session), splitLink({ condition: (op) => op.type === 'subscription', true: streams(apiUrl), false: transport(apiUrl) })],
  });
}
