/**
 * The per-address limits hold however a request spells its target, over real sockets, where the
 * bytes of the request line are exactly what a client wrote: absolute-form targets (HTTP/1.1
 * lets a client send `POST http://host/trpc/auth.login`), dot segments, percent-encoded dots and
 * slashes, backslashes; and a tRPC batch costs one unit per call. Each client is a loopback
 * address of its own (127.0.0.x), so each test has budgets of its own.
 */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PASSWORD, signUp, type TestApp } from './helpers';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
  body: any;
}

/** One request on a fresh connection from `from`, its request line written exactly as given. */
function send(port: number, from: string, method: string, target: string, body?: unknown): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const sent = rest.join('\r\n\r\n');
      // tRPC's own adapter streams its answers (chunked); the fast one sends a length.
      const raw = headers['transfer-encoding'] === 'chunked' ? unchunked(sent) : sent;
      let parsed: unknown = raw;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // Not JSON: kept as text.
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: parsed });
    });
    const payload = body === undefined ? '' : JSON.stringify(body);
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${Buffer.byteLength(payload)}`];
    if (body !== undefined) lines.push('Content-Type: application/json');
    socket.write(`${lines.join('\r\n')}\r\n\r\n${payload}`);
  });
}

/** A body sent with chunked transfer coding, undone (RFC 9112 §7.1; no trailers here). */
function unchunked(text: string): string {
  let body = '';
  let rest = Buffer.from(text);
  for (;;) {
    const end = rest.indexOf('\r\n');
    const size = parseInt(rest.subarray(0, end).toString('latin1'), 16);
    if (end === -1 || !size) return body;
    body += rest.subarray(end + 2, end + 2 + size).toString('utf8');
    rest = rest.subarray(end + 2 + size + 2);
  }
}

const AUTH_MAX = 2;
const GLOBAL_MAX = 30;

let t: TestApp;
let port: number;
let origin: string;

beforeAll(async () => {
  t = await createTestApp({ AUTH_RATE_LIMIT_MAX: String(AUTH_MAX), RATE_LIMIT_MAX: String(GLOBAL_MAX) });
  await signUp(t, 'spelled');
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});
afterAll(() => t?.close());

/** Sign-ins, failed sign-ins and registrations the service has seen: each spelling that reached it adds one. */
async function signInsAndRegistrations(): Promise<number> {
  const row = await t.database.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('action', 'in', ['auth.login_succeeded', 'auth.login_failed', 'auth.login_locked', 'auth.registered'])
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

const login = { username: 'spelled', password: PASSWORD };
const wrongLogin = { username: 'spelled', password: 'not the password at all' };

describe('the auth budget, however the target is spelled', () => {
  it('once spent, refuses sign-in and registration by every spelling, over tRPC and REST, before they reach the service', async () => {
    const from = '127.0.0.21';
    expect((await send(port, from, 'POST', '/trpc/auth.login', wrongLogin)).status).toBe(401);
    expect((await send(port, from, 'POST', '/api/auth/login', wrongLogin)).status).toBe(401);
    const before = await signInsAndRegistrations();

    const register = (name: string) => ({ username: name, password: PASSWORD });
    // What each spelling gets: 429 where it names the procedure (it is that procedure, and limited as
    // it), 404 where the REST bridge refuses a path that would resolve to another.
    const spellings: [target: string, body: unknown, status: 429 | 404][] = [
      [`${origin}/trpc/auth.login`, login, 429],
      [`HTTP://127.0.0.1:${port}/trpc/auth.login`, login, 429],
      [`${origin}/trpc/auth.register`, register('spelled_abs'), 429],
      ['/trpc/auth%2Elogin', login, 429],
      ['/%74rpc/auth.login', login, 429],
      [`${origin}/api/auth/login`, login, 429],
      [`${origin}/api/auth/register`, register('spelled_rest_abs'), 429],
      ['/api/auth/LOGIN', login, 429],
      ['/api/auth/login/', login, 429],
      ['/api/auth/./login', login, 404],
      ['/api/x/../auth/login', login, 404],
      ['/api/auth/%2e/login', login, 404],
      ['/api/auth/%2E%2E/auth/login', login, 404],
      ['/api/./auth/login', login, 404],
      ['/api/auth\\login', login, 404],
      ['/api/auth%2flogin', login, 404],
      ['/api/auth%5clogin', login, 404],
      [`${origin}/api/x/../auth/login`, login, 404],
      ['/%61pi/auth/login', login, 404],
      ['/api/x/../auth/register', register('spelled_dots'), 404],
    ];
    for (const [target, body, status] of spellings) {
      const answer = await send(port, from, 'POST', target, body);
      expect(answer.status, target).toBe(status);
      if (status === 429) {
        expect(Number(answer.headers['retry-after']), target).toBeGreaterThanOrEqual(1);
        // The envelope of the protocol the target named.
        const code = target.includes('rpc/') ? answer.body.error.data.code : answer.body.code;
        expect(code, target).toBe('TOO_MANY_REQUESTS');
      }
    }
    expect(await signInsAndRegistrations()).toBe(before);
    const made = await t.database.db.selectFrom('users').select('username').where('username', 'like', 'spelled_%').execute();
    expect(made).toEqual([]);
  });

  it('charges each auth call of a batch, however the batch is addressed', async () => {
    const from = '127.0.0.22';
    const batch = await send(port, from, 'POST', `${origin}/trpc/auth.login,auth.login,auth.login?batch=1`, {
      0: wrongLogin,
      1: wrongLogin,
      2: login,
    });
    const codes = (batch.body as { error?: { data: { code: string } } }[]).map((item) => item.error?.data.code ?? 'OK');
    // Two calls fit the budget; the third is refused on its own, before it can sign in.
    expect(codes.sort()).toEqual(['TOO_MANY_REQUESTS', 'UNAUTHORIZED', 'UNAUTHORIZED']);
    expect((await send(port, from, 'POST', '/trpc/auth.login', login)).status).toBe(429);
    expect((await send(port, from, 'POST', '/api/auth/login', login)).status).toBe(429);
  });

  it('with budget left, serves the spellings that name a procedure and none that resolve to one', async () => {
    for (const [from, target] of [
      ['127.0.0.23', `${origin}/trpc/auth.login`],
      ['127.0.0.24', `${origin}/api/auth/login`],
    ] as const) {
      expect((await send(port, from, 'POST', target, login)).status, target).toBe(200);
    }
    const before = await signInsAndRegistrations();
    for (const target of ['/api/x/../auth/login', '/api/auth/%2e/login', '/api/auth\\login']) {
      expect((await send(port, '127.0.0.25', 'POST', target, login)).status, target).toBe(404);
    }
    expect(await signInsAndRegistrations()).toBe(before);
  });
});

