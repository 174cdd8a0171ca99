/**
 * The browser session: the access token lives only in this module's memory (never in storage a
 * script injected later could read); the refresh token is an httpOnly cookie this code never
 * sees. Renewal spends that cookie, so every caller shares one refresh in flight, and tabs of the
 * same browser take turns (a second concurrent refresh with the same cookie would look like a
 * stolen token to the server and end the session).
 */

export interface TokenGrant {
  access_token: string;
  /** Seconds. */
  expires_in: number;
}

export type EndReason =
  /** Nobody was signed in when the page loaded. */
  | 'none'
  /** The user signed out here or in another tab. */
  | 'signed-out'
  /** The server ended it: revoked, expired, password changed elsewhere. */
  | 'expired'
  /** An administrator deactivated the account. */
  | 'deactivated';

export type SessionState =
  | { status: 'restoring' }
  /**
   * The page loaded with a session cookie but the server could not be asked about it (network
   * down, 503): the session may well be alive, so this is not "signed out". Retried in the
   * background, when the browser comes back online, and on request.
   */
  | { status: 'unreachable' }
  | { status: 'signed-in'; expiresAt: number }
  | { status: 'signed-out'; reason: EndReason };

export interface SessionDeps {
  /** Exchanges the refresh cookie for a new access token; rejects if it could not. */
  refresh(): Promise<TokenGrant>;
  /** Whether the refusal means the session is over (as opposed to the network failing). */
  isSessionRejected(error: unknown): boolean;
  /** Whether a refusal says the account was deactivated (rather than the session just being over). */
  isDeactivation?(error: unknown): boolean;
  /** Whether the browser holds a session cookie at all; if not, restoring is pointless. */
  hasSessionCookie(): boolean;
  /** Serialises the refresh across tabs (Web Locks); runs `task` directly when unavailable. */
  exclusive?<T>(task: () => Promise<T>): Promise<T>;
  /** Tells other tabs (and hears from them) that the user signed out. */
  channel?: { post(message: 'signed-out'): void; listen(onMessage: (message: string) => void): void };
  /**
   * When the user last used this page (a key, a click, a touch, a scroll). A renewal in the
   * background happens only if they did since the token was issued, so an open tab left alone
   * reaches the server's idle timeout like a closed one; a request they make renews on demand.
   */
  lastActivity?(): number;
  now?(): number;
  setTimeout?(callback: () => void, ms: number): unknown;
  clearTimeout?(handle: unknown): void;
}

/** Renew this long before expiry, or a quarter of the lifetime when that is shorter. */
export const RENEW_LEAD_MS = 60_000;
/** A token this close to expiry is not worth sending. */
const EXPIRY_MARGIN_MS = 5_000;
/** After a network failure while renewing, try again this soon. */
const RETRY_MS = 15_000;
/**
 * At page load, the waits between attempts when the server cannot be reached: a dropped
 * connection or a restarting server usually answers within seconds, and until then the user
 * sees the loading screen rather than a false "signed out".
 */
export const RESTORE_BACKOFF_MS = [500, 1_000, 2_000, 4_000];
/** Once unreachable, the background attempts back off up to this. */
const UNREACHABLE_RETRY_MAX_MS = 60_000;

export interface Session {
  getState(): SessionState;
  subscribe(listener: () => void): () => void;
  /** A token good for a request now, renewing first if needed; null when signed out. */
  getAccessToken(): Promise<string | null>;
  /** The token held now if it is still good, without renewing: for a request sent as the page goes away. */
  peekAccessToken(): string | null;
  /** Refreshes now (one refresh shared by concurrent callers); null if the session is over. */
  renew(): Promise<string | null>;
  /**
   * On page load: continue the session the cookie holds, if any. Transient failures are retried
   * with backoff; only the server's refusal signs out, otherwise the state becomes 'unreachable'.
   */
  restore(): Promise<void>;
  /** While 'unreachable': one attempt now (a "try again" button, the browser coming online). */
  retryRestore(): Promise<void>;
  signIn(grant: TokenGrant): void;
  end(reason: EndReason): void;
  /** The server's refusal that ended the session, to show in place of a request's own error. */
  refusal(): unknown;
}

