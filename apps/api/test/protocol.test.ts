/**
 * Protocol abuse over real sockets, where `app.inject` cannot go: broken and hostile bodies,
 * wrong content types, oversized bodies and headers, clients too slow to finish a request, and
 * a crowd of connections from one address. Each gets a clear 4xx or a closed connection; the
 * server never crashes or stalls, and a normal request is answered afterwards.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from './helpers';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1_200;
const IDLE_TIMEOUT_MS = 3_000;
/** Node checks those deadlines periodically, not to the millisecond; and the machine is shared. */
const SLACK_MS = 2_000;

interface RawReply {
  status: number;
  /** The whole response as text (headers and body). */
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
  body: any;
  /** The server closed the connection (after answering, or without a word). */
  closed: boolean;
  ms: number;
}

/**
 * Opens a connection, lets `write` drive it, and collects what comes back until the server
 * closes it or `waitMs` passes. Bytes are sent exactly as given: nothing is fixed up.
 */
function exchange(port: number, write: (socket: Socket) => unknown, waitMs = 5_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const sent = rest.join('\r\n\r\n');
      // tRPC's own adapter (FAST_PATHS=false) streams its answers in chunks.
      const rawBody = /^transfer-encoding:\s*chunked\s*$/im.test(head) ? dechunked(sent) : sent;
      let body: unknown = rawBody;
      try {
        body = JSON.parse(rawBody);
      } catch {
        // Not JSON: kept as text.
      }
      resolve({ status, text, body, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? finish(true) : reject(error)));
    socket.once('connect', () => void Promise.resolve(write(socket)).catch(reject));
  });
}

/** The body of a chunked answer; what arrived of it, if the connection closed early. */
function dechunked(text: string): string {
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, lineEnd), 16);
    if (lineEnd === -1 || !(size > 0)) return body;
    body += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** A complete request with Content-Length, written at once. */
