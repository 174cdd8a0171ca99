import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

function cookiesOf(response: { headers: Record<string, unknown> }): Map<string, string> {
  const raw = response.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw as string] : [];
  return new Map(list.map((cookie: string) => [cookie.split('=')[0] as string, cookie]));
}

function cookieValue(setCookie: string | undefined): string {
  return setCookie?.split(';')[0]?.split('=').slice(1).join('=') ?? '';
}

describe('refresh tokens', () => {
  it('are opaque, rotated on every use, and give a working access token', async () => {
    const { refreshToken, accessToken } = await signUp(t, 'rot_user');
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const first = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
    expect(first.statusCode).toBe(200);
    const rotated = json(first);
    expect(rotated).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(rotated.refresh_token).not.toBe(refreshToken);
    expect(rotated.access_token).not.toBe(accessToken);
    expect(first.headers['cache-control']).toBe('no-store');
    await expect(t.caller(rotated.access_token).auth.me()).resolves.toMatchObject({ username: 'rot_user' });
    // The OAuth2 form works too.
    const second = await rest(t.app, 'POST', '/api/auth/refresh', {
      form: { grant_type: 'refresh_token', refresh_token: rotated.refresh_token },
    });
    expect(second.statusCode).toBe(200);
  });

  it('presented again after rotation, end the whole session (theft detection)', async () => {
    const { refreshToken } = await signUp(t, 'theft_user');
    const rotated = await t.caller().auth.refresh({ refresh_token: refreshToken });
    await expect(t.caller(rotated.access_token).auth.me()).resolves.toBeTruthy();

    const replay = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
    expect(replay.statusCode).toBe(401);
    expect(json(replay).data.reason).toBe('REFRESH_TOKEN_REUSED');
    // Both the thief's and the victim's tokens of that session are now dead.
    expect(await rejection(t.caller(rotated.access_token).auth.me())).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await rejection(t.caller().auth.refresh({ refresh_token: rotated.refresh_token }))).toMatchObject({
      code: 'UNAUTHORIZED',
    });
    // Once the session has ended, the spent token is answered as any dead session's.
    const again = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
    expect([again.statusCode, json(again).data.reason]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  });

  it('spent, after a sign-out, is refused as any ended session is', async () => {
    const { refreshToken } = await signUp(t, 'spent_out');
    const rotated = await t.caller().auth.refresh({ refresh_token: refreshToken });
    await t.caller(rotated.access_token).auth.logout();
    const replay = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
    expect([replay.statusCode, json(replay).data.reason]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  });

  it('refuses an unknown refresh token with 401, and an empty or missing one with 400', async () => {
    expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: 'x'.repeat(43) } })).statusCode).toBe(401);
    const missing = await rest(t.app, 'POST', '/api/auth/refresh', { body: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().data.reason).toBe('REFRESH_TOKEN_MISSING');
    expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: '' } })).statusCode).toBe(400);
  });

  it('lets only one of two simultaneous exchanges of the same token win', async () => {
    const { refreshToken } = await signUp(t, 'race_refresh');
    const results = await Promise.all([0, 1].map(() => rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });
});

describe('the absolute lifetime of a session (ASVS V3)', () => {
  it('is fixed at sign-in: refreshing never moves the end of the session', async () => {
    const { refreshToken } = await signUp(t, 'fixed_end');
    let current = refreshToken;
    let accessToken = '';
    const ends: string[] = [];
    for (let round = 0; round < 3; round++) {
      // Long enough apart that an end recomputed from "now" would differ.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const refreshed = json(await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: current } }));
      current = refreshed.refresh_token;
      accessToken = refreshed.access_token;
      const [session] = json(await rest(t.app, 'GET', '/api/auth/sessions', { token: accessToken })).items;
      ends.push(session.expiresAt);
    }
    expect(new Set(ends).size).toBe(1);
  });

  it('ends the session, its refresh token and its access token at SESSION_MAX_LIFETIME_SECONDS', async () => {
    const short = await createTestApp({ SESSION_MAX_LIFETIME_SECONDS: '3' });
    try {
      await short.caller().auth.register({ username: 'short_life', password: PASSWORD });
      const login = await trpc(short.app, 'mutation', 'auth.login', { username: 'short_life', password: PASSWORD, refresh_token_delivery: 'cookie' });
      // The cookie lives no longer than the session, though refresh tokens last 30 days.
      const maxAge = Number(/Max-Age=(\d+)/.exec(cookiesOf(login).get('stm_refresh') ?? '')?.[1]);
      expect(maxAge).toBeGreaterThan(0);
      expect(maxAge).toBeLessThanOrEqual(3);
      const { refresh_token: refreshToken } = await short.caller().auth.login({ username: 'short_life', password: PASSWORD });
      const refreshed = json(await rest(short.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } }));
      const sessionsNow = json(await rest(short.app, 'GET', '/api/auth/sessions', { token: refreshed.access_token })).items;
      const end = Date.parse(sessionsNow.find((session: { current: boolean }) => session.current).expiresAt);
      expect(end - Date.now()).toBeLessThanOrEqual(3_000);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, end + 300 - Date.now())));
      const late = await rest(short.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshed.refresh_token } });
      expect(late.statusCode).toBe(401);
      expect(json(late).data.reason).toBe('REFRESH_TOKEN_INVALID');
      expect((await rest(short.app, 'GET', '/api/auth/me', { token: refreshed.access_token })).statusCode).toBe(401);
    } finally {
      await short.close();
    }
  });
});

/** The session an access token belongs to. */
function sessionIdOf(accessToken: string): string {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid;
}

/** Moves a session back in time, as if begun and last used that long ago. */
async function age(accessToken: string, { begunMsAgo, lastUsedMsAgo }: { begunMsAgo: number; lastUsedMsAgo: number }) {
  // The schema keeps created_at out of reach of updates; a test may move it.
  await sql`update sessions set created_at = ${new Date(Date.now() - begunMsAgo)}, last_used_at = ${new Date(Date.now() - lastUsedMsAgo)}
    where id = ${sessionIdOf(accessToken)}::uuid`.execute(t.database.db);
}

