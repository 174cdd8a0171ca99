import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, signUp, type TestApp } from './helpers';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';

interface Hit {
  method?: 'GET' | 'POST';
  /** The TCP peer, as the socket reports it (a proxy, or the client itself). */
  from?: string;
  forwardedFor?: string;
  body?: unknown;
  token?: string;
}

function hit(app: FastifyInstance, url: string, options: Hit = {}) {
  const headers: Record<string, string> = { 'user-agent': 'rate-limit-test' };
  if (options.forwardedFor) headers['x-forwarded-for'] = options.forwardedFor;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return app.inject({
    method,
    url,
    headers,
    remoteAddress: options.from ?? '127.0.0.1',
    ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
  });
}

const loginBody = (username: string, password = 'not the password') => ({ username, password });

async function lastAuditIp(t: TestApp, action: string): Promise<string | null | undefined> {
  const row = await t.database.db.selectFrom('audit_events').select('ip').where('action', '=', action).orderBy('id', 'desc').executeTakeFirst();
  return row?.ip;
}

describe('global limit per client address', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After and the usual error shape once the budget is spent', async () => {
    for (let i = 0; i < 5; i++) {
      const ok = await hit(t.app, '/api/settings/public', { from: '127.0.0.11' });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('5');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    const limited = await hit(t.app, '/api/settings/public', { from: '127.0.0.11' });
    expect(limited.statusCode).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(json(limited)).toEqual({
      type: 'urn:stm:problem:rate-limited',
      title: 'Too Many Requests',
      status: 429,
      detail: expect.stringMatching(/too many requests/i),
      instance: '/api/settings/public',
      message: expect.stringMatching(/too many requests/i),
      code: 'TOO_MANY_REQUESTS',
      reason: 'RATE_LIMITED',
      retryAfterSeconds: retryAfter,
      // The same members as a refusal by a procedure (the earlier shape's `data`).
      data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, reason: 'RATE_LIMITED', retryAfterSeconds: retryAfter },
    });
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.headers['cache-control']).toBe('no-store');
  });

  it('answers a limited tRPC call in the tRPC error envelope', async () => {
    const limited = await hit(t.app, '/trpc/settings.public', { from: '127.0.0.11' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(json(limited)).toMatchObject({
      error: { message: expect.any(String), code: -32029, data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, reason: 'RATE_LIMITED' } },
    });
  });

  it('counts unknown API paths too, but never health checks or documents outside the API', async () => {
    expect((await hit(t.app, '/api/no/such/thing', { from: '127.0.0.11' })).statusCode).toBe(429);
    for (const url of ['/healthz', '/readyz', '/.well-known/jwks.json', '/openapi.json']) {
      const response = await hit(t.app, url, { from: '127.0.0.11' });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['x-ratelimit-limit'], url).toBeUndefined();
    }
  });

  it('gives every address its own budget', async () => {
    expect((await hit(t.app, '/api/settings/public', { from: '127.0.0.12' })).statusCode).toBe(200);
  });
});

