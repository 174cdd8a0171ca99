/**
 * Subscriptions are written by the API's own stream writer (`fastpath/trpc-sse.ts`) rather than
 * tRPC's web-stream pipeline. Both serve the same database here, side by side: a stream opened on
 * either, with the same input and the same events, must be the same bytes and headers, so that
 * `httpSubscriptionLink` (and a tRPC upgrade) sees no difference.
 */
import { initTRPC, tracked } from '@trpc/server';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trpcRoutes } from '../src/fastpath/trpc-adapter';
import { createTestApp, signUp, type TestApp } from './helpers';

/** Reads a stream's raw text until `done` says it has enough, then hangs up. */
async function readStream(url: string, headers: Record<string, string>, done: (text: string) => boolean) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const deadline = setTimeout(() => controller.abort(), 5_000);
  try {
    while (!done(text)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      text += value;
    }
  } catch (error) {
    throw new Error(`stream read failed after ${JSON.stringify(text)}: ${String(error)}`);
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  const kept = ['content-type', 'cache-control', 'x-accel-buffering', 'vary'];
  return { status: response.status, headers: Object.fromEntries(kept.map((name) => [name, response.headers.get(name)])), text };
}

/** The same text with event ids and times made comparable across two reads of different events. */
const masked = (text: string) => text.replace(/"at":"[^"]+"/g, '"at":"…"');

describe('subscriptions written by the fast stream writer and by tRPC are the same bytes', () => {
  let fast: TestApp;
  let reference: TestApp;
  let fastUrl: string;
  let referenceUrl: string;
  let token: string;
  let projectId: number;

  beforeAll(async () => {
    fast = await createTestApp();
    reference = await createTestApp({}, { database: fast.database, referenceSubscriptions: true });
    fastUrl = await fast.app.listen({ host: '127.0.0.1', port: 0 });
    referenceUrl = await reference.app.listen({ host: '127.0.0.1', port: 0 });
    const owner = await signUp(fast, 'sse_owner');
    token = owner.accessToken;
    projectId = (await fast.caller(token).projects.create({ name: 'Frames', description: '', color: 'blue' })).id;
  });

  afterAll(async () => {
    await reference?.close();
    await fast?.close();
  });

  const streamUrl = (base: string, input: unknown) => `${base}/trpc/live.project?input=${encodeURIComponent(JSON.stringify(input))}`;

  it('a resumed stream: connected, the missed events with their ids, then ready events and a refusal', async () => {
    const tasks = fast.caller(token).tasks;
    const before = await fast.caller(token).live.projectEvents({ projectId, limit: 1 });
    await tasks.create({ projectId, title: 'one' });
    await tasks.create({ projectId, title: 'two "quoted"\nline' });
    const until = (text: string) => (text.match(/^id: /gm) ?? []).length >= 2;
    const input = { projectId, lastEventId: String(before.lastId) };
    const [a, b] = await Promise.all([
      readStream(streamUrl(fastUrl, input), { authorization: `Bearer ${token}` }, until),
      readStream(streamUrl(referenceUrl, input), { authorization: `Bearer ${token}` }, until),
    ]);
    expect(a.status).toBe(b.status);
    expect(a.headers).toEqual(b.headers);
    expect(a.text).toBe(b.text);
    expect(a.text).toMatch(/^event: connected\ndata: \{"reconnectAfterInactivityMs":40000\}\n\n\n/);
    expect(a.text).toContain('two \\"quoted\\"\\nline');
  });

  it('a resume id in the Last-Event-Id header, as an EventSource sends it', async () => {
    const start = await fast.caller(token).live.projectEvents({ projectId, limit: 1 });
    await fast.caller(token).tasks.create({ projectId, title: 'three' });
    const headers = { authorization: `Bearer ${token}`, 'last-event-id': String(start.lastId) };
    const until = (text: string) => text.includes('"three"');
    const [a, b] = await Promise.all([
      readStream(streamUrl(fastUrl, { projectId }), headers, until),
      readStream(streamUrl(referenceUrl, { projectId }), headers, until),
    ]);
    expect(masked(a.text)).toBe(masked(b.text));
  });

  it('a new stream says where the log stands', async () => {
    const until = (text: string) => text.includes('"ready"');
    const open = () =>
      Promise.all([
        readStream(streamUrl(fastUrl, { projectId }), { authorization: `Bearer ${token}` }, until),
        readStream(streamUrl(referenceUrl, { projectId }), { authorization: `Bearer ${token}` }, until),
      ]);
    // "Ready" names the newest event its instance has read. The reference instance hears of the
    // last test's write through the database a little later than the instance that made it, so
    // the two may name different events for a moment; a difference in the bytes would last.
    let [a, b] = await open();
    for (let attempt = 0; attempt < 20 && a.text !== b.text; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [a, b] = await open();
    }
    expect(a.text).toBe(b.text);
    expect(a.text).toMatch(/"type":"ready","id":[1-9]\d*\}/);
  });

  it('refusals: no token, a project one cannot see, input that is not JSON', async () => {
    const stranger = await signUp(fast, 'sse_stranger');
    const cases: [unknown, Record<string, string>][] = [
      [{ projectId }, {}],
      [{ projectId }, { authorization: `Bearer ${stranger.accessToken}` }],
      [{ projectId: 'x' }, { authorization: `Bearer ${token}` }],
    ];
    const untilEnd = (text: string) => text.includes('serialized-error');
    for (const [input, headers] of cases) {
      const [a, b] = await Promise.all([
        readStream(streamUrl(fastUrl, input), headers, untilEnd),
        readStream(streamUrl(referenceUrl, input), headers, untilEnd),
      ]);
      expect(a.status).toBe(b.status);
      expect(a.headers).toEqual(b.headers);
      expect(a.text).toBe(b.text);
      expect(a.text).toContain('event: serialized-error');
    }
    const broken = `${fastUrl}/trpc/live.project?input=%7Bnot-json`;
    const brokenReference = `${referenceUrl}/trpc/live.project?input=%7Bnot-json`;
    const [a, b] = await Promise.all([
      readStream(broken, { authorization: `Bearer ${token}` }, untilEnd),
      readStream(brokenReference, { authorization: `Bearer ${token}` }, untilEnd),
    ]);
    expect(a.status).toBe(b.status);
    expect(JSON.parse(a.text.split('data: ')[2]?.split('\n')[0] ?? '')).toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });
});