/** A refresh over REST and, with a token of its own, over tRPC: their statuses and reasons. */
async function refreshBoth(restToken: string, trpcToken: string) {
  const overRest = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: restToken } });
  const overTrpc = await trpc(t.app, 'mutation', 'auth.refresh', { refresh_token: trpcToken });
  return {
    rest: [overRest.statusCode, overRest.statusCode === 200 ? null : json(overRest).data.reason],
    trpc: [overTrpc.statusCode, overTrpc.statusCode === 200 ? null : json(overTrpc).error.data.reason],
  };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SESSION_DEAD = { rest: [401, 'REFRESH_TOKEN_INVALID'], trpc: [401, 'REFRESH_TOKEN_INVALID'] };
const SESSION_OK = { rest: [200, null], trpc: [200, null] };

describe('idle timeout and absolute lifetime (ASVS V3.3)', () => {
  /** Two sessions of one account, so REST and tRPC each spend a refresh token of their own. */
  async function twoSessions(username: string, options: { admin?: boolean; remember?: boolean } = {}) {
    if (options.admin) await signUpAdmin(t, username);
    else await t.caller().auth.register({ username, password: PASSWORD });
    const remember = options.remember === undefined ? {} : { remember_me: options.remember };
    // One over the OAuth2 form (a string, as forms send), one over tRPC (a boolean).
    const overForm = json(
      await rest(t.app, 'POST', '/api/auth/login', {
        form: { username, password: PASSWORD, ...(options.remember === undefined ? {} : { remember_me: String(options.remember) }) },
      }),
    );
    const overTrpc = json(await trpc(t.app, 'mutation', 'auth.login', { username, password: PASSWORD, ...remember })).result.data;
    return [overForm, overTrpc] as { access_token: string; refresh_token: string }[];
  }

  it("ends an administrator's session idle for more than 30 minutes, and its access token with it", async () => {
    const [a, b] = await twoSessions('idle_admin', { admin: true });
    await age(a!.access_token, { begunMsAgo: 40 * MINUTE, lastUsedMsAgo: 31 * MINUTE });
    await age(b!.access_token, { begunMsAgo: 40 * MINUTE, lastUsedMsAgo: 31 * MINUTE });
    const me = await rest(t.app, 'GET', '/api/auth/me', { token: a!.access_token });
    expect(me.statusCode).toBe(401);
    expect(json(me).data.details).toEqual({ problem: 'invalid_token' });
    expect(await refreshBoth(a!.refresh_token, b!.refresh_token)).toEqual(SESSION_DEAD);
    // The same 401 a revoked session gets.
    const ended = await signUp(t, 'idle_compare');
    await t.caller(ended.accessToken).auth.logout();
    const revoked = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: ended.refreshToken } });
    const idle = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: a!.refresh_token } });
    expect(revoked.statusCode).toBe(401);
    expect(json(idle)).toEqual(json(revoked));
  });

  it('ends an administrator\'s session 12 hours after sign-in however busy it is, "keep me signed in" or not', async () => {
    const [a, b] = await twoSessions('old_admin', { admin: true, remember: true });
    await age(a!.access_token, { begunMsAgo: 12 * HOUR + MINUTE, lastUsedMsAgo: MINUTE });
    await age(b!.access_token, { begunMsAgo: 12 * HOUR + MINUTE, lastUsedMsAgo: MINUTE });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: b!.access_token })).statusCode).toBe(401);
    expect(await refreshBoth(a!.refresh_token, b!.refresh_token)).toEqual(SESSION_DEAD);
  });

  it("keeps a user's session that asked to be kept, idle or old, and ends one that did not", async () => {
    const lapse = { begunMsAgo: 13 * HOUR, lastUsedMsAgo: 31 * MINUTE };
    const [a, b] = await twoSessions('kept_user', { remember: true });
    await age(a!.access_token, lapse);
    await age(b!.access_token, lapse);
    expect(await refreshBoth(a!.refresh_token, b!.refresh_token)).toEqual(SESSION_OK);
    const listed = json(await rest(t.app, 'GET', '/api/auth/sessions', { token: a!.access_token }));
    // The refreshes above were use: both are live again, and listed as kept.
    expect(listed.items.map((session: { remember: boolean }) => session.remember)).toEqual([true, true]);

    const [c, d] = await twoSessions('unkept_user');
    await age(c!.access_token, lapse);
    await age(d!.access_token, lapse);
    expect(await refreshBoth(c!.refresh_token, d!.refresh_token)).toEqual(SESSION_DEAD);
  });

  it('ends a kept user session past 30 days, or idle past 7', async () => {
    const [a, b] = await twoSessions('kept_long', { remember: true });
    await age(a!.access_token, { begunMsAgo: 30 * 24 * HOUR + MINUTE, lastUsedMsAgo: MINUTE });
    await age(b!.access_token, { begunMsAgo: 8 * 24 * HOUR, lastUsedMsAgo: 7 * 24 * HOUR + MINUTE });
    expect(await refreshBoth(a!.refresh_token, b!.refresh_token)).toEqual(SESSION_DEAD);
  });

  it('resets the idle clock at every refresh', async () => {
    const [a] = await twoSessions('idle_reset', { admin: true });
    const idleFor = (ms: number) =>
      t.database.db
        .updateTable('sessions')
        .set({ last_used_at: new Date(Date.now() - ms) })
        .where('id', '=', sessionIdOf(a!.access_token))
        .execute();
    await age(a!.access_token, { begunMsAgo: 40 * MINUTE, lastUsedMsAgo: 25 * MINUTE });
    const rotated = json(await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: a!.refresh_token } }));
    const { last_used_at } = await t.database.db
      .selectFrom('sessions')
      .select('last_used_at')
      .where('id', '=', sessionIdOf(a!.access_token))
      .executeTakeFirstOrThrow();
    expect(Date.now() - last_used_at.getTime()).toBeLessThan(MINUTE);
    // 25 more minutes: 65 since sign-in, but only 25 idle.
    await idleFor(25 * MINUTE);
    const again = await trpc(t.app, 'mutation', 'auth.refresh', { refresh_token: rotated.refresh_token });
    expect(again.statusCode).toBe(200);
    // Then 31 without use.
    await idleFor(31 * MINUTE);
    const late = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: json(again).result.data.refresh_token } });
    expect(late.statusCode).toBe(401);
  });

  it('follows the live settings, for sessions already open', async () => {
    const actor = { id: null, username: 'test' };
    const [a, b] = await twoSessions('live_idle_admin', { admin: true });
    await age(a!.access_token, { begunMsAgo: 2 * HOUR, lastUsedMsAgo: 45 * MINUTE });
    await age(b!.access_token, { begunMsAgo: 2 * HOUR, lastUsedMsAgo: 45 * MINUTE });
    let rotated: { refresh_token: string }[];
    await t.app.services.settings.update({ sessionIdleTimeoutSeconds: 3_600 }, actor, null);
    try {
      rotated = (await Promise.all([a, b].map(async (session) => t.caller().auth.refresh({ refresh_token: session!.refresh_token })))) as {
        refresh_token: string;
      }[];
    } finally {
      await t.app.services.settings.update({ sessionIdleTimeoutSeconds: 1_800 }, actor, null);
    }
    // Back at 30 minutes, the same 45 minutes of idleness end them.
    await age(a!.access_token, { begunMsAgo: 2 * HOUR, lastUsedMsAgo: 45 * MINUTE });
    await age(b!.access_token, { begunMsAgo: 2 * HOUR, lastUsedMsAgo: 45 * MINUTE });
    expect(await refreshBoth(rotated[0]!.refresh_token, rotated[1]!.refresh_token)).toEqual(SESSION_DEAD);
  });
});

