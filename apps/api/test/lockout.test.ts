import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, json, PASSWORD, signUpAdmin, type TestApp } from './helpers';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';

type StoreKind = 'memory' | 'redis';
const kinds: StoreKind[] = testRedisUrl ? ['memory', 'redis'] : ['memory'];
const WRONG = 'not the password';
const WINDOW_MS = 15 * 60 * 1000;

interface From {
  /** The client's address, as `request.ip` reads it. */
  from: string;
  /** The device cookie to send (`name=value`). */
  cookie?: string;
  token?: string;
}

let addresses = 0;
/** An address no other test of this file uses: the address's own count spans every account. */
function newAddress(): string {
  addresses += 1;
  return `10.${process.pid % 250}.${Math.floor(addresses / 250)}.${addresses % 250}`;
}

function post(t: TestApp, url: string, body: unknown, { from, cookie, token }: From) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  if (token) headers.authorization = `Bearer ${token}`;
  return t.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body), remoteAddress: from });
}

const login = (t: TestApp, username: string, password: string, from: From) => post(t, '/api/auth/login', { username, password }, from);
const loginTrpc = (t: TestApp, username: string, password: string, from: From) => post(t, '/trpc/auth.login', { username, password }, from);

/** The device cookie a successful sign-in set, ready to send back. */
function deviceCookieOf(response: { cookies: { name: string; value: string }[] }): string {
  const cookie = response.cookies.find((c) => c.name.startsWith('stm_device_'));
  expect(cookie, 'a device cookie').toBeDefined();
  return `${cookie?.name}=${cookie?.value}`;
}

function refusal(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  return { status: response.statusCode, retryAfter: Number(response.headers['retry-after']), body: response.json() };
}