export function createSession(deps: SessionDeps): Session {
  const now = deps.now ?? Date.now;
  const setTimer = deps.setTimeout ?? ((callback: () => void, ms: number) => globalThis.setTimeout(callback, ms));
  const clearTimer = deps.clearTimeout ?? ((handle: unknown) => globalThis.clearTimeout(handle as number));
  const exclusive = deps.exclusive ?? (<T>(task: () => Promise<T>) => task());

  let state: SessionState = { status: 'restoring' };
  // Read after an await, when other code may have changed it (a narrowed `state.status` would not say so).
  const currentStatus = (): SessionState['status'] => state.status;
  let token: string | null = null;
  let expiresAt = 0;
  let issuedAt = 0;
  let inFlight: Promise<string | null> | null = null;
  let timer: unknown = null;
  let refusal: unknown;
  const listeners = new Set<() => void>();

  function setState(next: SessionState) {
    state = next;
    for (const listener of [...listeners]) listener();
  }

  function cancelTimer() {
    if (timer !== null) clearTimer(timer);
    timer = null;
  }

  function schedule(delayMs: number, task: () => Promise<unknown> = renew) {
    cancelTimer();
    timer = setTimer(
      () => {
        timer = null;
        // A failed background renewal ends the session or reschedules itself; nobody awaits it.
        task().catch(() => {});
      },
      Math.max(0, delayMs),
    );
  }

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimer(resolve, ms));

  function accept(grant: TokenGrant) {
    refusal = undefined;
    const lifetimeMs = grant.expires_in * 1000;
    token = grant.access_token;
    issuedAt = now();
    expiresAt = issuedAt + lifetimeMs;
    setState({ status: 'signed-in', expiresAt });
    schedule(lifetimeMs - Math.min(RENEW_LEAD_MS, lifetimeMs / 4), renewIfUsed);
  }

  /** The background renewal: skipped while nobody has touched the page since the token came. */
  async function renewIfUsed(): Promise<unknown> {
    if (deps.lastActivity && deps.lastActivity() < issuedAt) return null;
    return renew();
  }

  function end(reason: EndReason, tellOtherTabs = true) {
    const wasSignedIn = state.status !== 'signed-out';
    cancelTimer();
    token = null;
    expiresAt = 0;
    if (reason === 'signed-out' && wasSignedIn && tellOtherTabs) deps.channel?.post('signed-out');
    if (state.status !== 'signed-out' || state.reason !== reason) setState({ status: 'signed-out', reason });
  }

  function renew(): Promise<string | null> {
    inFlight ??= (async () => {
      try {
        accept(await exclusive(() => deps.refresh()));
        return token;
      } catch (error) {
        if (deps.isSessionRejected(error)) {
          refusal = error;
          end(deps.isDeactivation?.(error) ? 'deactivated' : state.status === 'signed-in' ? 'expired' : 'none');
          return null;
        }
        // The server could not be reached: keep a token that is still good and try again soon.
        // Not being able to ask is no answer: the caller (restore, a request) decides what next.
        if (token && expiresAt - now() > EXPIRY_MARGIN_MS) {
          schedule(Math.min(RETRY_MS, expiresAt - now() - EXPIRY_MARGIN_MS));
        }
        throw error;
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  let unreachableDelayMs = RETRY_MS;
  async function attemptWhileUnreachable(): Promise<void> {
    if (state.status !== 'unreachable') return;
    cancelTimer();
    try {
      await renew();
      unreachableDelayMs = RETRY_MS;
    } catch {
      if (currentStatus() === 'unreachable') {
        schedule(unreachableDelayMs, attemptWhileUnreachable);
        unreachableDelayMs = Math.min(unreachableDelayMs * 2, UNREACHABLE_RETRY_MAX_MS);
      }
    }
  }

  let restoring: Promise<void> | null = null;
  async function restoreWithBackoff(): Promise<void> {
    for (const waitMs of [...RESTORE_BACKOFF_MS, null]) {
      try {
        await renew();
        return;
      } catch {
        // Signed in (or out) by other means while waiting: nothing left to restore.
        if (currentStatus() !== 'restoring') return;
        if (waitMs === null) break;
        await sleep(waitMs);
        if (currentStatus() !== 'restoring') return;
      }
    }
    setState({ status: 'unreachable' });
    unreachableDelayMs = RETRY_MS;
    schedule(unreachableDelayMs, attemptWhileUnreachable);
  }

  deps.channel?.listen((message) => {
    // The tabs share one cookie, hence one session: signing out in one ends it in all.
    if (message === 'signed-out' && state.status !== 'signed-out') end('signed-out', false);
  });

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    peekAccessToken() {
      return state.status === 'signed-in' && token && expiresAt - now() > EXPIRY_MARGIN_MS ? token : null;
    },
    async getAccessToken() {
      if (inFlight) return inFlight;
      if (state.status === 'signed-out') return null;
      if (token && expiresAt - now() > EXPIRY_MARGIN_MS) return token;
      // A tab that slept past its renewal timer wakes up with a stale token.
      return state.status === 'signed-in' ? renew() : null;
    },
    renew,
    async restore() {
      if (state.status !== 'restoring') return;
      if (!deps.hasSessionCookie()) {
        end('none');
        return;
      }
      restoring ??= restoreWithBackoff().finally(() => {
        restoring = null;
      });
      await restoring;
    },
    retryRestore: attemptWhileUnreachable,
    signIn: accept,
    end: (reason) => end(reason),
    refusal: () => refusal,
  };
}