describe('the sessions of one account', () => {
  it.each(['REST', 'tRPC'])('are at most 50: the 51st sign-in (over %s) ends the oldest, which can no longer refresh', async (transport) => {
    const username = `cap_${transport.toLowerCase()}`;
    await t.caller().auth.register({ username, password: PASSWORD });
    const signIns = [];
    for (let i = 0; i < 50; i++) signIns.push(await t.caller().auth.login({ username, password: PASSWORD }));
    const [oldest, second] = signIns as { access_token: string; refresh_token: string }[];
    const fiftyFirst =
      transport === 'REST'
        ? json(await rest(t.app, 'POST', '/api/auth/login', { form: { username, password: PASSWORD } }))
        : json(await trpc(t.app, 'mutation', 'auth.login', { username, password: PASSWORD })).result.data;

    const refused = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: oldest!.refresh_token } });
    expect(refused.statusCode).toBe(401);
    expect(json(refused).data.reason).toBe('REFRESH_TOKEN_INVALID');
    expect(await rejection(t.caller().auth.refresh({ refresh_token: oldest!.refresh_token }))).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: oldest!.access_token })).statusCode).toBe(401);
    await expect(t.caller(second!.access_token).auth.me()).resolves.toMatchObject({ username });

    // 50 live, the newest first, read in pages of 20 over REST and at once over tRPC.
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await rest(t.app, 'GET', `/api/auth/sessions?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        token: fiftyFirst.access_token,
      });
      expect(page.statusCode).toBe(200);
      ids.push(...json(page).items.map((session: { id: string }) => session.id));
      cursor = json(page).nextCursor;
    } while (cursor);
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
    expect(ids[0]).toBe(sessionIdOf(fiftyFirst.access_token));
    expect(ids).not.toContain(sessionIdOf(oldest!.access_token));
    const all = await t.caller(fiftyFirst.access_token).auth.sessions({ limit: 100 });
    expect(all.items.map((session) => session.id)).toEqual(ids);
    expect(all.nextCursor).toBeNull();

    const [event] = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'auth.login_succeeded')
      .where('target_id', '=', sessionIdOf(fiftyFirst.access_token))
      .execute();
    expect(event?.details).toEqual({ endedOldestSessions: [sessionIdOf(oldest!.access_token)] });
  });

  it('are listed a page at a time, newest sign-in first, with a cursor over tRPC and REST', async () => {
    const { accessToken } = await signUp(t, 'paged_sessions');
    for (let i = 0; i < 4; i++) await t.caller().auth.login({ username: 'paged_sessions', password: PASSWORD });
    const overTrpc: string[][] = [];
    let page = await t.caller(accessToken).auth.sessions({ limit: 2 });
    overTrpc.push(page.items.map((session) => session.id));
    while (page.nextCursor) {
      page = await t.caller(accessToken).auth.sessions({ limit: 2, cursor: page.nextCursor });
      overTrpc.push(page.items.map((session) => session.id));
    }
    expect(overTrpc.map((ids) => ids.length)).toEqual([2, 2, 1]);
    const overRest: string[][] = [];
    let cursor: string | null = null;
    do {
      const response = await rest(t.app, 'GET', `/api/auth/sessions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: accessToken });
      expect(response.statusCode).toBe(200);
      overRest.push(json(response).items.map((session: { id: string }) => session.id));
      cursor = json(response).nextCursor;
    } while (cursor);
    expect(overRest).toEqual(overTrpc);
    // The session signing in first is the last listed.
    expect(overTrpc.at(-1)).toEqual([sessionIdOf(accessToken)]);
    const bad = await rest(t.app, 'GET', '/api/auth/sessions?cursor=not-a-cursor', { token: accessToken });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).data.fieldErrors.cursor).toBeDefined();
  });
});

