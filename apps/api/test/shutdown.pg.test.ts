/**
 * Graceful shutdown under load: SIGTERM while slow requests (password hashing, queued one at a
 * time) are in flight. Every accepted request gets its real answer, new connections are refused
 * while they finish, idle keep-alive connections do not hold the process open, the pool closes,
 * and the process exits 0 within its shutdown timeout.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createTestDatabase, type TestDatabase } from '@stm/db/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PASSWORD } from './helpers';
import { sleep, within } from './load';
import { type ServerProcess, startServer } from './processes';

const SHUTDOWN_TIMEOUT_MS = 8_000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
  body: any;
  finishedAt: number;
}

/** One request over node:http, on the given agent's (keep-alive) connections. */
function send(agent: Agent, url: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(`${url}${path}`, { method, agent, headers: payload ? { 'content-type': 'application/json' } : {}, timeout: 15_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined, finishedAt: Date.now() }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('graceful shutdown under load', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let admin: pg.Client;

  beforeAll(async () => {
    const template = inject('dbTemplate');
    if (template.driver !== 'postgres') throw new Error('needs PostgreSQL');
    database = await createTestDatabase(template);
    admin = new pg.Client({ connectionString: template.adminUrl });
    await admin.connect();
    server = await startServer({
      DATABASE_URL: database.url as string,
      // Real hashing, one at a time: a handful of sign-ins and sign-ups takes a second or two.
      BCRYPT_COST: '11',
      BCRYPT_CONCURRENCY: '1',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await admin?.end();
    await database?.close();
  });

  it('finishes every accepted request, refuses new connections, and exits 0 with the pool closed', async () => {
    const port = Number(new URL(server.url).port);
    const agents = [new Agent({ keepAlive: true }), new Agent({ keepAlive: true })];
    const [idle, busy] = agents as [Agent, Agent];
    try {
      expect((await send(busy, server.url, 'POST', '/api/auth/register', { username: 'leaving', password: PASSWORD })).status).toBe(201);
      // A keep-alive connection left idle: it must not keep the process alive.
      expect((await send(idle, server.url, 'GET', '/healthz')).status).toBe(200);
      expect(Object.values(idle.freeSockets).flat()).toHaveLength(1);

      const exited = new Promise<{ code: number | null; at: number }>((resolve) => server.child.once('exit', (code) => resolve({ code, at: Date.now() })));
      const inFlight = [
        ...Array.from({ length: 3 }, () => send(busy, server.url, 'POST', '/api/auth/login', { username: 'leaving', password: PASSWORD })),
        ...Array.from({ length: 3 }, (_, i) => send(busy, server.url, 'POST', '/api/auth/register', { username: `late_${i}`, password: PASSWORD })),
      ];
      await sleep(300);
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');

      const refusedAfterMs = await within(2_000, () => refused(port), 20);
      const refusedAt = signalledAt + refusedAfterMs;
      const replies = await Promise.all(inFlight);
      const exit = await exited;

      // Refused while requests were still being answered: the drain, not an abrupt stop.
      const drained = replies.filter((reply) => reply.finishedAt > refusedAt);
      expect(drained.length).toBeGreaterThan(0);
      // Their answers tell the client the connection ends with them.
      for (const reply of drained) expect(reply.headers.connection).toBe('close');
      expect(replies.slice(0, 3).map((reply) => reply.status)).toEqual([200, 200, 200]);
      for (const reply of replies.slice(0, 3)) expect(reply.body.access_token).toEqual(expect.any(String));
      expect(replies.slice(3).map((reply) => reply.status)).toEqual([201, 201, 201]);

      expect(exit.code, server.output()).toBe(0);
      expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

      const users = await database.db.selectFrom('users').select('username').where('username', 'like', 'late_%').execute();
      expect(users.map((user) => user.username).sort()).toEqual(['late_0', 'late_1', 'late_2']);
      // The process closed its connections itself; none is left behind on the server.
      await within(2_000, async () => {
        const { rows } = await admin.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'stm-api'`, [
          new URL(database.url as string).pathname.slice(1),
        ]);
        return rows[0].n === 0;
      });
    } finally {
      for (const agent of agents) agent.destroy();
    }
  });
});
