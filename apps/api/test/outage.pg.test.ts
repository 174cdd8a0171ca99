/**
 * Database outages under load. While a few clients create, update and list tasks and ask who
 * they are, the API loses its database: first the server ends every session of the API and
 * refuses new ones for a few seconds; then the network between them goes silent. Only this
 * test's database and this process's connections are touched, never a parallel test's. The API
 * must answer 503 quickly with a typed reason, log each refusal, report itself not ready, stay up,
 * come back on its own within two seconds of the database, and the database must hold exactly
 * what was answered. An idle server losing every connection says so once, not once per
 * connection, and once when it is back.
 */
import { createTestDatabase, type TestDatabase } from '@stm/db/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, signUpOverHttp, sleep, within } from './load';
import { type ServerProcess, startServer } from './processes';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';
import { Ledger, ledgerProblems, type Request, runWorker } from './workload';

const CONNECT_TIMEOUT_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 2_000;
/** A loaded, shared machine's slack on top of the timeouts that bound a refusal. */
const SLACK_MS = 1_500;
const OUTAGE_MS = 3_000;
const RECOVERY_MS = 2_000;
const WORKERS = 4;

/** The server's log lines with the message `msg` among what it wrote to stdout (`chunks`, as they came), parsed. */
function loggedWith(chunks: string[], msg: string): unknown[] {
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.includes(`"msg":${JSON.stringify(msg)}`))
    .map((line) => JSON.parse(line) as unknown);
}