describe('stricter limit on the auth procedures, over REST and tRPC alike', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT_MAX: '3', AUTH_RATE_LIMIT_WINDOW_MS: '60000' });
    await signUp(t, 'rl_user');
  });
  afterAll(() => t.close());

  it('shares one budget between REST and tRPC; then even the correct password gets 429', async () => {
    const from = '127.0.0.21';
    const first = await hit(t.app, '/api/auth/login', { from, body: loginBody('rl_user') });
    expect(first.statusCode).toBe(401);
    // The headers tell the budget that binds: the sign-in one, not the global one's room to spare.
    expect([first.headers['x-ratelimit-limit'], first.headers['x-ratelimit-remaining']]).toEqual(['3', '2']);
    expect((await hit(t.app, '/trpc/auth.login', { from, body: loginBody('rl_user') })).statusCode).toBe(401);
    expect((await hit(t.app, '/api/auth/login', { from, body: loginBody('rl_user', PASSWORD) })).statusCode).toBe(200);
    const limited = await hit(t.app, '/api/auth/login', { from, body: loginBody('rl_user', PASSWORD) });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect([limited.headers['x-ratelimit-limit'], limited.headers['x-ratelimit-remaining']]).toEqual(['3', '0']);
    expect(json(limited).code).toBe('TOO_MANY_REQUESTS');
    const viaTrpc = await hit(t.app, '/trpc/auth.login', { from, body: loginBody('rl_user', PASSWORD) });
    expect(viaTrpc.statusCode).toBe(429);
    expect(json(viaTrpc).error.data.code).toBe('TOO_MANY_REQUESTS');
    // The rest of the API is not part of the auth budget.
    expect((await hit(t.app, '/api/settings/public', { from })).statusCode).toBe(200);
    expect((await hit(t.app, '/trpc/settings.public', { from })).statusCode).toBe(200);
  });

  it('counts every auth call a tRPC batch makes', async () => {
    const from = '127.0.0.22';
    const batch = await hit(t.app, '/trpc/auth.login,auth.login?batch=1', {
      from,
      body: { 0: loginBody('rl_user'), 1: loginBody('rl_user') },
    });
    expect(batch.statusCode).not.toBe(429);
    // Refused whole (a query and a mutation in one batch): no procedure is called, nothing is spent.
    expect(
      (await hit(t.app, '/trpc/settings.public,auth.register?batch=1', { from, body: { 1: { username: 'rl_batch', password: PASSWORD } } })).statusCode,
    ).toBe(400);
    expect((await hit(t.app, '/trpc/auth.register?batch=1', { from, body: { 0: { username: 'rl_batch', password: PASSWORD } } })).statusCode).toBe(200);
    const limited = await hit(t.app, '/trpc/auth.login?batch=1', { from, body: { 0: loginBody('rl_user') } });
    expect(limited.statusCode).toBe(429);
  });

  it('covers sign-in, registration, refresh, password change and reset', async () => {
    const from = '127.0.0.23';
    const paths = ['/api/auth/register', '/api/auth/refresh', '/api/auth/change-password', '/api/auth/reset-password', '/trpc/auth.resetPassword'];
    const statuses: number[] = [];
    for (const path of paths) statuses.push((await hit(t.app, path, { from, body: {} })).statusCode);
    expect(statuses.slice(0, 3).every((status) => status !== 429)).toBe(true);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });

  it('charges the procedure reached, however its path is spelled', async () => {
    const from = '127.0.0.24';
    for (const path of ['/api/auth/login', '/api/auth/LOGIN/', '/trpc/auth%2Elogin']) {
      await hit(t.app, path, { from, body: loginBody('rl_user') });
    }
    expect((await hit(t.app, '/api/auth/login', { from, body: loginBody('rl_user') })).statusCode).toBe(429);
  });
});

describe('a limit turned off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_MAX: 'off', AUTH_RATE_LIMIT_MAX: '1' });
    await signUp(t, 'rl_off');
  });
  afterAll(() => t.close());

  it('counts nothing, while the other still holds', async () => {
    const from = '127.0.0.25';
    const first = await hit(t.app, '/api/auth/login', { from, body: loginBody('rl_off') });
    expect(first.statusCode).toBe(401);
    // Only the budget that is on is advertised.
    expect([first.headers['x-ratelimit-limit'], first.headers['x-ratelimit-remaining']]).toEqual(['1', '0']);
    expect((await hit(t.app, '/trpc/auth.login', { from, body: loginBody('rl_off', PASSWORD) })).statusCode).toBe(429);
    const settings = await hit(t.app, '/api/settings/public', { from });
    expect([settings.statusCode, settings.headers['x-ratelimit-limit']]).toEqual([200, undefined]);
  });
});

describe('client address without a trusted proxy (TRUST_PROXY unset)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_MAX: '3' });
    await signUp(t, 'xff_user');
  });
  afterAll(() => t.close());

  it('ignores a forged X-Forwarded-For: a new header each time does not buy a new budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await hit(t.app, '/api/settings/public', { from: '127.0.0.31', forwardedFor: `203.0.113.${i + 1}` })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('records the socket address, not the forged one, in the audit log and the session', async () => {
    const login = await hit(t.app, '/api/auth/login', { from: '127.0.0.32', forwardedFor: '203.0.113.50', body: loginBody('xff_user', PASSWORD) });
    expect(login.statusCode).toBe(200);
    expect(await lastAuditIp(t, 'auth.login_succeeded')).toBe('127.0.0.32');
    const sessions = await hit(t.app, '/api/auth/sessions', { from: '127.0.0.33', token: json(login).access_token });
    expect(json(sessions).items[0].ip).toBe('127.0.0.32');
  });
});

