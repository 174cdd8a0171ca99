/**
 * Live changes fanned out through Redis pub/sub (REDIS_URL): two API instances on one database, a
 * writer on one and a subscriber on the other, each with its own database connections (on
 * PostgreSQL) and its own Redis connections, under a key prefix of this file's own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createDb } from '@stm/db';
import type { TestDatabase } from '@stm/db/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, startTestApp, type TestApp } from './helpers';
import { freePort } from './processes';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';

const LIVE = { LIVE_CHECK_INTERVAL_MS: '200' };

interface Received {
  ids: number[];
  titles: string[];
  until(match: (titles: string[]) => boolean, ms?: number): Promise<void>;
  stop(): void;
}

/** A project's stream read as raw server-sent events: each event's id and task title. */
async function watch(baseUrl: string, token: string, projectId: number): Promise<Received> {
  const controller = new AbortController();
  const input = encodeURIComponent(JSON.stringify({ projectId }));
  const response = await fetch(`${baseUrl}/trpc/live.project?input=${input}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  const received: Received = {
    ids: [],
    titles: [],
    async until(match, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!match(received.titles)) {
        if (Date.now() > deadline) throw new Error(`not received within ${ms} ms; got ${JSON.stringify(received.titles)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: () => controller.abort(),
  };
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^data: (.*)$/m.exec(event)?.[1];
        if (!data) continue;
        const message = JSON.parse(data) as { type?: string; event?: { id: number; payload: { task?: { title: string } } } };
        if (message.type === 'ready') ready();
        if (message.type === 'event' && message.event) {
          received.ids.push(message.event.id);
          received.titles.push(message.event.payload.task?.title ?? '');
        }
      }
    }
  })().catch(() => {});
  await isReady;
  return received;
}

/** A second instance on the same database: on PostgreSQL with connections of its own, as another process would have. */
async function secondInstance(first: TestApp, environment: Record<string, string>): Promise<TestApp> {
  const second: TestDatabase = first.database.url
    ? { ...(await createDb({ databaseUrl: first.database.url, pool: { max: 4 } })), url: first.database.url }
    : { ...first.database, close: async () => {} };
  return startTestApp(second, environment);
}

describe.skipIf(!testRedisUrl)('live changes through Redis pub/sub', () => {
  const prefix = uniqueRedisPrefix('live');
  let a: TestApp;
  let b: TestApp;
  let urlB: string;
  let spy: Redis;
  const published: string[] = [];
  let token: string;
  let projectId: number;

  beforeAll(async () => {
    const environment = { ...LIVE, REDIS_URL: testRedisUrl as string, REDIS_KEY_PREFIX: prefix };
    a = await createTestApp(environment);
    b = await secondInstance(a, environment);
    urlB = await b.app.listen({ host: '127.0.0.1', port: 0 });
    spy = new Redis(testRedisUrl as string);
    spy.on('message', (_channel: string, message: string) => published.push(message));
    await spy.subscribe(`${prefix}change-events`);
    const owner = await signUp(a, 'redis_live_owner');
    token = owner.accessToken;
    projectId = (await a.caller(token).projects.create({ name: 'Fanned out', description: '', color: 'green' })).id;
  });

  afterAll(async () => {
    spy?.disconnect();
    await b?.close();
    await a?.close();
    await deleteRedisKeys(prefix);
  });

  it('a task created through one instance reaches a subscriber on the other, announced through Redis after its commit', async () => {
    const seen = await watch(urlB, token, projectId);
    const task = await a.caller(token).tasks.create({ projectId, title: 'through redis' });
    await seen.until((titles) => titles.includes('through redis'));
    const row = await a.database.db
      .selectFrom('change_events')
      .select('id')
      .where('entity_id', '=', task.id)
      .where('kind', '=', 'task.created')
      .executeTakeFirstOrThrow();
    // Published after the commit, naming the newest id it carried.
    expect(published.map(Number)).toContain(row.id);
    seen.stop();
  });

  it('a write that rolls back publishes nothing', async () => {
    const before = published.length;
    await expect(a.caller(token).tasks.create({ projectId, title: 'never', assigneeId: 999_999 })).rejects.toBeDefined();
    const after = await a.caller(token).tasks.create({ projectId, title: 'after the failure' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const row = await a.database.db.selectFrom('change_events').select('id').where('entity_id', '=', after.id).executeTakeFirstOrThrow();
    expect(published.slice(before).map(Number)).toEqual([row.id]);
  });
});

const redisServerAvailable = spawnSync('redis-server', ['--version']).status === 0;

/**
 * A Redis of the test's own, killed while a subscriber on one instance follows writes made on the
 * other: the writes made while it is away still arrive (announced with NOTIFY instead), and
 * every event arrives once, in order, before, during and after the outage.
 */
describe.skipIf(!redisServerAvailable)('live changes through a Redis outage (needs redis-server on PATH)', () => {
  let port: number;
  let server: ChildProcess | undefined;
  let a: TestApp;
  let b: TestApp;
  let urlB: string;
  let token: string;
  let projectId: number;

  async function startRedis() {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    const deadline = Date.now() + 10_000;
    try {
      while (
        !(await client.connect().then(
          () => client.ping().then(() => true),
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error('redis-server did not start');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.disconnect();
    }
  }

  async function stopRedis() {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  }

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    const environment = { ...LIVE, REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: 'stm-outage:' };
    a = await createTestApp(environment);
    b = await secondInstance(a, environment);
    urlB = await b.app.listen({ host: '127.0.0.1', port: 0 });
    token = (await signUp(a, 'redis_outage_owner')).accessToken;
    projectId = (await a.caller(token).projects.create({ name: 'Outage', description: '', color: 'red' })).id;
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await stopRedis();
  });

  it('misses nothing while Redis is down and after it returns', { timeout: 60_000 }, async () => {
    const seen = await watch(urlB, token, projectId);
    const create = (title: string) => a.caller(token).tasks.create({ projectId, title });
    await create('before');
    await seen.until((titles) => titles.includes('before'));

    await stopRedis();
    for (const title of ['down 1', 'down 2', 'down 3']) await create(title);
    await seen.until((titles) => titles.includes('down 3'));

    await startRedis();
    // Once the instances are back on Redis (their clients reconnect on their own), writes go through it again.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await create('after');
    await seen.until((titles) => titles.includes('after'));

    expect(seen.titles).toEqual(['before', 'down 1', 'down 2', 'down 3', 'after']);
    const logged = await a.database.db
      .selectFrom('change_events')
      .select('id')
      .where('project_id', '=', projectId)
      .where('kind', '=', 'task.created')
      .orderBy('id')
      .execute();
    expect(seen.ids).toEqual(logged.map((row) => row.id));
    seen.stop();
  });
});
