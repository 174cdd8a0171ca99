/**
 * Two real API processes sharing one PostgreSQL database and one Redis, driven alternately over
 * HTTP: what one instance learns (a failed sign-in, a deactivation, a logout, a settings change)
 * the other must honour.
 */
import { createTestDatabase, type TestDatabase } from '@stm/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PASSWORD } from './helpers';
import { type ServerProcess, startServer } from './processes';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
  body: any;
}

async function api(server: ServerProcess, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Polls until `check` holds or the time is up; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not within ${ms} ms`);
}

describe.runIf(testRedisUrl)('two API processes sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  const prefix = uniqueRedisPrefix('multi-instance');
  let a: ServerProcess;
  let b: ServerProcess;
  let adminToken: string;

  beforeAll(async () => {
    database = await createTestDatabase(inject('dbTemplate'));
    const env = {
      DATABASE_URL: database.url as string,
      REDIS_URL: testRedisUrl as string,
      REDIS_KEY_PREFIX: prefix,
      SETTINGS_REFRESH_MS: '200',
      // Both start at once and both try to create this admin: one must win quietly.
      ADMIN_USERNAME: 'multi_admin',
      ADMIN_PASSWORD: PASSWORD,
      RATE_LIMIT_MAX: '100000',
      AUTH_RATE_LIMIT_MAX: '100000',
    };
    const started = await Promise.allSettled([startServer(env), startServer(env)]);
    for (const result of started) {
      if (result.status !== 'fulfilled') continue;
      if (a) b = result.value;
      else a = result.value;
    }
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const login = await api(a, 'POST', '/api/auth/login', { body: { username: 'multi_admin', password: PASSWORD } });
    expect(login.status).toBe(200);
    adminToken = login.body.access_token;
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.close();
    await deleteRedisKeys(prefix);
  });

  async function register(username: string) {
    expect((await api(a, 'POST', '/api/auth/register', { body: { username, password: PASSWORD } })).status).toBe(201);
  }

  it('count failed sign-ins once: five failures spread over both lock the account on both', async () => {
    await register('shared_lock');
    for (let i = 0; i < 5; i++) {
      const server = i % 2 === 0 ? a : b;
      expect((await api(server, 'POST', '/api/auth/login', { body: { username: 'shared_lock', password: 'wrong password' } })).status).toBe(401);
    }
    for (const server of [b, a]) {
      const locked = await api(server, 'POST', '/api/auth/login', { body: { username: 'shared_lock', password: PASSWORD } });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(locked.body.data.reason).toBe('ACCOUNT_LOCKED');
    }
  });

  it('honour a deactivation made on the other instance at once', async () => {
    await register('remote_off');
    const login = await api(b, 'POST', '/api/auth/login', { body: { username: 'remote_off', password: PASSWORD } });
    const me = await api(b, 'GET', '/api/auth/me', { token: login.body.access_token });
    expect(me.status).toBe(200);
    const off = await api(a, 'PATCH', `/api/admin/users/${me.body.id}`, { token: adminToken, body: { isActive: false } });
    expect(off.status).toBe(200);
    expect((await api(b, 'GET', '/api/auth/me', { token: login.body.access_token })).status).toBe(401);
    expect((await api(b, 'POST', '/api/auth/refresh', { body: { refresh_token: login.body.refresh_token } })).status).toBe(403);
  });

  it('honour a logout made on the other instance at once', async () => {
    await register('remote_bye');
    const login = await api(a, 'POST', '/api/auth/login', { body: { username: 'remote_bye', password: PASSWORD } });
    expect((await api(b, 'GET', '/api/auth/me', { token: login.body.access_token })).status).toBe(200);
    expect((await api(a, 'POST', '/api/auth/logout', { token: login.body.access_token, body: {} })).status).toBe(200);
    const after = await api(b, 'GET', '/api/auth/me', { token: login.body.access_token });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('put a settings change made on one in force on the other within seconds', async () => {
    const change = await api(a, 'PATCH', '/api/settings', { token: adminToken, body: { registrationOpen: false, lockoutThreshold: 2 } });
    expect(change.status).toBe(200);
    const tookMs = await within(5_000, async () => (await api(b, 'GET', '/api/settings/public')).body.registrationOpen === false);
    expect(tookMs).toBeLessThan(5_000);
    const refused = await api(b, 'POST', '/api/auth/register', { body: { username: 'too_late_b', password: PASSWORD } });
    expect(refused.status).toBe(403);
    expect(refused.body.data.reason).toBe('REGISTRATION_CLOSED');

    // The lower threshold applies on B too: two failures there lock the account.
    const reopened = await api(a, 'PATCH', '/api/settings', { token: adminToken, body: { registrationOpen: true } });
    expect(reopened.status).toBe(200);
    await within(5_000, async () => (await api(b, 'GET', '/api/settings/public')).body.registrationOpen === true);
    expect((await api(b, 'POST', '/api/auth/register', { body: { username: 'threshold_b', password: PASSWORD } })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      expect((await api(b, 'POST', '/api/auth/login', { body: { username: 'threshold_b', password: 'wrong password' } })).status).toBe(401);
    }
    expect((await api(b, 'POST', '/api/auth/login', { body: { username: 'threshold_b', password: PASSWORD } })).status).toBe(429);
  });

  it('share one rate-limit budget per client address', async () => {
    const remaining: number[] = [];
    for (const server of [a, b, a, b]) {
      const response = await api(server, 'GET', '/api/settings/public');
      remaining.push(Number(response.headers.get('x-ratelimit-remaining')));
    }
    expect(remaining.slice(1).map((value, i) => (remaining[i] as number) - value)).toEqual([1, 1, 1]);
  });

  it('refuse tokens of a signing key revoked on the other instance at once', async () => {
    await register('key_victim');
    const login = await api(b, 'POST', '/api/auth/login', { body: { username: 'key_victim', password: PASSWORD } });
    const keys = await api(a, 'GET', '/api/admin/keys', { token: adminToken });
    const current = keys.body.items.find((key: { status: string }) => key.status === 'current').kid;
    expect((await api(a, 'POST', `/api/admin/keys/${current}/revoke`, { token: adminToken, body: {} })).status).toBe(200);
    expect((await api(b, 'GET', '/api/auth/me', { token: login.body.access_token })).status).toBe(401);
    // Both sign with the new key: a token from one is good on the other.
    const fresh = await api(a, 'POST', '/api/auth/login', { body: { username: 'key_victim', password: PASSWORD } });
    expect((await api(b, 'GET', '/api/auth/me', { token: fresh.body.access_token })).status).toBe(200);
  });
});