describe('the browser session cookie', () => {
  async function cookieLogin(username: string) {
    await t.caller().auth.register({ username, password: PASSWORD });
    const response = await trpc(t.app, 'mutation', 'auth.login', { username, password: PASSWORD, refresh_token_delivery: 'cookie' });
    expect(response.statusCode).toBe(200);
    return response;
  }

  it('carries the refresh token httpOnly, SameSite=Strict, Secure, never in the body', async () => {
    const response = await cookieLogin('cookie_user');
    const data = json(response).result.data;
    expect(data.refresh_token).toBeUndefined();
    const cookies = cookiesOf(response);
    const refresh = cookies.get('stm_refresh') ?? '';
    expect(refresh).toMatch(/HttpOnly/);
    expect(refresh).toMatch(/SameSite=Strict/);
    expect(refresh).toMatch(/Secure/);
    expect(refresh).toMatch(/Path=\//);
    const csrf = cookies.get('stm_csrf') ?? '';
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(csrf).toMatch(/SameSite=Strict/);
  });

  it('refreshes only with the matching X-CSRF-Token header', async () => {
    const login = await cookieLogin('csrf_user');
    const cookies = cookiesOf(login);
    const cookieHeader = `stm_refresh=${cookieValue(cookies.get('stm_refresh'))}; stm_csrf=${cookieValue(cookies.get('stm_csrf'))}`;

    const withoutHeader = await trpc(t.app, 'mutation', 'auth.refresh', {}, { headers: { cookie: cookieHeader } });
    expect(withoutHeader.statusCode).toBe(403);
    expect(json(withoutHeader).error.data.reason).toBe('CSRF_FAILED');
    const wrongHeader = await trpc(t.app, 'mutation', 'auth.refresh', {}, { headers: { cookie: cookieHeader, 'x-csrf-token': 'forged' } });
    expect(wrongHeader.statusCode).toBe(403);

    const ok = await trpc(
      t.app,
      'mutation',
      'auth.refresh',
      {},
      {
        headers: { cookie: cookieHeader, 'x-csrf-token': cookieValue(cookies.get('stm_csrf')) },
      },
    );
    expect(ok.statusCode).toBe(200);
    expect(json(ok).result.data.refresh_token).toBeUndefined();
    expect(cookieValue(cookiesOf(ok).get('stm_refresh'))).not.toBe(cookieValue(cookies.get('stm_refresh')));
  });

  it('is never set in answer to a request another site could make (login CSRF)', async () => {
    await t.caller().auth.register({ username: 'csrf_victim', password: PASSWORD });
    const credentials = { username: 'csrf_victim', password: PASSWORD, refresh_token_delivery: 'cookie' };
    const { refresh_token: bodyRefresh } = await t.caller().auth.login({ username: 'csrf_victim', password: PASSWORD });
    const refused = [
      // The OAuth2 form: any page can post it to us.
      await rest(t.app, 'POST', '/api/auth/login', { form: credentials }),
      await rest(t.app, 'POST', '/api/auth/refresh', { form: { refresh_token: bodyRefresh as string, refresh_token_delivery: 'cookie' } }),
      // JSON the browser says came from another site (or a sibling one).
      await rest(t.app, 'POST', '/api/auth/login', { body: credentials, headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } }),
      await trpc(t.app, 'mutation', 'auth.login', credentials, { headers: { 'sec-fetch-site': 'same-site', origin: 'https://evil.example.com' } }),
    ];
    for (const response of refused) {
      expect(response.statusCode, response.raw.req.url).toBe(403);
      expect(response.headers['set-cookie'], response.raw.req.url).toBeUndefined();
      const data = response.raw.req.url?.startsWith('/trpc') ? json(response).error.data : json(response).data;
      expect(data.reason).toBe('CSRF_FAILED');
    }
    // None of them made a session: only the one signed in above exists.
    const { access_token: accessToken } = await t.caller().auth.login({ username: 'csrf_victim', password: PASSWORD });
    expect(json(await rest(t.app, 'GET', '/api/auth/sessions', { token: accessToken })).items).toHaveLength(2);
    // The console's own call: same-origin JSON.
    const ok = await trpc(t.app, 'mutation', 'auth.login', credentials, { headers: { 'sec-fetch-site': 'same-origin' } });
    expect(ok.statusCode).toBe(200);
    expect(cookiesOf(ok).get('stm_refresh')).toMatch(/HttpOnly/);
    // A body refresh token still answers in the body, whatever the encoding.
    expect((await rest(t.app, 'POST', '/api/auth/refresh', { form: { refresh_token: bodyRefresh as string } })).statusCode).toBe(200);
  });

  it('is set for a console on another origin that CORS allows', async () => {
    const allowed = await createTestApp({ CORS_ORIGINS: 'https://console.example' });
    try {
      await allowed.caller().auth.register({ username: 'cors_console', password: PASSWORD });
      const credentials = { username: 'cors_console', password: PASSWORD, refresh_token_delivery: 'cookie' };
      const ok = await trpc(allowed.app, 'mutation', 'auth.login', credentials, {
        headers: { 'sec-fetch-site': 'same-site', origin: 'https://console.example' },
      });
      expect(ok.statusCode).toBe(200);
      expect(cookiesOf(ok).get('stm_refresh')).toMatch(/HttpOnly/);
      const other = await trpc(allowed.app, 'mutation', 'auth.login', credentials, {
        headers: { 'sec-fetch-site': 'same-site', origin: 'https://evil.example' },
      });
      expect(other.statusCode).toBe(403);
    } finally {
      await allowed.close();
    }
  });

  it('is cleared by logout', async () => {
    const login = await cookieLogin('cookie_logout');
    const token = json(login).result.data.access_token;
    const logout = await trpc(t.app, 'mutation', 'auth.logout', undefined, { token });
    expect(logout.statusCode).toBe(200);
    const cleared = cookiesOf(logout).get('stm_refresh') ?? '';
    expect(cleared).toMatch(/stm_refresh=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
  });

  it('takes the __Host- prefix when the request came over HTTPS through a trusted proxy', async () => {
    const proxied = await createTestApp({ TRUST_PROXY: '127.0.0.1' });
    try {
      await proxied.caller().auth.register({ username: 'https_user', password: PASSWORD });
      const response = await proxied.app.inject({
        method: 'POST',
        url: '/trpc/auth.login',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        payload: JSON.stringify({ username: 'https_user', password: PASSWORD, refresh_token_delivery: 'cookie' }),
      });
      expect(response.statusCode).toBe(200);
      const cookies = cookiesOf(response);
      expect(cookies.get('__Host-stm_refresh')).toMatch(/Secure/);
      expect(cookies.get('__Host-stm_refresh')).toMatch(/Path=\//);
      expect(cookies.get('__Host-stm_refresh')).not.toMatch(/Domain=/);
      expect(cookies.has('stm_refresh')).toBe(false);
    } finally {
      await proxied.close();
    }
  });
});

describe('ending sessions', () => {
  it('logout kills this session’s access and refresh tokens at once, not the others', async () => {
    const { accessToken, refreshToken } = await signUp(t, 'logout_user');
    const other = await t.caller().auth.login({ username: 'logout_user', password: PASSWORD });
    const response = await rest(t.app, 'POST', '/api/auth/logout', { token: accessToken });
    expect(response.statusCode).toBe(200);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: accessToken })).statusCode).toBe(401);
    expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } })).statusCode).toBe(401);
    await expect(t.caller(other.access_token).auth.me()).resolves.toMatchObject({ username: 'logout_user' });
  });

  it('logoutAll kills every session of the account', async () => {
    const { accessToken } = await signUp(t, 'logout_all');
    const second = await t.caller().auth.login({ username: 'logout_all', password: PASSWORD });
    const response = await rest(t.app, 'POST', '/api/auth/logout-all', { token: accessToken });
    expect(json(response)).toEqual({ ok: true, endedSessions: 2 });
    for (const token of [accessToken, second.access_token]) {
      expect((await rest(t.app, 'GET', '/api/auth/me', { token })).statusCode).toBe(401);
    }
  });

  it('logoutOthers ends every other session of the account and keeps this one, over tRPC and REST', async () => {
    const { accessToken, refreshToken } = await signUp(t, 'logout_others');
    const phone = await t.caller().auth.login({ username: 'logout_others', password: PASSWORD });
    const tablet = await t.caller().auth.login({ username: 'logout_others', password: PASSWORD });
    const bystander = await signUp(t, 'logout_bystander');

    await expect(t.caller(accessToken).auth.logoutOthers()).resolves.toEqual({ ok: true, endedSessions: 2 });
    for (const other of [phone, tablet]) {
      expect((await rest(t.app, 'GET', '/api/auth/me', { token: other.access_token })).statusCode).toBe(401);
      expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: other.refresh_token } })).statusCode).toBe(401);
    }
    await expect(t.caller(accessToken).auth.me()).resolves.toMatchObject({ username: 'logout_others' });
    await expect(t.caller(bystander.accessToken).auth.me()).resolves.toMatchObject({ username: 'logout_bystander' });
    const { items } = await t.caller(accessToken).auth.sessions();
    expect(items.map((item) => item.current)).toEqual([true]);
    // This session goes on being renewed.
    await expect(t.caller().auth.refresh({ refresh_token: refreshToken })).resolves.toMatchObject({ access_token: expect.any(String) });

    const again = await rest(t.app, 'POST', '/api/auth/logout-others', { token: accessToken });
    expect(again.statusCode).toBe(200);
    expect(json(again)).toEqual({ ok: true, endedSessions: 0 });
    expect((await rest(t.app, 'POST', '/api/auth/logout-others')).statusCode).toBe(401);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'auth.logged_out_others')
      .orderBy('id')
      .execute();
    expect(audit.map((row) => row.details)).toEqual([{ sessions: 2 }, { sessions: 0 }]);
  });

  it('lists the live sessions with the current one marked', async () => {
    const { accessToken } = await signUp(t, 'list_sessions');
    await t.caller(null, { ip: '203.0.113.7', userAgent: 'Other Browser/1.0' }).auth.login({ username: 'list_sessions', password: PASSWORD });
    const { items } = await t.caller(accessToken).auth.sessions();
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    expect(items.find((s) => !s.current)).toMatchObject({ ip: '203.0.113.7', userAgent: 'Other Browser/1.0' });
    const viaRest = await rest(t.app, 'GET', '/api/auth/sessions', { token: accessToken });
    expect(json(viaRest).items).toHaveLength(2);
  });

  it('revokeSession ends one of your sessions, and answers 404 for anyone else’s', async () => {
    const mine = await signUp(t, 'revoker');
    const second = await t.caller().auth.login({ username: 'revoker', password: PASSWORD });
    const theirs = await signUp(t, 'revoke_victim');
    const theirSession = (await t.caller(theirs.accessToken).auth.sessions()).items[0]!.id;
    const mySecond = (await t.caller(mine.accessToken).auth.sessions()).items.find((s) => !s.current)!.id;

    const foreign = await rest(t.app, 'DELETE', `/api/auth/sessions/${theirSession}`, { token: mine.accessToken });
    const missing = await rest(t.app, 'DELETE', '/api/auth/sessions/00000000-0000-4000-8000-000000000000', { token: mine.accessToken });
    expect(foreign.statusCode).toBe(404);
    // Alike but for `instance`, the path each was sent to.
    expect({ ...json(foreign), instance: undefined }).toEqual({ ...json(missing), instance: undefined });
    expect(json(foreign).instance).toBe(`/api/auth/sessions/${theirSession}`);
    await expect(t.caller(theirs.accessToken).auth.me()).resolves.toBeTruthy();

    expect((await rest(t.app, 'DELETE', `/api/auth/sessions/${mySecond}`, { token: mine.accessToken })).statusCode).toBe(200);
    expect(await rejection(t.caller(second.access_token).auth.me())).toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(t.caller(mine.accessToken).auth.me()).resolves.toBeTruthy();
    expect((await rest(t.app, 'DELETE', '/api/auth/sessions/not-a-uuid', { token: mine.accessToken })).statusCode).toBe(400);
  });
});

