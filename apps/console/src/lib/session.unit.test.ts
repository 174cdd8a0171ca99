import { describe, expect, it, vi } from 'vitest';
import { createSession, type SessionDeps, type TokenGrant } from './session';

class Refused extends Error {}

/** A session on a hand-driven clock, with a refresh endpoint the test answers. */
function setup(overrides: Partial<SessionDeps> = {}) {
  let now = 1_000_000;
  const timers: { at: number; callback: () => void }[] = [];
  let issued = 0;
  const refresh = vi.fn((): Promise<TokenGrant> => Promise.resolve({ access_token: `token-${++issued}`, expires_in: 900 }));
  const session = createSession({
    refresh,
    isSessionRejected: (error) => error instanceof Refused,
    hasSessionCookie: () => true,
    now: () => now,
    setTimeout: (callback, ms) => {
      const timer = { at: now + ms, callback };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      const index = timers.indexOf(handle as (typeof timers)[number]);
      if (index >= 0) timers.splice(index, 1);
    },
    ...overrides,
  });
  return {
    session,
    refresh,
    timers,
    async advance(ms: number) {
      now += ms;
      for (const timer of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.callback();
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

describe('session', () => {
  it('restores from the cookie on load, and is signed out at once without one', async () => {
    const withCookie = setup();
    await withCookie.session.restore();
    expect(withCookie.session.getState()).toMatchObject({ status: 'signed-in' });
    expect(await withCookie.session.getAccessToken()).toBe('token-1');

    const without = setup({ hasSessionCookie: () => false });
    await without.session.restore();
    expect(without.refresh).not.toHaveBeenCalled();
    expect(without.session.getState()).toEqual({ status: 'signed-out', reason: 'none' });
  });

  it('renews silently a minute before the access token expires', async () => {
    const { session, refresh, advance } = setup();
    session.signIn({ access_token: 'first', expires_in: 900 });
    await advance(839_000);
    expect(refresh).not.toHaveBeenCalled();
    await advance(1_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(await session.getAccessToken()).toBe('token-1');
  });

  it('leaves a page nobody touches to expire, and renews when it is used again', async () => {
    let touchedAt = 0;
    const { session, refresh, advance } = setup({ lastActivity: () => touchedAt });
    session.signIn({ access_token: 'first', expires_in: 900 });
    await advance(900_000);
    expect(refresh).not.toHaveBeenCalled();
    // The user comes back: the request they make renews first (the server decides whether the
    // session outlived its idle timeout meanwhile).
    expect(await session.getAccessToken()).toBe('token-1');
    expect(refresh).toHaveBeenCalledTimes(1);
    // Used since that token came: the next one is renewed ahead of time, in the background.
    touchedAt = 1_000_000 + 900_000 + 60_000;
    await advance(840_000);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('renews short-lived tokens at three quarters of their life, not in a loop', async () => {
    const { session, refresh, advance } = setup();
    session.signIn({ access_token: 'short', expires_in: 60 });
    await advance(44_000);
    expect(refresh).not.toHaveBeenCalled();
    await advance(1_000);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('shares one refresh among concurrent callers', async () => {
    let release!: (grant: TokenGrant) => void;
    const refresh = vi.fn(() => new Promise<TokenGrant>((resolve) => (release = resolve)));
    const { session } = setup({ refresh });
    session.signIn({ access_token: 'old', expires_in: 900 });
    const callers = [session.renew(), session.renew(), session.getAccessToken()];
    release({ access_token: 'new', expires_in: 900 });
    expect(await Promise.all(callers)).toEqual(['new', 'new', 'new']);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('ends the session as expired when the server refuses the refresh', async () => {
    const { session } = setup({ refresh: vi.fn(async () => Promise.reject(new Refused())) });
    session.signIn({ access_token: 'old', expires_in: 900 });
    expect(await session.renew()).toBeNull();
    expect(session.getState()).toEqual({ status: 'signed-out', reason: 'expired' });
    expect(await session.getAccessToken()).toBeNull();
  });

  it('keeps a still-good token when the server cannot be reached, and tries again soon', async () => {
    let failures = 1;
    const refresh = vi.fn(() => {
      if (failures-- > 0) return Promise.reject(new TypeError('Failed to fetch'));
      return Promise.resolve({ access_token: 'later', expires_in: 900 });
    });
    const { session, advance } = setup({ refresh });
    session.signIn({ access_token: 'current', expires_in: 900 });
    await advance(840_000);
    expect(session.getState()).toMatchObject({ status: 'signed-in' });
    expect(await session.getAccessToken()).toBe('current');
    await advance(15_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(await session.getAccessToken()).toBe('later');
  });

  it('tells other tabs about a sign-out, and follows theirs', () => {
    const posted: string[] = [];
    let deliver: (message: string) => void = () => {};
    const { session } = setup({ channel: { post: (m) => posted.push(m), listen: (on) => (deliver = on) } });
    session.signIn({ access_token: 'a', expires_in: 900 });
    session.end('signed-out');
    expect(posted).toEqual(['signed-out']);

    session.signIn({ access_token: 'b', expires_in: 900 });
    deliver('signed-out');
    expect(session.getState()).toEqual({ status: 'signed-out', reason: 'signed-out' });
    expect(posted).toEqual(['signed-out']);
  });

  it('at page load, retries a refresh that could not reach the server instead of signing out', async () => {
    let failures = 2;
    const refresh = vi.fn(() => {
      if (failures-- > 0) return Promise.reject(new TypeError('Failed to fetch'));
      return Promise.resolve({ access_token: 'restored', expires_in: 900 });
    });
    const { session, advance } = setup({ refresh });
    const restoring = session.restore();
    await advance(0);
    expect(session.getState()).toEqual({ status: 'restoring' });
    await advance(500);
    await advance(1_000);
    await restoring;
    expect(refresh).toHaveBeenCalledTimes(3);
    expect(session.getState()).toMatchObject({ status: 'signed-in' });
    expect(await session.getAccessToken()).toBe('restored');
  });

  it('says the server is unreachable (not signed out) after the retries, and recovers on the next attempt', async () => {
    let down = true;
    const refresh = vi.fn(() => {
      if (down) return Promise.reject(new TypeError('Failed to fetch'));
      return Promise.resolve({ access_token: 'back', expires_in: 900 });
    });
    const { session, advance } = setup({ refresh });
    const restoring = session.restore();
    for (const wait of [0, 500, 1_000, 2_000, 4_000]) await advance(wait);
    await restoring;
    expect(refresh).toHaveBeenCalledTimes(5);
    expect(session.getState()).toEqual({ status: 'unreachable' });
    expect(await session.getAccessToken()).toBeNull();

    await session.retryRestore();
    expect(session.getState()).toEqual({ status: 'unreachable' });
    down = false;
    await advance(15_000);
    expect(session.getState()).toMatchObject({ status: 'signed-in' });
  });

  it('at page load, signs out at once when the server refuses the cookie', async () => {
    const refresh = vi.fn(async () => Promise.reject(new Refused()));
    const { session } = setup({ refresh });
    await session.restore();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(session.getState()).toEqual({ status: 'signed-out', reason: 'none' });
  });
});
