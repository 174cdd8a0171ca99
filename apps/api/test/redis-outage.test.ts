import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, signUp, type TestApp } from './helpers';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

/**
 * Redis goes away under an instance: it stays ready (degraded), and goes on limiting requests and
 * throttling sign-ins with counters of its own, then shares them again once Redis is back.
 */
const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz';

describe.runIf(testRedisUrl)('through a Redis outage', () => {
  const prefix = uniqueRedisPrefix('outage');
  let proxy: TcpProxy;
  let t: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    const url = new URL(testRedisUrl as string);
    // The instance reaches Redis through a proxy of its own, so its Redis can be cut alone.
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 6379) });
    url.host = `127.0.0.1:${proxy.port}`;
    t = await createTestApp({ REDIS_URL: url.toString(), REDIS_KEY_PREFIX: prefix, RATE_LIMIT_MAX: '6', AUTH_RATE_LIMIT_MAX: '1000', METRICS_TOKEN });
    await signUp(t, 'outage_owner');
    redis = new Redis(testRedisUrl as string, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    redis?.disconnect();
    await deleteRedisKeys(prefix);
  });

  const hit = (app: FastifyInstance, url: string, from: string, body?: unknown) =>
    app.inject({
      method: body === undefined ? 'GET' : 'POST',
      url,
      remoteAddress: from,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  async function degradedMetric(): Promise<string | undefined> {
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    return /^stm_redis_degraded (\d)$/m.exec(response.body)?.[1];
  }

  async function readiness() {
    const response = await t.app.inject({ method: 'GET', url: '/readyz' });
    return { status: response.statusCode, body: json(response) };
  }

  async function until(condition: () => Promise<boolean>, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function statuses(url: string, from: string, count: number): Promise<number[]> {
    const seen: number[] = [];
    for (let i = 0; i < count; i++) seen.push((await hit(t.app, url, from)).statusCode);
    return seen;
  }

  it('stays ready, says it is degraded, and keeps every limit with counters of its own until Redis returns', async () => {
    expect(await readiness()).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'up', redis: 'up' } } });
    expect(await statuses('/api/settings/public', '127.0.0.61', 7)).toEqual([200, 200, 200, 200, 200, 200, 429]);

    proxy.stop();
    await until(async () => (await readiness()).body.status === 'degraded', 5_000);
    expect(await readiness()).toEqual({ status: 200, body: { status: 'degraded', checks: { database: 'up', redis: 'down' } } });
    expect(await degradedMetric()).toBe('1');

    // The per-address limit still holds, answered at once.
    const started = Date.now();
    expect(await statuses('/api/settings/public', '127.0.0.62', 7)).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(Date.now() - started).toBeLessThan(2_000);

    // Sign-in is still throttled: guesses lock their client out, the right password then too...
    const wrong = { username: 'outage_owner', password: 'not the password' };
    for (let i = 0; i < 5; i++) expect((await hit(t.app, '/api/auth/login', `127.0.0.${70 + i}`, wrong)).statusCode).toBe(401);
    const guessing = '127.0.0.63';
    for (let i = 0; i < 5; i++) await hit(t.app, '/api/auth/login', guessing, wrong);
    const locked = await hit(t.app, '/api/auth/login', guessing, { ...wrong, password: PASSWORD });
    expect(locked.statusCode).toBe(429);
    expect(json(locked)).toMatchObject({ data: { reason: 'ACCOUNT_LOCKED' } });
    // ...while the owner, from an address of their own, still signs in: no 503 for anyone.
    const owner = await hit(t.app, '/api/auth/login', '127.0.0.64', { username: 'outage_owner', password: PASSWORD });
    expect([200, 429]).toContain(owner.statusCode);
    expect(owner.statusCode).not.toBe(503);

    proxy.heal();
    await until(async () => (await readiness()).body.status === 'ready', 10_000);
    expect(await degradedMetric()).toBe('0');
    // Shared again: this address's count is in Redis, where every instance sees it.
    expect(await statuses('/api/settings/public', '127.0.0.65', 2)).toEqual([200, 200]);
    const keys = await redis.keys(`${prefix}rate-limit:*127.0.0.65*`);
    expect(keys.length).toBeGreaterThan(0);
  });
});
