import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, json, PASSWORD, rest, signUp, type TestApp, trpc } from './helpers';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';

type StoreKind = 'memory' | 'redis';
const kinds: StoreKind[] = testRedisUrl ? ['memory', 'redis'] : ['memory'];

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
  });

  async function newUser(): Promise<string> {
    const username = `lock_${kind}_${++counter}`;
    await signUp(t, username);
    return username;
  }

  const login = (username: string, password: string) => rest(t.app, 'POST', '/api/auth/login', { body: { username, password } });

  async function fail(username: string, times: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < times; i++) statuses.push((await login(username, 'not the password')).statusCode);
    return statuses;
  }

  /** Lets the current lock run out: the clock moves on (memory) or the lock key expires (Redis). */
  async function letLockPass(username: string, afterMs: number): Promise<void> {
    if (kind === 'redis') {
      expect(await redis?.del(`${prefix}lockout:lock:${username.toLowerCase()}`)).toBe(1);
    } else {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + afterMs + 1_000);
    }
  }

  it('locks after 5 failures: 429 with Retry-After, and the correct password is refused too', async () => {
    const username = await newUser();
    expect(await fail(username, 5)).toEqual([401, 401, 401, 401, 401]);

    const locked = await login(username, PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(json(locked)).toMatchObject({ code: 'TOO_MANY_REQUESTS', data: { reason: 'ACCOUNT_LOCKED', retryAfterSeconds: expect.any(Number) } });
    expect(json(locked).access_token).toBeUndefined();

    const viaTrpc = await trpc(t.app, 'mutation', 'auth.login', { username, password: PASSWORD });
    expect(viaTrpc.statusCode).toBe(429);
    expect(viaTrpc.headers['retry-after']).toBeDefined();
    expect(json(viaTrpc).error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'ACCOUNT_LOCKED' });

    const bystander = await newUser();
    expect((await login(bystander, PASSWORD)).statusCode).toBe(200);

    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_username', 'details'])
      .where('actor_username', '=', username)
      .where('action', 'in', ['auth.login_failed', 'auth.login_locked'])
      .orderBy('id')
      .execute();
    expect(events.map((e) => e.action)).toEqual([...Array(5).fill('auth.login_failed'), 'auth.login_locked', 'auth.login_locked']);
    expect(events[4]?.details).toMatchObject({ reason: 'wrong_password', lockedForSeconds: 30 });
  });

  it('lets the correct password in once the lock has passed, and starts counting afresh', async () => {
    const username = await newUser();
    await fail(username, 5);
    expect((await login(username, PASSWORD)).statusCode).toBe(429);
    await letLockPass(username, 30_000);
    expect((await login(username, PASSWORD)).statusCode).toBe(200);
    vi.useRealTimers();
    expect(await fail(username, 4)).toEqual([401, 401, 401, 401]);
    expect((await login(username, PASSWORD)).statusCode).toBe(200);
  });

  it('doubles the lock for each failure after one has passed (30 s, 60 s, 120 s)', async () => {
    const username = await newUser();
    await fail(username, 5);
    const seen: number[] = [];
    for (let round = 0; round < 2; round++) {
      const locked = await login(username, PASSWORD);
      expect(locked.statusCode).toBe(429);
      seen.push(Number(locked.headers['retry-after']));
      await letLockPass(username, seen.at(-1)! * 1000);
      expect(await fail(username, 1)).toEqual([401]);
    }
    const locked = await login(username, PASSWORD);
    expect(locked.statusCode).toBe(429);
    seen.push(Number(locked.headers['retry-after']));
    expect(seen[0]).toBeGreaterThanOrEqual(29);
    expect(seen[0]).toBeLessThanOrEqual(30);
    expect(seen[1]).toBeGreaterThanOrEqual(59);
    expect(seen[1]).toBeLessThanOrEqual(60);
    expect(seen[2]).toBeGreaterThanOrEqual(119);
    expect(seen[2]).toBeLessThanOrEqual(120);
  });

  it('counts a username in any letter case as one, and unknown usernames exactly like known ones', async () => {
    const username = await newUser();
    await login(username.toUpperCase(), 'wrong one');
    await login(` ${username} `, 'wrong two');
    await fail(username, 3);
    expect((await login(username, PASSWORD)).statusCode).toBe(429);

    const ghost = `ghost_${kind}_${counter}`;
    expect(await fail(ghost, 5)).toEqual([401, 401, 401, 401, 401]);
    const ghostLocked = await login(ghost, PASSWORD);
    expect(ghostLocked.statusCode).toBe(429);
    expect(Number(ghostLocked.headers['retry-after'])).toBeGreaterThanOrEqual(29);
  });

  it('locks a burst of simultaneous guesses after the threshold: only 5 passwords are ever checked', async () => {
    const username = await newUser();
    const responses = await Promise.all(Array.from({ length: 20 }, () => login(username, 'concurrent guess')));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('counts only failures within one window: later failures do not keep old ones alive', async () => {
    const username = await newUser();
    if (kind === 'redis') {
      await fail(username, 1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await fail(username, 3);
      const ttl = (await redis?.pttl(`${prefix}lockout:count:${username}`)) ?? 0;
      // The window runs from the first failure: the later three did not push its end back.
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(15 * 60 * 1000 - 1_000);
    } else {
      // Eight failures six minutes apart: never five within fifteen minutes.
      vi.useFakeTimers({ toFake: ['Date'] });
      for (let i = 0; i < 8; i++) {
        if (i > 0) vi.setSystemTime(Date.now() + 6 * 60 * 1000);
        expect(await fail(username, 1)).toEqual([401]);
      }
      expect((await login(username, PASSWORD)).statusCode).toBe(200);
    }
  });

  it('a success before the threshold clears the count', async () => {
    const username = await newUser();
    await fail(username, 4);
    expect((await login(username, PASSWORD)).statusCode).toBe(200);
    expect(await fail(username, 4)).toEqual([401, 401, 401, 401]);
    expect((await login(username, PASSWORD)).statusCode).toBe(200);
  });

  it('counts failures of a deactivated account, whose correct password is refused as wrong', async () => {
    const username = await newUser();
    await t.database.db.updateTable('users').set({ is_active: false }).where('username', '=', username).execute();
    for (let i = 0; i < 5; i++) {
      const refused = await login(username, PASSWORD);
      expect(refused.statusCode).toBe(401);
      expect(json(refused).data.reason).toBe('INVALID_CREDENTIALS');
    }
    expect((await login(username, PASSWORD)).statusCode).toBe(429);
  });

  it('counts wrong current passwords of a password change, audits them, and then locks change and sign-in alike', async () => {
    const username = `lock_${kind}_${++counter}`;
    const { accessToken } = await signUp(t, username);
    const change = (currentPassword: string, over: 'rest' | 'trpc') => {
      const input = { currentPassword, newPassword: 'a fresh passphrase here' };
      return over === 'rest'
        ? rest(t.app, 'POST', '/api/auth/change-password', { token: accessToken, body: input })
        : trpc(t.app, 'mutation', 'auth.changePassword', input, { token: accessToken });
    };
    for (let i = 0; i < 5; i++) {
      const wrong = await change('not the password', i % 2 === 0 ? 'rest' : 'trpc');
      expect(wrong.statusCode).toBe(400);
    }
    for (const over of ['rest', 'trpc'] as const) {
      const locked = await change(PASSWORD, over);
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      const data = over === 'rest' ? json(locked).data : json(locked).error.data;
      expect(data.reason).toBe('ACCOUNT_LOCKED');
    }
    expect((await login(username, PASSWORD)).statusCode).toBe(429);

    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_username', 'details'])
      .where('action', '=', 'auth.password_change_failed')
      .where('target_label', '=', username)
      .orderBy('id')
      .execute();
    expect(events.map((event) => (event.details as { reason: string }).reason)).toEqual([
      ...Array(5).fill('wrong_current_password'),
      'locked',
      'locked',
    ]);
    expect(events.every((event) => event.actor_username === username)).toBe(true);
    expect(JSON.stringify(events)).not.toContain('not the password');
  });

  it('a right current password clears the count, as a sign-in does', async () => {
    const username = `lock_${kind}_${++counter}`;
    const { accessToken } = await signUp(t, username);
    await fail(username, 4);
    const changed = await rest(t.app, 'POST', '/api/auth/change-password', {
      token: accessToken,
      body: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase here' },
    });
    expect(changed.statusCode).toBe(200);
    expect(await fail(username, 4)).toEqual([401, 401, 401, 401]);
  });
});

describe('failed-login counters unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails.
    t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: uniqueRedisPrefix('unreachable') });
    await t.caller().auth.register({ username: 'no_counter', password: PASSWORD });
  });
  afterAll(() => t.close());

  it('refuses sign-in with 503 and Retry-After rather than checking passwords uncounted', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'no_counter', password: PASSWORD } });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(json(response)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', data: { reason: 'LOCKOUT_UNAVAILABLE' } });
    expect(response.body).not.toMatch(/redis|ECONNREFUSED|stack/i);
  });

  it('keeps the rest of the API answering (the rate limits let requests through)', async () => {
    expect((await rest(t.app, 'GET', '/api/settings/public')).statusCode).toBe(200);
  });
});