function request(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer; close?: boolean } = {}) {
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  const headers: Record<string, string> = {
    host: 'localhost',
    connection: options.close === false ? 'keep-alive' : 'close',
    ...(body ? { 'content-length': String(body.length) } : {}),
    ...options.headers,
  };
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  return (socket: Socket) => {
    socket.write(head);
    if (body) socket.write(body);
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('protocol abuse', () => {
  let t: TestApp;
  let port: number;
  let token: string;
  const json = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}`, ...extra });

  beforeAll(async () => {
    t = await createTestApp({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      BODY_LIMIT_BYTES: '65536',
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
    token = (await signUp(t, 'protocol_user')).accessToken;
  });
  afterAll(() => t?.close());

  /** The server still does real work for a well-behaved client. */
  async function stillServes() {
    const reply = await exchange(port, request('POST', '/api/tasks', { headers: json(), body: JSON.stringify({ title: 'still here' }) }));
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ title: 'still here', version: 1 });
  }

  describe('bodies that are not what they claim', () => {
    it.each([
      ['truncated JSON', '{"title": "half'],
      ['not JSON at all', 'title=hello'],
      ['JSON with a trailing comma', '{"title": "x",}'],
      ['an empty body', ''],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ])('%s is 400 with a typed error (REST and tRPC)', async (_name, body) => {
      const rest = await exchange(port, request('POST', '/api/tasks', { headers: json(), body }));
      expect(rest.status).toBe(400);
      expect(rest.body).toMatchObject({ code: 'BAD_REQUEST', message: expect.any(String) });
      const trpc = await exchange(port, request('POST', '/trpc/tasks.create', { headers: json(), body }));
      expect(trpc.status).toBe(400);
      expect(trpc.body).toMatchObject({ error: { data: { code: 'BAD_REQUEST', httpStatus: 400 } } });
    });

    it('a prototype-poisoning body is refused, not merged', async () => {
      const body = '{"title": "poison", "__proto__": {"isAdmin": true}, "constructor": {"prototype": {"polluted": true}}}';
      const rest = await exchange(port, request('POST', '/api/tasks', { headers: json(), body }));
      expect(rest.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('JSON nested thirty thousand deep is 400, not a stack overflow', async () => {
      const depth = 30_000;
      const body = `{"title": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const rest = await exchange(port, request('POST', '/api/tasks', { headers: json(), body }));
      expect(rest.status).toBe(400);
      const trpc = await exchange(port, request('POST', '/trpc/tasks.create', { headers: json(), body }));
      expect(trpc.status).toBe(400);
      await stillServes();
    });

    it.each([
      ['text/plain', 'hello'],
      ['application/xml', '<task><title>x</title></task>'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--x--\r\n'],
      ['application/x-www-form-urlencoded', 'title=x'],
    ])('%s where JSON is expected is 415 with a typed error', async (type, body) => {
      const rest = await exchange(port, request('POST', '/api/tasks', { headers: json({ 'content-type': type }), body }));
      expect(rest.status).toBe(415);
      expect(rest.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      const trpc = await exchange(port, request('POST', '/trpc/tasks.create', { headers: json({ 'content-type': type }), body }));
      // With the stock libraries too: tRPC's multipart reading is left out, no procedure takes FormData.
      expect(trpc.status).toBe(415);
    });

    it('a body without a content type is refused, not guessed', async () => {
      const rest = await exchange(port, request('POST', '/api/tasks', { headers: { authorization: `Bearer ${token}` }, body: '{"title":"x"}' }));
      expect([400, 415]).toContain(rest.status);
      expect(rest.body).toMatchObject({ code: expect.stringMatching(/^(BAD_REQUEST|UNSUPPORTED_MEDIA_TYPE)$/) });
    });
  });

  describe('sizes', () => {
    it('a body over the limit is 413, declared or streamed in chunks', async () => {
      const big = JSON.stringify({ title: 'x', description: 'y'.repeat(100_000) });
      const declared = await exchange(port, request('POST', '/api/tasks', { headers: json(), body: big }));
      expect(declared.status).toBe(413);
      expect(declared.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

      const chunked = await exchange(port, (socket) => {
        socket.write(
          `POST /trpc/tasks.create HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ntransfer-encoding: chunked\r\n\r\n`,
        );
        for (let i = 0; i < 20; i++) socket.write(`2000\r\n${'z'.repeat(0x2000)}\r\n`);
        socket.write('0\r\n\r\n');
      });
      expect(chunked.status).toBe(413);
      await stillServes();
    });

    it('Expect: 100-continue with a declared length over the limit gets the 413, never 100 Continue', async () => {
      for (const path of ['/api/tasks', '/trpc/tasks.create']) {
        const reply = await exchange(port, (socket) => {
          // The headers only: a client that asked waits for the answer before sending the body.
          socket.write(
            `POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: 1000000\r\nexpect: 100-continue\r\n\r\n`,
          );
        });
        expect(reply.text, path).not.toMatch(/^HTTP\/1\.1 100/);
        expect(reply.status, path).toBe(413);
        expect(JSON.stringify(reply.body), path).toMatch(/PAYLOAD_TOO_LARGE/);
      }
      await stillServes();
    });

    it('Expect: 100-continue within the limit continues, and the request is answered', async () => {
      const body = JSON.stringify({ title: 'after continue' });
      const reply = await exchange(port, (socket) => {
        socket.write(
          `POST /api/tasks HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n`,
        );
        socket.once('data', () => socket.write(body));
      });
      expect(reply.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201/);
    });

    it('the sign-in form has its own small limit', async () => {
      const form = `username=a&password=${'p'.repeat(40_000)}`;
      const reply = await exchange(port, request('POST', '/api/auth/login', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }));
      expect(reply.status).toBe(413);
    });

    it('headers over the limit are 431 and the connection is closed', async () => {
      const reply = await exchange(port, request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${token}`, 'x-filler': 'f'.repeat(64 * 1024) } }));
      expect(reply.status).toBe(431);
      expect(reply.closed).toBe(true);
      // A problem document with a reason, as every other refusal is.
      expect(reply.text).toMatch(/^content-type: application\/problem\+json/im);
      expect(reply.body).toMatchObject({ status: 431, title: 'Request Header Fields Too Large', reason: 'MALFORMED_REQUEST', data: { httpStatus: 431 } });
      const manyHeaders = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`x-h${i}`, 'v'.repeat(10)]));
      const many = await exchange(port, request('GET', '/healthz', { headers: manyHeaders }));
      expect(many.status).toBe(431);
    });

    it('a URL longer than the header limit is refused', async () => {
      const reply = await exchange(port, request('GET', `/api/tasks?search=${'s'.repeat(70_000)}`, { headers: { authorization: `Bearer ${token}` } }));
      expect([414, 431]).toContain(reply.status);
      await stillServes();
    });
  });

  describe('framing', () => {
    it('both Content-Length and Transfer-Encoding is 400 and the connection is closed', async () => {
      const reply = await exchange(port, (socket) =>
        socket.write(
          'POST /api/tasks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n',
        ),
      );
      expect(reply.status).toBe(400);
      expect(reply.closed).toBe(true);
      // The smuggled second request was never answered.
      expect(reply.text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    });

    it('garbage instead of a request line is 400 and the connection is closed', async () => {
      const reply = await exchange(port, (socket) => socket.write('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n'));
      expect(reply.status).toBe(400);
      expect(reply.closed).toBe(true);
      expect(reply.body).toMatchObject({ status: 400, reason: 'MALFORMED_REQUEST', detail: 'The request could not be read as HTTP' });
    });

    it('a body shorter than its Content-Length waits for the rest only until the request timeout', async () => {
      const reply = await exchange(
        port,
        (socket) => {
          socket.write(
            `POST /api/tasks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: 1000\r\n\r\n{"title":`,
          );
        },
        REQUEST_TIMEOUT_MS + SLACK_MS + 5_000,
      );
      expect(reply.closed).toBe(true);
      expect(reply.status).toBe(408);
      expect(reply.ms).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
    });
  });

  describe('slow clients', () => {
    it('headers sent a byte at a time are cut off at the headers timeout', async () => {
      const line = `GET /api/auth/me HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${token}\r\nx-slow: ${'s'.repeat(200)}\r\n\r\n`;
      let sent = 0;
      const reply = await exchange(
        port,
        async (socket) => {
          for (const char of line) {
            if (socket.destroyed) return;
            socket.write(char);
            sent++;
            await sleep(20);
          }
        },
        HEADERS_TIMEOUT_MS + SLACK_MS + 5_000,
      );
      expect(reply.closed).toBe(true);
      expect(sent).toBeLessThan(line.length);
      expect(reply.status).toBe(408);
      expect(reply.body).toMatchObject({ status: 408, detail: 'The request did not arrive in time' });
      expect(reply.ms).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    });

    it('a body sent a byte at a time is cut off at the request timeout', async () => {
      const body = JSON.stringify({ title: 'slow', description: 'd'.repeat(300) });
      const reply = await exchange(
        port,
        async (socket) => {
          socket.write(
            `POST /api/tasks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${body.length}\r\n\r\n`,
          );
          for (const char of body) {
            if (socket.destroyed) return;
            socket.write(char);
            await sleep(20);
          }
        },
        REQUEST_TIMEOUT_MS + SLACK_MS + 5_000,
      );
      expect(reply.closed).toBe(true);
      expect(reply.status).toBe(408);
      expect(reply.ms).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
      // Nothing half-received was acted on.
      const stored = await t.database.db.selectFrom('tasks').select('id').where('title', '=', 'slow').execute();
      expect(stored).toEqual([]);
    });

    it('a connection that never sends anything is closed', async () => {
      const reply = await exchange(port, () => {}, HEADERS_TIMEOUT_MS + SLACK_MS + 5_000);
      expect(reply.closed).toBe(true);
      expect(reply.status).toBe(408);
      expect(reply.ms).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    });
  });
});

/**
 * A crowd on a server of its own, with timeouts long enough that a busy (shared, loaded) machine
 * answering 150 requests at once is never mistaken for a slow client.
 */
describe('protocol abuse: a crowd from one address', () => {
  const CROWD_HEADERS_TIMEOUT_MS = 2_000;
  /** How often the server sweeps for connections past their limit (app.ts: at most a second). */
  const CROWD_SWEEP_MS = Math.min(1_000, CROWD_HEADERS_TIMEOUT_MS);
  let t: TestApp;
  let port: number;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp({ HTTP_HEADERS_TIMEOUT_MS: String(CROWD_HEADERS_TIMEOUT_MS), HTTP_REQUEST_TIMEOUT_MS: '30000' });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
    token = (await signUp(t, 'crowd_user')).accessToken;
  });
  afterAll(() => t?.close());

  it('hundreds of connections at once: each is answered or closed, and the server carries on', async () => {
    const stillServes = async () => {
      const reply = await exchange(port, request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${token}` } }));
      expect(reply.status).toBe(200);
    };
    const idle = Array.from({ length: 150 }, () => exchange(port, () => {}, CROWD_HEADERS_TIMEOUT_MS + SLACK_MS + 5_000));
    const busy = Array.from({ length: 150 }, (_, i) =>
      exchange(port, request('GET', i % 2 === 0 ? '/api/settings/public' : '/api/auth/me', { headers: { authorization: `Bearer ${token}` } }), 20_000),
    );
    const answered = await Promise.all(busy);
    expect(answered.filter((reply) => reply.status !== 200).map((reply) => reply.text.slice(0, 200))).toEqual([]);
    await stillServes();
    const idleReplies = await Promise.all(idle);
    expect(idleReplies.every((reply) => reply.closed)).toBe(true);
    // The last of 150 is closed by the sweep after its limit, which then answers 150 at once.
    expect(Math.max(...idleReplies.map((reply) => reply.ms))).toBeLessThan(CROWD_HEADERS_TIMEOUT_MS + CROWD_SWEEP_MS + SLACK_MS);
    await stillServes();
  });
});

describe('protocol abuse: the request budget of one address', () => {
  // Long enough that the whole burst lands in one window even on a loaded machine.
  const WINDOW_MS = 6_000;
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_MAX: '50', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t?.close());

  it('a burst over the budget gets 429 with Retry-After, and the address is served again after the window', async () => {
    const burstStarted = Date.now();
    const replies = await Promise.all(Array.from({ length: 120 }, () => exchange(port, request('GET', '/api/settings/public'), 20_000)));
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(50);
    expect(statuses.filter((status) => status === 429)).toHaveLength(70);
    const limited = replies.find((reply) => reply.status === 429) as RawReply;
    expect(limited.body).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(limited.text).toMatch(/\r\nretry-after: \d+\r\n/i);
    // Health checks are not counted: a load balancer keeps seeing this instance as up.
    expect((await exchange(port, request('GET', '/healthz'))).status).toBe(200);
    await sleep(Math.max(0, burstStarted + WINDOW_MS + 300 - Date.now()));
    expect((await exchange(port, request('GET', '/api/settings/public'))).status).toBe(200);
  });
});
