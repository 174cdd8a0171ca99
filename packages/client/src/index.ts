/**
 * A typed client of the Secure Task Manager API for TypeScript programs: every procedure with
 * its input and output types, over `@trpc/client`. Sign in with an API token, or with a username
 * and password (the client renews the access token itself).
 *
 * The API has no transformer: inputs and outputs are plain JSON, dates are ISO strings.
 */
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClient, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyTRPCProcedure, inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { EventSource } from 'eventsource';
import type { AppRouter } from './router';

export type { AppRouter };
/** Every procedure's input, e.g. `RouterInputs['tasks']['create']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, e.g. `RouterOutputs['tasks']['get']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type StmClient = TRPCClient<AppRouter>;
export type StmClientError = TRPCClientError<AppRouter>;
/** The stable refusal codes the API sends as `data.reason`, e.g. `TOKEN_SCOPE_MISSING`. */
export type ErrorReason = NonNullable<inferRouterError<AppRouter>['data']['reason']>;
type TokenResponse = RouterOutputs['auth']['login'];

type PathsOf<R, Prefix extends string = ''> = {
  [K in keyof R & string]: R[K] extends AnyTRPCProcedure ? `${Prefix}${K}` : PathsOf<R[K], `${Prefix}${K}.`>;
}[keyof R & string];
/** Every procedure's path, e.g. `tasks.create`. */
export type ProcedurePath = PathsOf<AppRouter['_def']['record']>;

/**
 * The procedures whose 401 judges credentials the call carries (a password, a refresh token, a
 * code), not the caller's session: after one, a client must not renew its session and retry.
 * The fact lives in each procedure's meta (`checksCredentials`); a test keeps this list equal to it.
 */
export const CREDENTIAL_CHECKS: ReadonlySet<ProcedurePath> = new Set<ProcedurePath>([
  'auth.completeSignIn',
  'auth.login',
  'auth.passkeyOptions',
  'auth.passkeySignIn',
  'auth.reauthenticate',
  'auth.refresh',
  'auth.register',
]);

/** Whether a 401 from this call is about the session (renew and retry) rather than the call's own credentials. */
export function mayRenewAfter(path: string): boolean {
  return !(CREDENTIAL_CHECKS as ReadonlySet<string>).has(path);
}

/** Where a caller's access tokens come from, for clients that keep a session of their own. */
export interface SessionTokens {
  accessToken(): Promise<string>;
  /** A fresh access token after the API refused `rejected`. */
  renew(rejected: string): Promise<string>;
}

interface Common {
  /** Where the API answers, e.g. `https://tasks.example.com` (its tRPC endpoint is `<url>/trpc`). */
  url: string;
  /** A fetch of your own (a proxy, a test double); the global one otherwise. */
  fetch?: typeof fetch;
  /** Sent as `User-Agent` where the runtime lets it be set; the default names this package. */
  userAgent?: string;
  /** Each request gives up after this long. Default 30 000 ms. */
  timeoutMs?: number;
}

export type StmClientOptions =
  (Common & { token: string }) | (Common & { username: string; password: string }) | (Common & { session: SessionTokens }) | Common;

const DEFAULT_TIMEOUT_MS = 30_000;
/** An access token this close to its end is renewed before it is sent, not after a refusal. */
const RENEW_MARGIN_MS = 15_000;

export function isStmClientError(error: unknown): error is StmClientError {
  return error instanceof TRPCClientError;
}

export function httpStatusOf(error: unknown): number | undefined {
  return isStmClientError(error) ? error.data?.httpStatus : undefined;
}

export function reasonOf(error: unknown): ErrorReason | undefined {
  return isStmClientError(error) ? (error.data?.reason ?? undefined) : undefined;
}

/**
 * Queries and mutations over HTTP; subscriptions (`live.project`, `live.mine`) over server-sent
 * events, through an EventSource that can send the bearer token (a browser's cannot).
 */
