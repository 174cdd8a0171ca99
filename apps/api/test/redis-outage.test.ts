import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, signUp, type TestApp } from './helpers';
import { freePort } from './processes';

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz';
const redisServerAvailable = spawnSync('redis-server', ['--version']).status === 0;

/**
 * A Redis of the test's own, stopped under load beneath two instances: both stay ready (degraded),
 * go on limiting requests and throttling sign-ins with counters of their own, and share their
 * counters again once Redis is back.
 */
describe.skipIf(!redisServerAvailable)('through a Redis outage (needs redis-server on PATH)', () => {
  let port: number;
  let redisServer: ChildProcess | undefined;
  const instances: TestApp[] = [];

  async function startRedis(): Promise<void> {
    redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await until(
        async () =>
          client.connect().then(
            () => client.ping().then(() => true),
            () => false,
          ),
        10_000,
      );
    } finally {
      client.disconnect();
    }
  }

  async function stopRedis(): Promise<void> {
    const server = redisServer;
    redisServer = undefined;
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  }

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    const environment = { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_MAX: '6', AUTH_RATE_LIMIT_MAX: '1000', METRICS_TOKEN };
    const first = await createTestApp(environment);
    instances.push(first, await createTestApp(environment, { database: first.database }));
    await signUp(first, 'outage_owner');
  });
  afterAll(async () => {
    for (const instance of instances.reverse()) await instance.close();
    await stopRedis();
  });

  async function until(condition: () => Promise<boolean>, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const hit = (app: FastifyInstance, url: string, from: string, body?: unknown) =>
    app.inject({
      method: body === undefined ? 'GET' : 'POST',
      url,
      remoteAddress: from,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  const readiness = async (t: TestApp) => {
    const response = await t.app.inject({ method: 'GET', url: '/readyz' });
    return { status: response.statusCode, body: json(response) };
  };

  const degradedMetric = async (t: TestApp) => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    return response.body.split('\n').find((line) => line.startsWith('stm_redis_degraded '));
  };

  /** One address's requests spread over both instances in turn: counted together only while Redis holds the counters. */
  async function acrossInstances(from: string, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push((await hit((instances[i % 2] as TestApp).app, '/api/settings/public', from)).statusCode);
    return statuses;
  }

  it('keeps both instances ready and every limit holding while Redis is down, then shares the counters again', { timeout: 90_000 }, async () => {
    const [a, b] = instances as [TestApp, TestApp];
    for (const t of instances) expect(await readiness(t)).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'up', redis: 'up' } } });
    // Shared: six across both instances, then refused on either.
    expect(await acrossInstances('127.0.0.61', 7)).toEqual([200, 200, 200, 200, 200, 200, 429]);

    // Load throughout, each request from an address of its own (no budget runs out): nothing may fail.
    const token = (await signUp(a, 'outage_loader', PASSWORD)).accessToken;
    const loadStatuses: number[] = [];
    let loading = true;
    let n = 0;
    const worker = async () => {
      for (let ops = 0; loading && ops < 5_000; ops++) {
        const response = await (instances[n % 2] as TestApp).app.inject({
          method: 'GET',
          url: '/trpc/auth.me',
          remoteAddress: `10.0.${Math.floor(n / 250) % 250}.${n++ % 250}`,
          headers: { authorization: `Bearer ${token}` },
        });
        loadStatuses.push(response.statusCode);
        // Steady rather than flat out: the embedded database runs one statement at a time, and
        // readiness checks wait behind the load.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const workers = [worker(), worker()];
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await stopRedis();
      for (const t of instances) await until(async () => (await readiness(t)).body.status === 'degraded', 5_000);
      for (const t of instances) {
        expect(await readiness(t)).toEqual({ status: 200, body: { status: 'degraded', checks: { database: 'up', redis: 'down' } } });
        expect(await degradedMetric(t)).toBe('stm_redis_degraded 1');
      }

      // Each instance still limits, with its own count, and answers at once.
      const started = Date.now();
      const onA: number[] = [];
      for (let i = 0; i < 7; i++) onA.push((await hit(a.app, '/api/settings/public', '127.0.0.62')).statusCode);
      expect(onA).toEqual([200, 200, 200, 200, 200, 200, 429]);
      expect(Date.now() - started).toBeLessThan(3_000);

      // Sign-in stays throttled: guesses lock their client out, then even the right password...
      const wrong = { username: 'outage_owner', password: 'not the password' };
      for (let i = 0; i < 5; i++) expect((await hit(b.app, '/api/auth/login', '127.0.0.63', wrong)).statusCode).toBe(401);
      const locked = await hit(b.app, '/api/auth/login', '127.0.0.63', { ...wrong, password: PASSWORD });
      expect(locked.statusCode).toBe(429);
      expect(json(locked)).toMatchObject({ reason: 'ACCOUNT_LOCKED' });
      // ...while the owner, from elsewhere, signs in.
      expect((await hit(b.app, '/api/auth/login', '127.0.0.64', { username: 'outage_owner', password: PASSWORD })).statusCode).toBe(200);

      await startRedis();
      for (const t of instances) await until(async () => (await readiness(t)).body.status === 'ready', 15_000);
      for (const t of instances) expect(await degradedMetric(t)).toBe('stm_redis_degraded 0');
      // Shared again: one address's count spans both instances.
      expect(await acrossInstances('127.0.0.65', 7)).toEqual([200, 200, 200, 200, 200, 200, 429]);
    } finally {
      loading = false;
      await Promise.all(workers);
    }
    expect(loadStatuses.length).toBeGreaterThan(50);
    expect(loadStatuses.filter((status) => status !== 200)).toEqual([]);
  });
});