describe('the general budget', () => {
  it('charges each call of a tRPC batch, absolute-form or not', async () => {
    const from = '127.0.0.31';
    // Fifteen calls (unauthenticated, so each is refused on its own): fifteen units.
    const fifteen = Array.from({ length: 15 }, () => 'auth.me').join(',');
    const first = await send(port, from, 'GET', `/trpc/${fifteen}?batch=1`);
    expect(first.body).toHaveLength(15);
    expect(first.headers['x-ratelimit-remaining']).toBe(String(GLOBAL_MAX - 15));
    const second = await send(port, from, 'GET', `${origin}/trpc/${fifteen}?batch=1`);
    expect(second.body).toHaveLength(15);
    expect(second.headers['x-ratelimit-remaining']).toBe('0');
    const limited = await send(port, from, 'GET', '/trpc/settings.public');
    expect(limited.status).toBe(429);
    expect(limited.body.error.data.code).toBe('TOO_MANY_REQUESTS');
    expect((await send(port, from, 'GET', `${origin}/api/settings/public`)).status).toBe(429);
  });

  it('counts absolute-form and dot-segment requests like any other', async () => {
    const from = '127.0.0.32';
    for (let i = 0; i < GLOBAL_MAX; i++) {
      const target = i % 3 === 0 ? `${origin}/api/settings/public` : i % 3 === 1 ? '/api/x/../settings/public' : `${origin}/trpc/settings.public`;
      const answer = await send(port, from, 'GET', target);
      expect(answer.status, target).not.toBe(429);
    }
    for (const target of [`${origin}/api/settings/public`, '/api/./settings/public', `${origin}/trpc/settings.public`]) {
      expect((await send(port, from, 'GET', target)).status, target).toBe(429);
    }
  });
});