function transport(options: Common): TRPCLink<AppRouter> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const baseFetch = options.fetch ?? fetch;
  const userAgent = options.userAgent ?? 'stm-client';
  const url = `${options.url.replace(/\/+$/, '')}/trpc`;
  const headersOf = (token: unknown): Record<string, string> =>
    typeof token === 'string' ? { authorization: `Bearer ${token}`, 'user-agent': userAgent } : { 'user-agent': userAgent };
  const calls = httpLink<AppRouter>({
    url,
    fetch: (input, init) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      return baseFetch(input as Parameters<typeof baseFetch>[0], { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
    },
    headers: ({ op }) => headersOf(op.context.accessToken),
  });
  const streams = httpSubscriptionLink<AppRouter, typeof EventSource>({
    url,
    EventSource,
    eventSourceOptions: ({ op }) => ({
      fetch: (input, init) => baseFetch(input, { ...init, headers: { ...init.headers, ...headersOf(op.context.accessToken) } }),
    }),
  });
  return splitLink({ condition: (op) => op.type === 'subscription', true: streams, false: calls });
}

/**
 * Puts the session's access token on every call. A 401 means the token is no longer good
 * (expired, its key revoked, or the clocks disagree): renew once and retry once. If renewing is
 * refused, that refusal (sign in again) is what the caller sees.
 */
export function sessionLink(session: SessionTokens): TRPCLink<AppRouter> {
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
              if (!mayRenew || httpStatusOf(error) !== 401 || !mayRenewAfter(op.path)) {
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

/** An API token never changes: it goes on every call, and a refusal of it is the answer. */
function tokenLink(token: string): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      next({ ...op, context: { ...op.context, accessToken: token } });
}

/**
 * A session of a username and password, in memory: signs in on first use, renews with the
 * refresh token before the access token ends (or when it is refused), and signs in again if
 * the session itself has ended. Concurrent calls share one sign-in or renewal.
 */
function passwordSession(options: Common & { username: string; password: string }): SessionTokens {
  const anonymous = createTRPCClient<AppRouter>({ links: [transport(options)] });
  let current: { accessToken: string; refreshToken: string | undefined; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const keep = (answer: TokenResponse) => {
    current = { accessToken: answer.access_token, refreshToken: answer.refresh_token, expiresAt: Date.now() + answer.expires_in * 1000 };
    return answer.access_token;
  };
  const signIn = async () => keep(await anonymous.auth.login.mutate({ username: options.username, password: options.password }));
  const renew = async () => {
    const refreshToken = current?.refreshToken;
    if (refreshToken) {
      try {
        return keep(await anonymous.auth.refresh.mutate({ refresh_token: refreshToken }));
      } catch (error) {
        if (httpStatusOf(error) !== 401) throw error;
      }
    }
    return signIn();
  };
  const once = (work: () => Promise<string>) => {
    pending ??= work().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  return {
    accessToken: () => {
      if (pending) return pending;
      if (!current) return once(signIn);
      if (current.expiresAt - Date.now() < RENEW_MARGIN_MS) return once(renew);
      return Promise.resolve(current.accessToken);
    },
    renew: (rejected) => {
      if (pending) return pending;
      if (current && current.accessToken !== rejected) return Promise.resolve(current.accessToken);
      return once(renew);
    },
  };
}

/**
 * A client of the API.
 *
 * ```ts
 * const stm = createStmClient({ url: 'https://tasks.example.com', token: process.env.STM_TOKEN! });
 * const page = await stm.tasks.list.query({ limit: 20 });
 * ```
 */
export function createStmClient(options: StmClientOptions): StmClient {
  if ('token' in options) return createTRPCClient<AppRouter>({ links: [tokenLink(options.token), transport(options)] });
  const session = 'username' in options ? passwordSession(options) : 'session' in options ? options.session : undefined;
  const links = session ? [sessionLink(session), transport(options)] : [transport(options)];
  return createTRPCClient<AppRouter>({ links });
}
