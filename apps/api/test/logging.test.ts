import { chmodSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { BusyError } from '@stm/auth';
import { sql } from '@stm/db';
import { createTestDatabase } from '@stm/db/testing';
import { describe, expect, inject, it } from 'vitest';
import { createTestApp, datedFiles, readLog, rest, signUpAdmin, stockLibraries, testFolder, type TestApp, trpc } from './helpers';

const QUERY_SECRET = 'eyJxdWVyeS1zZWNyZXQiOnRydWV9.c2VjcmV0LWluLXF1ZXJ5';

describe('the log file', () => {
  it('records one line per request with its id, status and duration, and never a secret', async () => {
    const logDir = testFolder('logs');
    const t = await createTestApp({ LOG_LEVEL: 'info', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' });
    const password = 'Sup3r-Secret-Passphrase-for-logs';
    const newPassword = 'An0ther-Secret-Passphrase-for-logs';
    const resetPassword = 'Th1rd-Secret-Passphrase-for-logs';
    let accessToken = '';
    let refreshToken = '';
    const cookieSecrets: string[] = [];
    let resetToken = '';
    try {
      await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'log_user', password } });
      const login = (await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'log_user', password } })).json();
      accessToken = login.access_token;
      refreshToken = login.refresh_token;
      await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'log_user', password: `${password}-wrong` } });
      await rest(t.app, 'GET', '/api/auth/me', { token: accessToken, headers: { 'x-request-id': 'trace-me-123' } });
      await trpc(t.app, 'query', 'auth.me', undefined, { token: accessToken });
      // A secret in a query string (a client's mistake) stays out of the log, even on a request
      // with a malformed Host header.
      // A malformed Host fails tRPC's own adapter's URL parse (FAST_PATHS=false), a difference of the library.
      await t.app.inject({ method: 'GET', url: `/trpc/auth.me?input=%7B%7D&access_token=${QUERY_SECRET}`, headers: stockLibraries() ? {} : { host: 'a b' } });
      await t.app.inject({ method: 'GET', url: `/api/auth/me?access_token=${QUERY_SECRET}` });
      await rest(t.app, 'POST', '/api/auth/change-password', { token: accessToken, body: { currentPassword: password, newPassword } });
      await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
      const cookieLogin = await trpc(t.app, 'mutation', 'auth.login', { username: 'log_user', password: newPassword, refresh_token_delivery: 'cookie' });
      const cookies = new Map(([cookieLogin.headers['set-cookie']].flat() as string[]).map((cookie) => cookie.split(';')[0]!.split('=') as [string, string]));
      cookieSecrets.push(cookies.get('stm_refresh')!, cookies.get('stm_csrf')!);
      const cookieRefresh = await trpc(
        t.app,
        'mutation',
        'auth.refresh',
        {},
        {
          headers: { cookie: `stm_refresh=${cookies.get('stm_refresh')}; stm_csrf=${cookies.get('stm_csrf')}`, 'x-csrf-token': cookies.get('stm_csrf')! },
        },
      );
      expect(cookieRefresh.statusCode).toBe(200);
      cookieSecrets.push(String(cookieRefresh.headers['set-cookie']).match(/stm_refresh=([^;]+)/)![1]!);
      const admin = await signUpAdmin(t, 'log_admin');
      const me = (await rest(t.app, 'GET', '/api/auth/me', { token: accessToken })).json();
      resetToken = (await rest(t.app, 'POST', `/api/admin/users/${me.id}/reset-link`, { token: admin.accessToken, body: {} })).json().token;
      expect((await rest(t.app, 'POST', '/api/auth/reset-password', { body: { token: resetToken, newPassword: resetPassword } })).statusCode).toBe(200);
    } finally {
      await t.close();
    }

    // `current.log` is a symlink to today's file; read the dated files only.
    expect(readdirSync(logDir)).toContain('current.log');
    expect(datedFiles(logDir).length).toBeGreaterThan(0);
    const { text, entries } = readLog(logDir);
    const secrets = [
      password,
      newPassword,
      resetPassword,
      accessToken,
      refreshToken,
      accessToken.split('.')[2]!,
      ...cookieSecrets,
      resetToken,
      QUERY_SECRET,
      'access_token=',
    ];
    expect(cookieSecrets).toHaveLength(3);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/Bearer /);

    const requests = entries.filter((entry) => entry.msg === 'request');
    expect(requests).toHaveLength(14);
    for (const entry of requests) {
      expect(entry).toMatchObject({ requestId: expect.any(String), statusCode: expect.any(Number), durationMs: expect.any(Number) });
      expect(entry.url).not.toContain('?');
    }
    expect(requests.find((entry) => entry.requestId === 'trace-me-123')).toMatchObject({ url: '/api/auth/me', statusCode: 200, userId: expect.any(Number) });
    expect(requests.filter((entry) => entry.statusCode === 401)).toHaveLength(3);
    expect(requests.filter((entry) => (entry.statusCode ?? 0) >= 500)).toHaveLength(0);
    expect(requests.filter((entry) => entry.url === '/api/auth/me' || entry.url === '/trpc/auth.me')).toHaveLength(5);
  });
});