describe('changing the password', () => {
  it('requires the current password, ends the other sessions and keeps this one', async () => {
    const { accessToken } = await signUp(t, 'changer');
    const other = await t.caller().auth.login({ username: 'changer', password: PASSWORD });

    const wrong = await rest(t.app, 'POST', '/api/auth/change-password', {
      token: accessToken,
      body: { currentPassword: 'not my password', newPassword: 'a brand new passphrase' },
    });
    expect(wrong.statusCode).toBe(400);
    expect(json(wrong).data).toMatchObject({ reason: 'CURRENT_PASSWORD_WRONG', fieldErrors: { currentPassword: expect.any(Array) } });

    const changed = await t.caller(accessToken).auth.changePassword({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' });
    expect(changed).toEqual({ ok: true, endedSessions: 1 });
    await expect(t.caller(accessToken).auth.me()).resolves.toBeTruthy();
    expect(await rejection(t.caller(other.access_token).auth.me())).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await rejection(t.caller().auth.refresh({ refresh_token: other.refresh_token }))).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await rejection(t.caller().auth.login({ username: 'changer', password: PASSWORD }))).toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(t.caller().auth.login({ username: 'changer', password: 'a brand new passphrase' })).resolves.toBeTruthy();
  });

  /**
   * Runs `meanwhile` once, right after the next password check finishes and before the sign-in
   * that made it goes on: a password change landing while bcrypt ran, made deterministic.
   */
  async function duringNextPasswordCheck<T>(meanwhile: () => Promise<unknown>, signIn: () => Promise<T>): Promise<T> {
    const hasher = t.app.services.hasher;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back as it was, and called with its `this`
    const verify = hasher.verify;
    let pending: (() => Promise<unknown>) | undefined = meanwhile;
    hasher.verify = async (password, hash) => {
      const matches = await verify.call(hasher, password, hash);
      const run = pending;
      pending = undefined;
      if (run) await run();
      return matches;
    };
    try {
      return await signIn();
    } finally {
      hasher.verify = verify;
    }
  }

  it('refuses a sign-in whose password was changed while it was being checked', async () => {
    const { accessToken } = await signUp(t, 'overlap_change');
    const newPassword = 'changed during sign-in';
    const login = await duringNextPasswordCheck(
      async () => {
        const change = await rest(t.app, 'POST', '/api/auth/change-password', { token: accessToken, body: { currentPassword: PASSWORD, newPassword } });
        expect(change.statusCode).toBe(200);
      },
      () => rest(t.app, 'POST', '/api/auth/login', { body: { username: 'overlap_change', password: PASSWORD } }),
    );
    expect(login.statusCode).toBe(401);
    expect(json(login).data.reason).toBe('INVALID_CREDENTIALS');
    // Only the changer's own session is left.
    expect(json(await rest(t.app, 'GET', '/api/auth/sessions', { token: accessToken })).items).toHaveLength(1);
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'overlap_change', password: newPassword } })).statusCode).toBe(200);
  });

  it('refuses a sign-in whose password was reset while it was being checked', async () => {
    const admin = await signUpAdmin(t, 'overlap_admin');
    const { user } = await signUp(t, 'overlap_reset');
    const login = await duringNextPasswordCheck(
      async () => {
        const { token } = await t.caller(admin.accessToken).admin.users.createResetLink({ id: user.id });
        const reset = await rest(t.app, 'POST', '/api/auth/reset-password', { body: { token, newPassword: 'reset during sign-in' } });
        expect(reset.statusCode).toBe(200);
      },
      () => trpc(t.app, 'mutation', 'auth.login', { username: 'overlap_reset', password: PASSWORD }),
    );
    expect(login.statusCode).toBe(401);
    expect(json(login).error.data.reason).toBe('INVALID_CREDENTIALS');
  });

  it('never lets the bcrypt cost upgrade of a sign-in undo a password change made meanwhile', async () => {
    const { accessToken } = await signUp(t, 'rehash_race');
    const hasher = t.app.services.hasher;
    const { cost } = hasher;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back as it was, and called with its `this`
    const hash = hasher.hash;
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let upgradeHashed: Promise<string> | undefined;
    hasher.cost = cost + 1;
    await hasher.prepare();
    // The upgrade after the next sign-in waits until the password has been changed.
    hasher.hash = (password) => {
      hasher.hash = hash;
      upgradeHashed = released.then(() => hash.call(hasher, password));
      return upgradeHashed;
    };
    try {
      expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'rehash_race', password: PASSWORD } })).statusCode).toBe(200);
      expect(upgradeHashed).toBeDefined();
      await t.caller(accessToken).auth.changePassword({ currentPassword: PASSWORD, newPassword: 'changed before the upgrade' });
      release();
      await upgradeHashed;
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      hasher.hash = hash;
      hasher.cost = cost;
      release();
    }
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'rehash_race', password: 'changed before the upgrade' } })).statusCode).toBe(200);
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'rehash_race', password: PASSWORD } })).statusCode).toBe(401);
  });

  it.skipIf(process.env.STM_TEST_DB !== 'postgres')(
    'ends a session that a concurrent password change would otherwise miss (PostgreSQL, real concurrency)',
    async () => {
      const { accessToken } = await signUp(t, 'overlap_pg');
      const blocker = new pg.Client({ connectionString: t.database.url });
      // A second connection looks: inside the blocker's transaction pg_stat_activity would not change.
      const observer = new pg.Client({ connectionString: t.database.url });
      await blocker.connect();
      await observer.connect();
      const waitingOn = async (statement: string) => {
        const { rows } = await observer.query(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`,
          [`${statement}%`],
        );
        return rows[0].n > 0;
      };
      const until = async (condition: () => Promise<boolean>) => {
        for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
          if (await condition()) return true;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return false;
      };
      try {
        // The sign-in stops at its last write (the refresh token) with its session row written.
        await blocker.query('begin');
        await blocker.query('lock table refresh_tokens in share mode');
        const login = rest(t.app, 'POST', '/api/auth/login', { body: { username: 'overlap_pg', password: PASSWORD } });
        expect(await until(() => waitingOn('insert into "refresh_tokens"'))).toBe(true);
        let changeDone = false;
        const change = rest(t.app, 'POST', '/api/auth/change-password', {
          token: accessToken,
          body: { currentPassword: PASSWORD, newPassword: 'changed concurrently' },
        }).finally(() => {
          changeDone = true;
        });
        // The change either finishes now (missing the uncommitted session) or waits for the sign-in.
        expect(await until(async () => changeDone || (await waitingOn('update "users"')))).toBe(true);
        await blocker.query('commit');
        const [signedIn, changed] = await Promise.all([login, change]);
        expect(changed.statusCode).toBe(200);
        if (signedIn.statusCode === 200) {
          expect((await rest(t.app, 'GET', '/api/auth/me', { token: json(signedIn).access_token })).statusCode).toBe(401);
          expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: json(signedIn).refresh_token } })).statusCode).toBe(401);
        } else {
          expect(signedIn.statusCode).toBe(401);
        }
      } finally {
        await blocker.query('rollback').catch(() => {});
        await blocker.end();
        await observer.end();
      }
    },
  );

  it('applies the password rules to the new password', async () => {
    const { accessToken } = await signUp(t, 'rules_changer');
    const cases: [string, string][] = [
      ['short', 'PASSWORD_TOO_SHORT'],
      ['passwordstandard', 'PASSWORD_TOO_COMMON'],
      ['aaaaaaaaaaaaaaaa', 'PASSWORD_TOO_WEAK'],
      ['my rules_changer pass', 'PASSWORD_CONTAINS_USERNAME'],
      [PASSWORD, 'PASSWORD_UNCHANGED'],
    ];
    for (const [newPassword, reason] of cases) {
      expect(await rejection(t.caller(accessToken).auth.changePassword({ currentPassword: PASSWORD, newPassword }))).toMatchObject({
        code: 'BAD_REQUEST',
        reason,
      });
    }
  });
});

describe('password rules (NIST SP 800-63B)', () => {
  it.each([
    ['seven c', 'PASSWORD_TOO_SHORT'],
    // NIST SP 800-63B-4: 15 characters by default where the password is the only factor.
    ['fourteen chars', 'PASSWORD_TOO_SHORT'],
    ['1qaz2wsx3edc4rfv', 'PASSWORD_TOO_COMMON'],
    ['passwordpassword', 'PASSWORD_TOO_COMMON'],
    ['clave_secreta_super_segura', 'PASSWORD_TOO_COMMON'],
    ['aaaaaaaaaaaaaaaaaaaa', 'PASSWORD_TOO_WEAK'],
    ['abcdefghijklmnopqr', 'PASSWORD_TOO_WEAK'],
    ['qwertyuiopasdfghjk', 'PASSWORD_TOO_WEAK'],
    ['P@ssw0rd!P@ssw0rd!', 'PASSWORD_TOO_WEAK'],
    ['12345678901234567890', 'PASSWORD_TOO_WEAK'],
    ['1985123119851231', 'PASSWORD_TOO_WEAK'],
    ['qwertyqwertyqwerty', 'PASSWORD_TOO_WEAK'],
    ['x'.repeat(129), 'PASSWORD_TOO_LONG'],
    ['x'.repeat(300), 'PASSWORD_TOO_LONG'],
    ['🙂'.repeat(129), 'PASSWORD_TOO_LONG'],
  ])('refuses %j with reason %s', async (password, reason) => {
    const response = await rest(t.app, 'POST', '/api/auth/register', { body: { username: `rule_${reason.length}${password.length}`, password } });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.reason).toBe(reason);
    expect(json(response).data.fieldErrors.password).toHaveLength(1);
  });

  it('answers one code for one length rule, wherever the password is sent', async () => {
    const { accessToken } = await signUp(t, 'long_rule');
    for (const password of ['x'.repeat(129), 'x'.repeat(257), 'x'.repeat(5_000)]) {
      const answers = [
        [await trpc(t.app, 'mutation', 'auth.register', { username: 'long_rule2', password }), 'password'],
        [
          await rest(t.app, 'POST', '/api/auth/change-password', { token: accessToken, body: { currentPassword: PASSWORD, newPassword: password } }),
          'newPassword',
        ],
        [await rest(t.app, 'POST', '/api/auth/reset-password', { body: { token: 'whatever', newPassword: password } }), 'newPassword'],
        [await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'long_rule', password } }), 'password'],
      ] as const;
      for (const [response, field] of answers) {
        expect(response.statusCode, `${password.length} ${response.raw.req.url}`).toBe(400);
        const data = response.raw.req.url?.startsWith('/trpc') ? json(response).error.data : json(response).data;
        expect(data.reason, `${password.length} ${response.raw.req.url}`).toBe('PASSWORD_TOO_LONG');
        expect(data.fieldErrors[field]).toEqual(['Password must be at most 128 characters']);
      }
    }
    // Counted as people count: 128 emoji are 256 UTF-16 units, and allowed.
    const emoji = Array.from('🙂🐙🚲🌵🎻🧊🦉🍋🛶🌋🧲🪁🐝🥨🌈🎲');
    const manyEmoji = Array.from({ length: 128 }, (_, index) => emoji[(index * 7 + Math.floor(index / 16)) % emoji.length]).join('');
    await expect(t.caller().auth.register({ username: 'emoji_long', password: manyEmoji })).resolves.toMatchObject({ username: 'emoji_long' });
  });

  it('refuses a password equal to or containing the username', async () => {
    for (const password of ['username_rule 1987', 'MY USERNAME_RULE!!', 'xx-username_rule-yy']) {
      expect(await rejection(t.caller().auth.register({ username: 'username_rule', password }))).toMatchObject({
        reason: 'PASSWORD_CONTAINS_USERNAME',
      });
    }
  });

  it('has no composition rules: long lowercase, spaces and any script are fine', async () => {
    for (const [username, password] of [
      ['nist_a', 'just lowercase words here'],
      ['nist_b', 'mi gato duerme en la nevera'],
      ['nist_c', '密码很长而且不容易被猜到的句子啊'],
      ['nist_d', '🙂🐙🚲🌵🎻🧊🦉🍋🛶🌋🧲🪁🐝🥨🗝️'],
      ['nist_e', 'x7Gq2mVr9Lp4Zw8Kt3Nh6Yb1Fs5Dj0Ac'.repeat(4)],
    ] as const) {
      await expect(t.caller().auth.register({ username, password })).resolves.toMatchObject({ username });
      await expect(t.caller().auth.login({ username, password })).resolves.toMatchObject({ token_type: 'bearer' });
    }
  });

  it('follows the live minimum length and common-password settings', async () => {
    await t.app.services.settings.update({ passwordMinLength: 12, passwordRefuseCommon: false }, { id: null, username: 'test' }, null);
    try {
      expect(await rejection(t.caller().auth.register({ username: 'min_len', password: 'eleven char' }))).toMatchObject({
        reason: 'PASSWORD_TOO_SHORT',
      });
      await expect(t.caller().auth.register({ username: 'common_ok', password: 'password1234' })).resolves.toBeTruthy();
    } finally {
      await t.app.services.settings.update({ passwordMinLength: 15, passwordRefuseCommon: true }, { id: null, username: 'test' }, null);
    }
  });

  it('judges strength, not only length: repeats, sequences, keyboard walks and l33t are refused at any minimum', async () => {
    await t.app.services.settings.update({ passwordMinLength: 8 }, { id: null, username: 'test' }, null);
    try {
      for (const [password, reason] of [
        ['aaaaaaaa', 'PASSWORD_TOO_WEAK'],
        ['abcdefgh', 'PASSWORD_TOO_WEAK'],
        ['P@ssw0rd!', 'PASSWORD_TOO_WEAK'],
        ['12345678', 'PASSWORD_TOO_COMMON'],
        ['iloveyou', 'PASSWORD_TOO_COMMON'],
      ] as const) {
        expect(await rejection(t.caller().auth.register({ username: 'weak_eight', password })), password).toMatchObject({ reason });
        const viaRest = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'weak_eight', password } });
        expect([viaRest.statusCode, json(viaRest).data.reason, json(viaRest).data.fieldErrors.password]).toEqual([400, reason, [expect.any(String)]]);
      }
      // Ten characters can be enough when they are hard to guess.
      await expect(t.caller().auth.register({ username: 'strong_ten', password: 'k9$Tz4&wLq' })).resolves.toMatchObject({ username: 'strong_ten' });
    } finally {
      await t.app.services.settings.update({ passwordMinLength: 15 }, { id: null, username: 'test' }, null);
    }
  });

  it('treats Unicode-equivalent spellings of a password as the same password', async () => {
    const composed = 'caf\u00e9 au lait noir';
    const decomposed = 'cafe\u0301 au lait noir';
    await t.caller().auth.register({ username: 'unicode_pw', password: composed });
    await expect(t.caller().auth.login({ username: 'unicode_pw', password: decomposed })).resolves.toBeTruthy();
  });

  it('re-hashes at sign-in when the bcrypt cost setting changed', async () => {
    await t.caller().auth.register({ username: 'rehash_me', password: PASSWORD });
    const hashOf = async () =>
      (await t.app.services.database.db.selectFrom('users').select('password_hash').where('username', '=', 'rehash_me').executeTakeFirstOrThrow())
        .password_hash;
    expect(await hashOf()).toMatch(/^\$2b\$04\$/);
    t.app.services.hasher.cost = 5;
    try {
      await t.caller().auth.login({ username: 'rehash_me', password: PASSWORD });
      await expect.poll(hashOf, { timeout: 5_000 }).toMatch(/^\$2b\$05\$/);
      await expect(t.caller().auth.login({ username: 'rehash_me', password: PASSWORD })).resolves.toBeTruthy();
    } finally {
      t.app.services.hasher.cost = 4;
    }
  });
});

describe('registration settings', () => {
  it('refuses registration while it is closed', async () => {
    await t.app.services.settings.update({ registrationOpen: false }, { id: null, username: 'test' }, null);
    try {
      const response = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'closed_reg', password: PASSWORD } });
      expect(response.statusCode).toBe(403);
      expect(json(response).data.reason).toBe('REGISTRATION_CLOSED');
    } finally {
      await t.app.services.settings.update({ registrationOpen: true }, { id: null, username: 'test' }, null);
    }
  });

  it('gives access tokens the configured lifetime', async () => {
    await t.app.services.settings.update({ accessTokenTtlSeconds: 300 }, { id: null, username: 'test' }, null);
    try {
      const { access_token, expires_in } = await (async () => {
        await t.caller().auth.register({ username: 'ttl_user', password: PASSWORD });
        return t.caller().auth.login({ username: 'ttl_user', password: PASSWORD });
      })();
      expect(expires_in).toBe(300);
      const claims = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString());
      expect(claims.exp - claims.iat).toBe(300);
    } finally {
      await t.app.services.settings.update({ accessTokenTtlSeconds: 900 }, { id: null, username: 'test' }, null);
    }
  });
});

describe('admin procedures on signing keys', () => {
  it('are refused to users (403) and anonymous callers (401)', async () => {
    const user = await signUp(t, 'keys_user');
    expect((await rest(t.app, 'GET', '/api/admin/keys', { token: user.accessToken })).statusCode).toBe(403);
    expect((await rest(t.app, 'POST', '/api/admin/keys/rotate', { token: user.accessToken })).statusCode).toBe(403);
    expect((await rest(t.app, 'GET', '/api/admin/keys')).statusCode).toBe(401);
    expect((await rest(t.app, 'POST', '/api/admin/keys/x/revoke')).statusCode).toBe(401);
  });

  it('list the keys with the current one marked', async () => {
    const admin = await signUpAdmin(t, 'keys_admin');
    const { items } = await t.caller(admin.accessToken).admin.keys.list();
    expect(items.filter((k) => k.status === 'current')).toHaveLength(1);
    expect(JSON.stringify(items)).not.toMatch(/private|"d":/);
  });
});