describe.each(kinds)('failed-login lockout, counters in %s', (kind) => {
  let t: TestApp;
  const prefix = uniqueRedisPrefix('lockout');
  let redis: Redis | undefined;
  let counter = 0;

  beforeAll(async () => {
    t = await createTestApp(kind === 'redis' ? { REDIS_URL: testRedisUrl as string, REDIS_KEY_PREFIX: prefix } : {});
    if (kind === 'redis') redis = new Redis(testRedisUrl as string, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await t.close();
    redis?.disconnect();
    await deleteRedisKeys(prefix);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** A user who has signed in from `from` (so it is a known address of theirs). */
  async function newUser(): Promise<{ username: string; from: string; accessToken: string }> {
    const username = `lock_${kind}_${++counter}`;
    const from = newAddress();
    await t.caller().auth.register({ username, password: PASSWORD });
    const tokens = await t.caller(null, { ip: from, userAgent: null }).auth.login({ username, password: PASSWORD });
    return { username, from, accessToken: tokens.access_token };
  }

  async function fail(username: string, times: number, from: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < times; i++) statuses.push((await login(t, username, WRONG, { from })).statusCode);
    return statuses;
  }

  /** Lets the current lock of a client run out: the clock moves on (memory) or the lock is dropped (Redis). */
  async function letLockPass(username: string, from: string, afterMs: number): Promise<void> {
    if (kind === 'redis') {
      expect(await redis?.hdel(`${prefix}lockout:client:a:${from}|${username.toLowerCase()}`, 'lock')).toBe(1);
    } else {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + afterMs + 1_000);
    }
  }

  /** Lets the account's window run out: the clock moves on (memory) or its count expires (Redis). */
  async function letAccountWindowPass(username: string): Promise<void> {
    if (kind === 'redis') {
      expect(await redis?.pexpire(`${prefix}lockout:account:${username.toLowerCase()}`, 1)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } else {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + WINDOW_MS + 1_000);
    }
  }

  it('locks a client after 5 failures: 429 with Retry-After, and its correct password is refused too', async () => {
    const { username, from } = await newUser();
    expect(await fail(username, 5, from)).toEqual([401, 401, 401, 401, 401]);

    const locked = await login(t, username, PASSWORD, { from });
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(json(locked)).toMatchObject({ code: 'TOO_MANY_REQUESTS', data: { reason: 'ACCOUNT_LOCKED', retryAfterSeconds: expect.any(Number) } });
    expect(json(locked).access_token).toBeUndefined();

    const viaTrpc = await loginTrpc(t, username, PASSWORD, { from });
    expect(viaTrpc.statusCode).toBe(429);
    expect(viaTrpc.headers['retry-after']).toBeDefined();
    expect(json(viaTrpc).error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'ACCOUNT_LOCKED' });

    const bystander = await newUser();
    expect((await login(t, bystander.username, PASSWORD, { from: bystander.from })).statusCode).toBe(200);

    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_username', 'details'])
      .where('actor_username', '=', username)
      .where('action', 'in', ['auth.login_failed', 'auth.login_locked'])
      .orderBy('id')
      .execute();
    expect(events.map((e) => e.action)).toEqual([...Array(5).fill('auth.login_failed'), 'auth.login_locked', 'auth.login_locked']);
    expect(events[4]?.details).toMatchObject({ reason: 'wrong_password', lockedForSeconds: 30 });
    expect(events[5]?.details).toMatchObject({ by: 'client' });
  });

  it('lets the correct password in once the lock has passed, and starts counting afresh', async () => {
    const { username, from } = await newUser();
    await fail(username, 5, from);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(429);
    await letLockPass(username, from, 30_000);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(200);
    vi.useRealTimers();
    expect(await fail(username, 4, from)).toEqual([401, 401, 401, 401]);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(200);
  });

  it('doubles the lock for each failure after one has passed (30 s, 60 s, 120 s)', async () => {
    const { username, from } = await newUser();
    await fail(username, 5, from);
    const seen: number[] = [];
    for (let round = 0; round < 2; round++) {
      const locked = await login(t, username, PASSWORD, { from });
      expect(locked.statusCode).toBe(429);
      seen.push(Number(locked.headers['retry-after']));
      await letLockPass(username, from, seen.at(-1)! * 1000);
      expect(await fail(username, 1, from)).toEqual([401]);
    }
    const locked = await login(t, username, PASSWORD, { from });
    expect(locked.statusCode).toBe(429);
    seen.push(Number(locked.headers['retry-after']));
    expect(seen[0]).toBeGreaterThanOrEqual(29);
    expect(seen[0]).toBeLessThanOrEqual(30);
    expect(seen[1]).toBeGreaterThanOrEqual(59);
    expect(seen[1]).toBeLessThanOrEqual(60);
    expect(seen[2]).toBeGreaterThanOrEqual(119);
    expect(seen[2]).toBeLessThanOrEqual(120);
  });

  it('counts a username in any letter case as one, and refuses unknown usernames exactly like known ones', async () => {
    const { username, from } = await newUser();
    await login(t, username.toUpperCase(), 'wrong one', { from });
    await login(t, ` ${username} `, 'wrong two', { from });
    await fail(username, 3, from);
    const known = await login(t, username, PASSWORD, { from });
    expect(known.statusCode).toBe(429);

    const ghost = `ghost_${kind}_${counter}`;
    const ghostFrom = newAddress();
    expect(await fail(ghost, 5, ghostFrom)).toEqual([401, 401, 401, 401, 401]);
    const ghostLocked = await login(t, ghost, PASSWORD, { from: ghostFrom });
    expect(refusal(ghostLocked)).toEqual(refusal(known));

    // Slowed alike too: a new address trying either account right after another new one.
    for (const name of [username, ghost]) await login(t, name, WRONG, { from: newAddress() });
    const slowedKnown = await login(t, username, PASSWORD, { from: newAddress() });
    const slowedGhost = await login(t, ghost, PASSWORD, { from: newAddress() });
    expect(slowedKnown.statusCode).toBe(429);
    expect(refusal(slowedGhost)).toEqual(refusal(slowedKnown));
  });

  it('checks at most 5 of a burst of 20 simultaneous guesses, while the owner signs in from a known address', async () => {
    const { username, from: home } = await newUser();
    const attacker = newAddress();
    const verify = vi.spyOn(t.app.services.hasher, 'verify');
    const [owner, ...guesses] = await Promise.all([
      login(t, username, PASSWORD, { from: home }),
      ...Array.from({ length: 20 }, () => login(t, username, 'concurrent guess', { from: attacker })),
    ]);
    const statuses = guesses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(verify.mock.calls.filter(([password]) => password === 'concurrent guess')).toHaveLength(5);
    expect(owner?.statusCode).toBe(200);
  });

  it('lets 10 simultaneous correct sign-ins from one address all in', async () => {
    const { username, from } = await newUser();
    const responses = await Promise.all(Array.from({ length: 10 }, () => login(t, username, PASSWORD, { from })));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
  });

  it('an attacker never shuts the owner out: a known address or device gets in, the attacker is locked, a new address is slowed', async () => {
    const { username, from: home } = await newUser();
    const signedIn = await login(t, username, PASSWORD, { from: home });
    expect(signedIn.statusCode).toBe(200);
    const device = deviceCookieOf(signedIn);

    const attacker = newAddress();
    expect(await fail(username, 6, attacker)).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await login(t, username, PASSWORD, { from: attacker })).statusCode).toBe(429);

    // Where the owner signed in before, and the device they signed in on, even at the attacker's address.
    expect((await login(t, username, PASSWORD, { from: home })).statusCode).toBe(200);
    expect((await loginTrpc(t, username, PASSWORD, { from: attacker, cookie: device })).statusCode).toBe(200);
    // A device cookie of another account, or a forged one, is no key here.
    const other = await newUser();
    const otherDevice = deviceCookieOf(await login(t, other.username, PASSWORD, { from: other.from }));
    const stranger = `${device.split('=')[0]}=${otherDevice.split('=')[1]}`;
    expect((await login(t, username, PASSWORD, { from: attacker, cookie: stranger })).statusCode).toBe(429);

    // A new address: one attempt at a time, then the next after Retry-After, and in it gets.
    const first = newAddress();
    expect((await login(t, username, WRONG, { from: first })).statusCode).toBe(401);
    const second = newAddress();
    const slowed = await login(t, username, PASSWORD, { from: second });
    expect(slowed.statusCode).toBe(429);
    expect(json(slowed).data.reason).toBe('ACCOUNT_LOCKED');
    const retryAfter = Number(slowed.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    if (kind === 'redis') {
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    } else {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + retryAfter * 1000 + 100);
    }
    expect((await login(t, username, PASSWORD, { from: second })).statusCode).toBe(200);
  });

  it('refuses an address that sprays guesses across many accounts, at every account, and only that address', async () => {
    const sprayer = newAddress();
    const statuses: number[] = [];
    // Four guesses per name stay under each name's own threshold; fifty in all reach the address's.
    for (let name = 0; name < 13; name++) {
      for (let guess = 0; guess < 4; guess++) statuses.push((await login(t, `spray_${kind}_${name}`, WRONG, { from: sprayer })).statusCode);
    }
    expect(statuses.slice(0, 50)).toEqual(Array(50).fill(401));
    expect(statuses.slice(50)).toEqual([429, 429]);

    const { username, from } = await newUser();
    const refused = await login(t, username, PASSWORD, { from: sprayer });
    expect(refused.statusCode).toBe(429);
    expect(json(refused).data.reason).toBe('ACCOUNT_LOCKED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(200);
    // Someone who signed in from that address before (an office behind one address) still gets in there.
    const colleague = await newUser();
    expect((await login(t, colleague.username, PASSWORD, { from: sprayer })).statusCode).toBe(429);
    await t.database.db
      .updateTable('sessions')
      .set({ ip: sprayer })
      .where('user_id', '=', (await t.database.db.selectFrom('users').select('id').where('username', '=', colleague.username).executeTakeFirstOrThrow()).id)
      .execute();
    expect((await login(t, colleague.username, PASSWORD, { from: sprayer })).statusCode).toBe(200);
    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['details'])
      .where('action', '=', 'auth.login_locked')
      .where('ip', '=', sprayer)
      .execute();
    expect(events.map((e) => (e.details as { by: string }).by)).toEqual(['address', 'address', 'address', 'address']);
  });

  it('tells the owner once per window that the account is under attack (audit)', async () => {
    const { username } = await newUser();
    const events = () =>
      t.database.db
        .selectFrom('audit_events')
        .select(['actor_id', 'target_type', 'target_label', 'details'])
        .where('action', '=', 'auth.login_throttled')
        .where('target_label', '=', username)
        .execute();
    await fail(username, 4, newAddress());
    expect(await events()).toEqual([]);
    await fail(username, 4, newAddress());
    await fail(username, 1, newAddress());
    const once = await events();
    expect(once).toHaveLength(1);
    expect(once[0]).toMatchObject({ target_type: 'user', actor_id: expect.any(Number), details: { failures: 5, windowSeconds: 900 } });

    await letAccountWindowPass(username);
    await fail(username, 4, newAddress());
    expect(await events()).toHaveLength(1);
    await fail(username, 1, newAddress());
    expect(await events()).toHaveLength(2);
  });

  it('counts only failures within one window: later failures do not keep old ones alive', async () => {
    const { username, from } = await newUser();
    if (kind === 'redis') {
      await fail(username, 1, from);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await fail(username, 3, from);
      const ttl = (await redis?.pttl(`${prefix}lockout:client:a:${from}|${username}`)) ?? 0;
      // The window runs from the first failure: the later three did not push its end back.
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(WINDOW_MS - 1_000);
    } else {
      // Eight failures six minutes apart: never five within fifteen minutes.
      vi.useFakeTimers({ toFake: ['Date'] });
      for (let i = 0; i < 8; i++) {
        if (i > 0) vi.setSystemTime(Date.now() + 6 * 60 * 1000);
        expect(await fail(username, 1, from)).toEqual([401]);
      }
      expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(200);
    }
  });

  it('a success before the threshold clears the count', async () => {
    const { username, from } = await newUser();
    await fail(username, 4, from);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(200);
    expect(await fail(username, 4, from)).toEqual([401, 401, 401, 401]);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(200);
  });

  it('counts failures of a deactivated account, whose correct password is refused as deactivated', async () => {
    const { username, from } = await newUser();
    await t.database.db.updateTable('users').set({ is_active: false }).where('username', '=', username).execute();
    for (let i = 0; i < 5; i++) {
      const refused = await login(t, username, PASSWORD, { from });
      expect(refused.statusCode).toBe(403);
      expect(json(refused).data.reason).toBe('ACCOUNT_DEACTIVATED');
    }
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(429);
  });

  it('counts wrong current passwords of a password change, audits them, and then locks change and sign-in alike', async () => {
    const { username, from, accessToken } = await newUser();
    const change = (currentPassword: string, over: 'rest' | 'trpc') =>
      post(
        t,
        over === 'rest' ? '/api/auth/change-password' : '/trpc/auth.changePassword',
        { currentPassword, newPassword: 'a fresh passphrase here' },
        {
          from,
          token: accessToken,
        },
      );
    for (let i = 0; i < 5; i++) {
      const wrong = await change(WRONG, i % 2 === 0 ? 'rest' : 'trpc');
      expect(wrong.statusCode).toBe(400);
    }
    for (const over of ['rest', 'trpc'] as const) {
      const locked = await change(PASSWORD, over);
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      const data = over === 'rest' ? json(locked).data : json(locked).error.data;
      expect(data.reason).toBe('ACCOUNT_LOCKED');
    }
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(429);

    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_username', 'details'])
      .where('action', '=', 'auth.password_change_failed')
      .where('target_label', '=', username)
      .orderBy('id')
      .execute();
    expect(events.map((event) => (event.details as { reason: string }).reason)).toEqual([...Array(5).fill('wrong_current_password'), 'locked', 'locked']);
    expect(events.every((event) => event.actor_username === username)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(WRONG);
  });

  it('a right current password clears the count, as a sign-in does', async () => {
    const { username, from, accessToken } = await newUser();
    await fail(username, 4, from);
    const changed = await post(
      t,
      '/api/auth/change-password',
      { currentPassword: PASSWORD, newPassword: 'a fresh passphrase here' },
      {
        from,
        token: accessToken,
      },
    );
    expect(changed.statusCode).toBe(200);
    expect(await fail(username, 4, from)).toEqual([401, 401, 401, 401]);
  });

  it('a password reset lifts every lock on the account, and its slowing', async () => {
    const { username, from } = await newUser();
    const attacker = newAddress();
    await fail(username, 5, from);
    await fail(username, 5, attacker);
    expect((await login(t, username, PASSWORD, { from })).statusCode).toBe(429);
    const admin = await signUpAdmin(t, `lock_admin_${kind}_${++counter}`);
    const link = await t.caller(admin.accessToken).admin.users.createResetLink({ id: await idOf(username) });
    await t.caller().auth.resetPassword({ token: link.token, newPassword: 'a brand new passphrase' });
    expect((await login(t, username, 'a brand new passphrase', { from })).statusCode).toBe(200);
    expect((await login(t, username, 'a brand new passphrase', { from: newAddress() })).statusCode).toBe(200);
    expect(await fail(username, 5, attacker)).toEqual([401, 401, 401, 401, 401]);
  });

  async function idOf(username: string): Promise<number> {
    const row = await t.database.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
    return row.id;
  }
});

