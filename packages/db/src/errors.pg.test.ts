/**
 * Every way a real PostgreSQL connection fails is recognised as "unavailable" (the API answers
 * 503, not 500), and none of them takes the process down. The errors are produced for real: a
 * closed port, a silent peer, a missing database, a database refusing connections, a role over
 * its limit, a session ended by an administrator (mid-query and mid-transaction), a statement
 * timeout, a full pool, a query the server never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type DatabaseHandle, type PoolOptions } from './client';
import { isDatabaseUnavailable, isUniqueViolation } from './errors';
import type { Database } from './schema';
import { createTestDatabase, type TestDatabase, type TestTemplate, withDatabase } from './testing';

declare module 'vitest' {
  export interface ProvidedContext {
    dbTemplate: TestTemplate;
  }
}

const template = inject('dbTemplate');
const adminUrl = template.driver === 'postgres' ? template.adminUrl : '';
let database: TestDatabase;
let databaseName: string;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  database = await createTestDatabase(template);
  databaseName = new URL(database.url as string).pathname.slice(1);
});
afterAll(async () => {
  await Promise.all(handles.map((handle) => handle.close().catch(() => {})));
  await database.close();
});

async function handleFor(url: string, pool: PoolOptions = {}): Promise<DatabaseHandle> {
  const handle = await createDb({ databaseUrl: url, pool: { connectionTimeoutMillis: 2_000, ...pool }, applicationName: 'stm-errors-test' });
  handles.push(handle);
  return handle;
}

/** What the promise was rejected with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

async function admin<T extends pg.QueryResultRow = pg.QueryResultRow>(statement: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query<T>(statement, values);
  } finally {
    await client.end();
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

const select1 = (handle: DatabaseHandle) => sql`select 1`.execute(handle.db);
const backendPid = async (db: Kysely<Database>) => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]?.pid as number;

describe.runIf(template.driver === 'postgres')('database unavailability', () => {
  it('a port nobody listens on', async () => {
    const server = createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    const error = await failure(select1(await handleFor(`postgres://postgres@127.0.0.1:${port}/none`)));
    expect(error.code).toBe('ECONNREFUSED');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('a peer that accepts and never answers', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => void sockets.add(socket));
    const port = await listen(server);
    try {
      const started = Date.now();
      const error = await failure(select1(await handleFor(`postgres://postgres@127.0.0.1:${port}/none`, { connectionTimeoutMillis: 300 })));
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(isDatabaseUnavailable(error), error.message).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('a database that does not exist', async () => {
    const error = await failure(select1(await handleFor(withDatabase(adminUrl, `${databaseName}_missing`))));
    expect(error.code).toBe('3D000');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('a database that does not accept connections', async () => {
    await admin(`alter database ${databaseName} with allow_connections false`);
    try {
      const error = await failure(select1(await handleFor(database.url as string)));
      expect(error.code).toBe('55000');
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await admin(`alter database ${databaseName} with allow_connections true`);
    }
  });

  it('a role over its connection limit', async () => {
    const role = `${databaseName}_limited`;
    await admin(`create role ${role} login connection limit 0`);
    try {
      const url = new URL(database.url as string);
      url.username = role;
      const error = await failure(select1(await handleFor(url.toString())));
      expect(error.code).toBe('53300');
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await admin(`drop role ${role}`);
    }
  });

  it('a session ended by an administrator in the middle of a query; the next query reconnects', async () => {
    const handle = await handleFor(database.url as string, { max: 1 });
    const pid = await backendPid(handle.db);
    const sleeping = failure(sql`select pg_sleep(5)`.execute(handle.db));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await admin('select pg_terminate_backend($1)', [pid]);
    const error = await sleeping;
    expect(error.code).toBe('57P01');
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(await backendPid(handle.db)).not.toBe(pid);
  });

  it('a session ended between the statements of a transaction: an error, not a crash', async () => {
    const handle = await handleFor(database.url as string, { max: 1 });
    const error = await failure(
      handle.db.transaction().execute(async (trx) => {
        const pid = await backendPid(trx);
        await admin('select pg_terminate_backend($1)', [pid]);
        // The server's notice arrives while no query runs: the client must not take the process down.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await sql`select 1`.execute(trx);
      }),
    );
    expect(isDatabaseUnavailable(error), error.message).toBe(true);
    await expect(select1(handle)).resolves.toBeDefined();
  });

  it('a statement over the statement timeout', async () => {
    const handle = await handleFor(database.url as string, { statementTimeoutMillis: 200 });
    const error = await failure(sql`select pg_sleep(2)`.execute(handle.db));
    expect(error.code).toBe('57014');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('no free connection in the pool in time', async () => {
    const handle = await handleFor(database.url as string, { max: 1, connectionTimeoutMillis: 300 });
    const holding = sql`select pg_sleep(1)`.execute(handle.db);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const error = await failure(select1(handle));
    expect(isDatabaseUnavailable(error), error.message).toBe(true);
    await holding;
  });

  it('a query the server never answers in time: refused, and the connection is replaced', async () => {
    const handle = await handleFor(database.url as string, { max: 1, statementTimeoutMillis: 300 });
    let stuckPid = 0;
    const started = Date.now();
    const error = await failure(
      handle.db.connection().execute(async (connection) => {
        stuckPid = await backendPid(connection);
        // The server's own limit is lifted for this session, so only the client's can end the wait.
        await sql`set statement_timeout = 0`.execute(connection);
        await sql`select pg_sleep(3)`.execute(connection);
      }),
    );
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(error.message).toBe('Query read timeout');
    expect(isDatabaseUnavailable(error)).toBe(true);
    // The stuck connection is closed rather than handed to the next query, which is answered at once.
    const next = Date.now();
    expect(await backendPid(handle.db)).not.toBe(stuckPid);
    expect(Date.now() - next).toBeLessThan(1_000);
  });

  it('a pool closed on shutdown', async () => {
    const handle = await handleFor(database.url as string);
    await select1(handle);
    await handle.close();
    expect(isDatabaseUnavailable(await failure(select1(handle)))).toBe(true);
  });

  it('but not the errors of a healthy database', async () => {
    const error = await failure(sql`select * from no_such_table`.execute(database.db));
    expect(isDatabaseUnavailable(error)).toBe(false);
    await sql`insert into users (username, password_hash) values ('twice', 'x')`.execute(database.db);
    const duplicate = await failure(sql`insert into users (username, password_hash) values ('twice', 'x')`.execute(database.db));
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(isDatabaseUnavailable(duplicate)).toBe(false);
  });
});