describe('the API through database outages', () => {
  const template = inject('dbTemplate');
  let database: TestDatabase;
  let databaseName: string;
  let admin: pg.Client;
  let proxy: TcpProxy;
  let server: ServerProcess;

  beforeAll(async () => {
    if (template.driver !== 'postgres') throw new Error('needs PostgreSQL');
    database = await createTestDatabase(template);
    const url = new URL(database.url as string);
    databaseName = url.pathname.slice(1);
    admin = new pg.Client({ connectionString: template.adminUrl, application_name: 'stm-outage-test' });
    await admin.connect();
    // The API reaches its database through a proxy of its own, so its network can be cut alone.
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    server = await startServer({
      DATABASE_URL: url.toString(),
      DB_POOL_MAX: '4',
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
    });
  });

  afterAll(async () => {
    await admin?.query(`alter database ${databaseName} with allow_connections true`).catch(() => {});
    await server?.stop();
    await proxy?.close();
    await admin?.end();
    await database?.close();
  });

  // First: the server has logged no connection error yet, so nothing holds this test's first line back.
  it('an idle server whose connections are all cut says so in one line, not one per connection and retry, and one when it is back', async () => {
    const token = await signUpOverHttp(server.url, 'idle_cut');
    // Several pooled connections open, then idle.
    await Promise.all(Array.from({ length: 8 }, () => call(server.url, 'GET', '/api/tasks', { token })));
    const lines: string[] = [];
    const collect = (chunk: Buffer) => lines.push(chunk.toString());
    server.child.stdout?.on('data', collect);
    try {
      // Every session of the API ends, its listener's too, and new ones are refused for a while:
      // each idle connection fails at once, and the listener again at each retry.
      await admin.query(`alter database ${databaseName} with allow_connections false`);
      const { rows } = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'stm-api%'`, [
        databaseName,
      ]);
      expect(rows.length).toBeGreaterThanOrEqual(3);
      await sleep(3_500);
      await admin.query(`alter database ${databaseName} with allow_connections true`);
      // Once the database takes connections again (the listener's next retry), one line says so.
      await expect.poll(() => loggedWith(lines, 'database reachable again').length, { timeout: 5_000 }).toBeGreaterThan(0);
      // A database that keeps cutting connections (here: once more, within ten seconds of the
      // warning) adds no line: its error waits for the next warning, so it needs no "back" either.
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'stm-api%'`, [databaseName]);
      await sleep(2_500);
    } finally {
      await admin.query(`alter database ${databaseName} with allow_connections true`);
      server.child.stdout?.off('data', collect);
    }
    const errors = loggedWith(lines, 'database connection error');
    // The next line, ten seconds on at the earliest, would say how many were left out (`leftOut`).
    expect(errors).toEqual([expect.objectContaining({ level: 40, err: expect.objectContaining({ code: '57P01' }) })]);
    const back = loggedWith(lines, 'database reachable again') as { level: number; sinceFirstErrorMs: number }[];
    expect(back).toEqual([expect.objectContaining({ level: 40 })]);
    expect(back[0]?.sinceFirstErrorMs).toBeGreaterThanOrEqual(3_000);
    expect((await call(server.url, 'GET', '/api/tasks', { token })).status).toBe(200);
  });

  /**
   * Runs the workload, causes the outage, ends it, and checks everything the clients saw and
   * everything stored. `failFastMs` is the longest any request may take while the database is away.
   */
  async function throughOutage(label: string, outage: { begin(): void | Promise<void>; end(): void | Promise<void>; failFastMs: number }) {
    const logged: string[] = [];
    const collectLog = (chunk: Buffer) => logged.push(chunk.toString());
    server.child.stdout?.on('data', collectLog);
    const usernames = Array.from({ length: WORKERS }, (_, i) => `${label}_${i}`);
    const tokens = await Promise.all(usernames.map((username) => signUpOverHttp(server.url, username)));
    const ledger = new Ledger();
    const requests: Request[] = [];
    let stop = false;
    const workers = tokens.map((token, i) =>
      runWorker({ baseUrl: server.url, token, name: usernames[i] as string, ledger, requests, done: () => stop, maxOps: 20_000 }),
    );

    await sleep(1_500);
    const outageStartedAt = Date.now();
    await outage.begin();

    // While it is away: not ready, quickly, and the process still answers.
    await sleep(500);
    const readiness = await call(server.url, 'GET', '/readyz', { timeoutMs: 10_000 });
    expect(readiness.status).toBe(503);
    expect(readiness.body).toMatchObject({ status: 'unavailable', checks: { database: 'down' } });
    expect(readiness.ms).toBeLessThan(outage.failFastMs);
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
    await sleep(OUTAGE_MS - (Date.now() - outageStartedAt));

    await outage.end();
    const restoredAt = Date.now();
    const token = tokens[0] as string;
    const recoveredInMs = await within(RECOVERY_MS + 3_000, async () => {
      const [me, ready] = await Promise.all([
        call(server.url, 'GET', '/api/auth/me', { token, timeoutMs: 10_000 }),
        call(server.url, 'GET', '/readyz', { timeoutMs: 10_000 }),
      ]);
      return me.status === 200 && ready.status === 200;
    });
    expect(recoveredInMs).toBeLessThan(RECOVERY_MS);

    await sleep(restoredAt + RECOVERY_MS + 1_500 - Date.now());
    stop = true;
    await Promise.all(workers);

    expect(server.child.exitCode, server.output()).toBeNull();
    const before = requests.filter((r) => r.startedAt + r.ms < outageStartedAt);
    const during = requests.filter((r) => r.startedAt + r.ms >= outageStartedAt && r.startedAt < restoredAt + RECOVERY_MS);
    const after = requests.filter((r) => r.startedAt >= restoredAt + RECOVERY_MS);
    const describe = (r: Request) => `${r.op} ${r.status} in ${r.ms} ms ${r.failure ?? JSON.stringify(r.body)}`;

    expect(before.length).toBeGreaterThan(20);
    expect(before.filter((r) => r.status < 200 || r.status >= 300).map(describe)).toEqual([]);

    // Every request of the outage got an answer, fast: a success, or 503 with a reason and Retry-After.
    const refused = during.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(WORKERS);
    expect(during.filter((r) => !((r.status >= 200 && r.status < 300) || r.status === 503)).map(describe)).toEqual([]);
    expect(during.filter((r) => r.ms >= outage.failFastMs).map(describe)).toEqual([]);
    for (const r of refused) {
      expect(r.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', data: { reason: 'DATABASE_UNAVAILABLE' } });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    // And the log says so, a warning for each with its reason and the database's error.
    const refusalsLogged = () => loggedWith(logged, 'refused: unavailable');
    await expect.poll(() => refusalsLogged().length, { timeout: 5_000 }).toBeGreaterThanOrEqual(refused.length);
    server.child.stdout?.off('data', collectLog);
    for (const entry of refusalsLogged()) {
      expect(entry).toMatchObject({ level: 40, reason: 'DATABASE_UNAVAILABLE', err: { message: expect.any(String) } });
    }

    expect(after.length).toBeGreaterThan(20);
    expect(after.filter((r) => r.status < 200 || r.status >= 300).map(describe)).toEqual([]);

    expect(await ledgerProblems(database.db, usernames, ledger)).toEqual([]);
    expect(server.output()).not.toMatch(/uncaught|unhandled rejection|"statusCode":500/i);
    return { refused };
  }

  it('the database ends every session and refuses connections: 503 at once, then back within 2 s', async () => {
    const { refused } = await throughOutage('ended', {
      async begin() {
        await admin.query(`alter database ${databaseName} with allow_connections false`);
        const { rows } = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'stm-api'`, [
          databaseName,
        ]);
        expect(rows.length).toBeGreaterThan(0);
      },
      async end() {
        await admin.query(`alter database ${databaseName} with allow_connections true`);
      },
      // The database answers every attempt at once; only waiting for a pooled connection takes time.
      failFastMs: CONNECT_TIMEOUT_MS + SLACK_MS,
    });
    expect(new Set(refused.map((r) => r.op))).toEqual(new Set(['create', 'update', 'list', 'me']));
  });

  it('the network goes silent: 503 within the timeouts, never a hang, then back within 2 s', async () => {
    await throughOutage('silent', {
      begin() {
        proxy.partition();
      },
      end() {
        proxy.heal();
      },
      // A query caught in the partition gives up a little after the statement timeout would have.
      failFastMs: CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + 1_000 + SLACK_MS,
    });
  });
});