describe('failed-login counters in memory, when full', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOCKOUT_MEMORY_MAX_ENTRIES: '60' });
    await t.caller().auth.register({ username: 'kept_lock', password: PASSWORD });
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  it('keep a live lock while far more names than they hold are tried, and refuse new names with 503 meanwhile', async () => {
    const attacker = newAddress();
    for (let i = 0; i < 5; i++) await login(t, 'kept_lock', WRONG, { from: attacker });
    expect((await login(t, 'kept_lock', PASSWORD, { from: attacker })).statusCode).toBe(429);

    const statuses: number[] = [];
    let busy: Awaited<ReturnType<typeof login>> | undefined;
    for (let i = 0; i < 300; i++) {
      const response = await login(t, `sprayed_${i}`, WRONG, { from: newAddress() });
      statuses.push(response.statusCode);
      if (response.statusCode === 503) busy = response;
    }
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(20);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(280);
    expect(busy && json(busy)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', data: { reason: 'SERVER_BUSY' } });
    expect(Number(busy?.headers['retry-after'])).toBeGreaterThan(0);

    const stillLocked = await login(t, 'kept_lock', PASSWORD, { from: attacker });
    expect(stillLocked.statusCode).toBe(429);
    expect(json(stillLocked).data.reason).toBe('ACCOUNT_LOCKED');

    // Once their windows have passed, the counters make room again.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + WINDOW_MS + 1_000);
    expect((await login(t, 'sprayed_new', WRONG, { from: newAddress() })).statusCode).toBe(401);
  });
});

describe('failed-login counters in a Redis that is unreachable from the start', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails.
    t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: uniqueRedisPrefix('unreachable') });
    await t.caller().auth.register({ username: 'no_counter', password: PASSWORD });
  });
  afterAll(() => t.close());

  it('signs people in with counters in memory, which still lock a guessing client out, never unchecked', async () => {
    const response = await login(t, 'no_counter', PASSWORD, { from: '127.0.0.1' });
    expect(response.statusCode).toBe(200);
    const attacker = '127.0.0.201';
    for (let i = 0; i < 5; i++) expect((await login(t, 'no_counter', WRONG, { from: attacker })).statusCode).toBe(401);
    const locked = await login(t, 'no_counter', PASSWORD, { from: attacker });
    expect(locked.statusCode).toBe(429);
    expect(json(locked).data.reason).toBe('ACCOUNT_LOCKED');
    expect(locked.body).not.toMatch(/redis|ECONNREFUSED|stack/i);
  });

  it('keeps the rest of the API answering, ready but degraded', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/settings/public' })).statusCode).toBe(200);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(json(ready)).toMatchObject({ status: 'degraded', checks: { redis: 'down' } });
  });
});