describe('log files', () => {
  const modeOf = (file: string) => statSync(file).mode & 0o777;

  it("are readable by the server's account only (0600), in a folder of its own (0700), even one left open before", async () => {
    const logDir = path.join(testFolder('logs'), 'logs');
    const environment = { LOG_LEVEL: 'info', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' };
    const first = await createTestApp(environment);
    await first.app.inject({ method: 'GET', url: '/healthz' });
    await first.close();
    const [file] = datedFiles(logDir);
    expect(file).toBeDefined();
    expect(modeOf(path.join(logDir, file!))).toBe(0o600);
    expect(modeOf(logDir)).toBe(0o700);

    // Today's file, as an earlier release left it: written on again, and private again.
    chmodSync(path.join(logDir, file!), 0o644);
    const second = await createTestApp(environment);
    try {
      await second.app.inject({ method: 'GET', url: '/healthz' });
    } finally {
      await second.close();
    }
    expect(datedFiles(logDir)).toEqual([file]);
    expect(modeOf(path.join(logDir, file!))).toBe(0o600);
  });

  it('say which check refused an access token, which the answer does not', async () => {
    const logDir = testFolder('logs');
    const t = await createTestApp({ LOG_LEVEL: 'info', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' });
    try {
      const { accessToken } = await signUpAdmin(t, 'log_refusal');
      await trpc(t.app, 'mutation', 'auth.logout', undefined, { token: accessToken });
      const answers = [
        await rest(t.app, 'GET', '/api/auth/me', { token: 'not.a.jwt', headers: { 'x-request-id': 'malformed-1' } }),
        await trpc(t.app, 'query', 'auth.me', undefined, { token: accessToken, headers: { 'x-request-id': 'ended-1' } }),
      ];
      for (const answer of answers) expect(answer.body).not.toMatch(/malformed|session_ended|revoked/);
    } finally {
      await t.close();
    }
    const { entries } = readLog(logDir);
    const refusal = (requestId: string) => entries.find((entry) => entry.requestId === requestId && entry.msg === 'refused');
    expect(refusal('malformed-1')).toMatchObject({ reason: 'INVALID_TOKEN', tokenCheck: 'malformed' });
    expect(refusal('ended-1')).toMatchObject({ reason: 'INVALID_TOKEN', tokenCheck: 'session_ended' });
  });
});

describe('an app closed as soon as it has started', () => {
  it('lets its start-up housekeeping finish first: no failure logged, nothing written to a closed log', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const logDir = testFolder('logs');
    // One database for the five apps, as for a server restarted five times.
    const database = await createTestDatabase(inject('dbTemplate'));
    try {
      for (let round = 0; round < 5; round++) {
        const t = await createTestApp({ LOG_LEVEL: 'info', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' }, { database });
        // The first request makes the app ready, which starts a housekeeping round; close at once.
        await t.app.inject({ method: 'GET', url: '/healthz' });
        await t.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.off('unhandledRejection', onRejection);
      await database.close();
    }
    expect(rejections).toEqual([]);
    expect(readLog(logDir).text).not.toContain('housekeeping failed');
  });

  it.runIf(process.env.STM_TEST_DB === 'postgres')('closes only once a housekeeping round still running has ended', async () => {
    const database = await createTestDatabase(inject('dbTemplate'));
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = () => {};
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    // Another session holds the sessions table, so the round's first statement waits on it.
    const holder = database.db.transaction().execute(async (trx) => {
      await sql`lock table sessions in access exclusive mode`.execute(trx);
      locked();
      await released;
    });
    let t: TestApp | undefined;
    let closing: Promise<void> | undefined;
    try {
      await lockHeld;
      t = await createTestApp({}, { database });
      await t.app.inject({ method: 'GET', url: '/healthz' });
      const waiting = sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
      await expect.poll(async () => (await waiting.execute(database.db)).rows[0]?.n, { timeout: 10_000 }).toBe(1);
      closing = t.close();
      const halfASecondLater = new Promise((resolve) => setTimeout(() => resolve('still closing'), 500));
      expect(await Promise.race([closing.then(() => 'closed'), halfASecondLater])).toBe('still closing');
      release();
      await closing;
    } finally {
      release();
      await (closing ?? t?.close());
      await holder;
      await database.close();
    }
  });
});

describe("the request's own logger", () => {
  it('writes what a request logs with its request id, redacted, and leaves health probes out of the access log', async () => {
    const logDir = testFolder('logs');
    const t = await createTestApp({ LOG_LEVEL: 'info', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' });
    try {
      const { accessToken } = await signUpAdmin(t, 'log_failure');
      // An unexpected failure inside a procedure, carrying a secret the log must not show.
      t.app.services.tasks.list = () => Promise.reject(Object.assign(new Error('the disk is on fire'), { authorization: `Bearer ${accessToken}` }));
      const failed = await trpc(t.app, 'query', 'tasks.list', {}, { token: accessToken, headers: { 'x-request-id': 'trace-500' } });
      expect(failed.statusCode).toBe(500);
      expect((await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'probe-1' } })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
    const { text, entries } = readLog(logDir);
    const failure = entries.find((entry) => entry.msg === 'procedure failed');
    expect(failure).toMatchObject({ requestId: 'trace-500', path: 'tasks.list', err: { message: 'the disk is on fire', authorization: '[redacted]' } });
    expect(text).not.toMatch(/Bearer /);
    expect(entries.find((entry) => entry.msg === 'request' && entry.requestId === 'trace-500')).toMatchObject({ statusCode: 500 });
    expect(entries.some((entry) => entry.requestId === 'probe-1')).toBe(false);
  });

  it('warns of every refusal because the server could not serve, with its reason and cause, over tRPC and REST', async () => {
    const logDir = testFolder('logs');
    const t = await createTestApp({ LOG_LEVEL: 'warn', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' });
    try {
      const { accessToken } = await signUpAdmin(t, 'log_unavailable');
      // What pg throws for a connection the server ended (pg_terminate_backend, a restart).
      const ended = () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      t.app.services.tasks.list = () => Promise.reject(ended());
      const overTrpc = await trpc(t.app, 'query', 'tasks.list', {}, { token: accessToken, headers: { 'x-request-id': 'trace-503' } });
      expect(overTrpc.statusCode).toBe(503);
      expect(overTrpc.json().error.data).toMatchObject({ reason: 'DATABASE_UNAVAILABLE' });
      // In the file within a second or so, though far less than a buffer's worth was logged.
      const loggedRefusal = () => readLog(logDir).entries.some((entry) => entry.requestId === 'trace-503' && entry.msg === 'refused: unavailable');
      await expect.poll(loggedRefusal, { timeout: 5_000 }).toBe(true);
      const overRest = await rest(t.app, 'GET', '/api/tasks', { token: accessToken, headers: { 'x-request-id': 'rest-503' } });
      expect(overRest.statusCode).toBe(503);
      t.app.services.tasks.list = () => Promise.reject(new BusyError(3));
      const busy = await rest(t.app, 'GET', '/api/tasks', { token: accessToken, headers: { 'x-request-id': 'busy-503' } });
      expect(busy.json()).toMatchObject({ reason: 'SERVER_BUSY' });
    } finally {
      await t.close();
    }
    const { text, entries } = readLog(logDir);
    const refusals = entries.filter((entry) => entry.msg === 'refused: unavailable');
    expect(refusals).toEqual([
      expect.objectContaining({ level: 40, requestId: 'trace-503', reason: 'DATABASE_UNAVAILABLE', err: expect.objectContaining({ code: '57P01' }) }),
      expect.objectContaining({ level: 40, requestId: 'rest-503', reason: 'DATABASE_UNAVAILABLE', err: expect.objectContaining({ code: '57P01' }) }),
      expect.objectContaining({ level: 40, requestId: 'busy-503', reason: 'SERVER_BUSY', err: expect.objectContaining({ type: 'BusyError' }) }),
    ]);
    // A refusal, not a failure of the code: no 'procedure failed', only the access log's 5xx line
    // at error level; never the caller's token.
    expect(entries.filter((entry) => entry.level >= 50).map((entry) => [entry.msg, entry.statusCode])).toEqual([
      ['request', 503],
      ['request', 503],
      ['request', 503],
    ]);
    expect(text).not.toMatch(/Bearer /);
  });
});

describe('a client that leaves during a sign-in', () => {
  it('is no server error: nothing logged at error level, no stack', { timeout: 60_000 }, async () => {
    const logDir = testFolder('logs');
    // A real bcrypt cost, so the client is gone long before the password is checked.
    const t = await createTestApp({ LOG_LEVEL: 'info', LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false', BCRYPT_COST: '12' });
    try {
      const password = 'a long enough passphrase to leave';
      await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'leaving_user', password } });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (t.app.server.address() as { port: number }).port;
      const json = JSON.stringify({ username: 'leaving_user', password });
      const form = `username=leaving_user&password=${encodeURIComponent(password)}`;
      const calls: [string, string, string][] = [
        ['/trpc/auth.login', 'application/json', json],
        ['/trpc/auth.login?batch=1', 'application/json', JSON.stringify({ 0: JSON.parse(json) })],
        ['/api/auth/login', 'application/json', json],
        ['/auth/login', 'application/x-www-form-urlencoded', form],
      ];
      for (const [target, type, body] of calls) {
        const socket = connect(port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(`POST ${target} HTTP/1.1\r\nhost: localhost\r\ncontent-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        socket.destroy();
      }
      // Every sign-in ran to its end after its client left.
      await expect
        .poll(
          async () =>
            (
              await t.database.db
                .selectFrom('audit_events')
                .select(sql<number>`count(*)`.as('n'))
                .where('action', '=', 'auth.login_succeeded')
                .executeTakeFirstOrThrow()
            ).n,
          { timeout: 30_000 },
        )
        .toBe(calls.length);
    } finally {
      await t.close();
    }
    const { text, entries } = readLog(logDir);
    expect(entries.filter((entry) => entry.level >= 50)).toEqual([]);
    expect(text).not.toMatch(/AbortError|"stack"/);
  });
});