describe('client address behind a trusted proxy (TRUST_PROXY=127.0.0.1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_MAX: '3', TRUST_PROXY: '127.0.0.1' });
    await signUp(t, 'proxied');
  });
  afterAll(() => t.close());

  it('counts each forwarded client under its own address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await hit(t.app, '/api/settings/public', { forwardedFor: '203.0.113.60' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await hit(t.app, '/api/settings/public', { forwardedFor: '203.0.113.61' })).statusCode).toBe(200);
  });

  it('takes the address the proxy saw, not one the client prepended', async () => {
    for (let i = 0; i < 3; i++) await hit(t.app, '/api/settings/public', { forwardedFor: `198.51.100.${i}, 203.0.113.62` });
    expect((await hit(t.app, '/api/settings/public', { forwardedFor: '198.51.100.99, 203.0.113.62' })).statusCode).toBe(429);
  });

  it('writes the forwarded address to the audit log', async () => {
    const login = await hit(t.app, '/api/auth/login', { forwardedFor: '203.0.113.63', body: loginBody('proxied', PASSWORD) });
    expect(login.statusCode).toBe(200);
    expect(await lastAuditIp(t, 'auth.login_succeeded')).toBe('203.0.113.63');
  });

  it('ignores X-Forwarded-For from an address that is not the proxy', async () => {
    const login = await hit(t.app, '/api/auth/login', { from: '127.0.0.41', forwardedFor: '203.0.113.64', body: loginBody('proxied', PASSWORD) });
    expect(login.statusCode).toBe(200);
    expect(await lastAuditIp(t, 'auth.login_succeeded')).toBe('127.0.0.41');
  });
});

describe.runIf(testRedisUrl)('counters in Redis', () => {
  const prefix = uniqueRedisPrefix('rate-limit');
  const otherPrefix = uniqueRedisPrefix('rate-limit-other');
  const apps: TestApp[] = [];
  beforeAll(async () => {
    for (const keyPrefix of [prefix, prefix, otherPrefix]) {
      apps.push(await createTestApp({ RATE_LIMIT_MAX: '4', REDIS_URL: testRedisUrl as string, REDIS_KEY_PREFIX: keyPrefix }));
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await deleteRedisKeys(prefix);
    await deleteRedisKeys(otherPrefix);
  });

  it('are shared by every instance with the same prefix, and separate under another prefix', async () => {
    const [first, second, other] = apps as [TestApp, TestApp, TestApp];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await hit((i % 2 === 0 ? first : second).app, '/api/settings/public', { from: '127.0.0.51' })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect((await hit(other.app, '/api/settings/public', { from: '127.0.0.51' })).statusCode).toBe(200);
  });

  it('are kept under keys that name the budget and the address', async () => {
    const [first] = apps as [TestApp];
    await hit(first.app, '/api/settings/public', { from: '127.0.0.53' });
    await hit(first.app, '/api/auth/login', { from: '127.0.0.53', body: {} });
    const redis = new Redis(testRedisUrl as string);
    try {
      expect((await redis.keys(`${prefix}*127.0.0.53`)).sort()).toEqual([`${prefix}rate-limit:auth:127.0.0.53`, `${prefix}rate-limit:ip:127.0.0.53`]);
    } finally {
      redis.disconnect();
    }
  });

  it('are spent a unit per call of a tRPC batch', async () => {
    const [first, second] = apps as [TestApp, TestApp];
    const batch = await hit(first.app, '/trpc/auth.me,auth.me,auth.me?batch=1', { from: '127.0.0.52' });
    expect(batch.headers['x-ratelimit-remaining']).toBe('1');
    expect((await hit(second.app, '/trpc/settings.public', { from: '127.0.0.52' })).statusCode).toBe(200);
    expect((await hit(first.app, '/trpc/settings.public', { from: '127.0.0.52' })).statusCode).toBe(429);
  });
});