describe('pings, from the fast stream writer as from tRPC', () => {
  const PING_MS = 400;
  const VALUES = 30;
  const VALUE_EVERY_MS = 25;
  // A stream that sends a value every VALUE_EVERY_MS for a while, then nothing.
  const t = initTRPC.create({ sse: { ping: { enabled: true, intervalMs: PING_MS } } });
  const router = t.router({
    ticks: t.procedure.subscription(async function* ({ signal }) {
      for (let n = 1; n <= VALUES; n++) {
        yield tracked(String(n), { n });
        await new Promise((resolve) => setTimeout(resolve, VALUE_EVERY_MS));
      }
      await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
    }),
  });
  const servers: FastifyInstance[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    for (const referenceSubscriptions of [false, true]) {
      const app = Fastify();
      await app.register(trpcRoutes, {
        prefix: '/trpc',
        router,
        createContext: () => ({}),
        onError: () => {},
        responseMeta: () => ({}),
        maxBatchSize: 10,
        referenceSubscriptions,
      });
      servers.push(app);
      urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
    }
  });

  afterAll(async () => {
    for (const app of servers) await app.close();
  });

  it('come only after a quiet interval, not while values keep coming, and then every interval', async () => {
    const until = (text: string) => (text.match(/^event: ping$/gm) ?? []).length >= 2;
    const [fast, reference] = await Promise.all(urls.map((url) => readStream(`${url}/trpc/ticks`, {}, until)));
    for (const { text } of [fast!, reference!]) {
      const frames = text.split('\n\n\n').filter(Boolean);
      // The values are 25 ms apart, far less than the interval: none is followed by a ping.
      const firstPing = frames.findIndex((frame) => frame.startsWith('event: ping'));
      expect(firstPing, text).toBe(VALUES + 1);
      expect(frames.slice(firstPing, firstPing + 2)).toEqual(['event: ping\ndata: ', 'event: ping\ndata: ']);
    }
    expect(fast!.text).toBe(reference!.text);
  });
});
