import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { type Dialect, Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { pgliteOptions, sharedParsers } from './pglite';
import { announcingDialect, CommitAnnouncements } from './commit-announcements';
import { observedDialect, type QueryObserver } from './observed-dialect';
import { namedStatements } from './fastpath/prepared';
import { ALL_DB_FAST_PATHS, compilingEachQuery, type DbFastPaths } from './fastpath/switch';
import { isProcessAlive } from './process';
import type { Database } from './schema';

export type DbDriver = 'postgres' | 'pglite';

export interface PoolOptions {
  /** Most connections the pool opens. */
  max?: number;
  /** How long to wait for a new connection before failing (ms). */
  connectionTimeoutMillis?: number;
  /** Server-side limit on any one statement (ms); keeps a stuck query from holding a request. */
  statementTimeoutMillis?: number;
  /** Idle connections are closed after this long (ms). */
  idleTimeoutMillis?: number;
}

export interface DbConfig {
  /** postgres:// URL. When absent the embedded PGlite database is used. */
  databaseUrl?: string | undefined;
  /** Folder of the embedded database; absent means in memory (tests). */
  dataDir?: string | undefined;
  /** Start the embedded database from a dumped data directory (test templates). */
  pgliteLoadDataDir?: Blob | undefined;
  /**
   * A `writePgliteTemplates` archive to create a new `dataDir` from, instead of running initdb (and,
   * from the migrated one, every migration). Used only when the folder has no database yet; a
   * missing file is no error.
   */
  pgliteTemplate?: string | undefined;
  /** The embedded database's `shared_buffers` (see `SHORT_LIVED_SHARED_BUFFERS`); unset, PostgreSQL's default. */
  pgliteSharedBuffers?: string | undefined;
  pool?: PoolOptions | undefined;
  applicationName?: string | undefined;
  /** Called for errors that happen outside any query, e.g. an idle connection cut by the server. */
  onBackgroundError?: ((error: Error) => void) | undefined;
  /**
   * Called each time a connection to the server opens (the pool's, the listener's): after
   * background errors, the sign that the database is reachable again.
   */
  onConnect?: (() => void) | undefined;
  /** Sees every statement as it runs (tracing); unset, statements go straight to the driver. */
  observeQuery?: QueryObserver | undefined;
  /** Which fast paths (`src/fastpath/`) run; unset, all of them. The app's FAST_PATHS decides. */
  fastPaths?: DbFastPaths | undefined;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  driver: DbDriver;
  /** True when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * What the engine needs done now and then and does not do itself: the embedded database runs
   * without autovacuum, so its dead rows, statistics and index pending lists wait for this.
   * Nothing to do on PostgreSQL, whose autovacuum does it.
   */
  maintain(): Promise<void>;
  /**
   * Calls `onMessage` with each notification on `channel` (NOTIFY, delivered at commit), over a
   * connection of its own that is opened again if it drops; `onMessage(null)` after each
   * (re)connect, as notifications sent meanwhile were lost. Resolves once listening.
   */
  listen(channel: string, onMessage: (payload: string | null) => void): Promise<{ close(): Promise<void> }>;
  /**
   * Who hears of change events after their transaction commits, instead of NOTIFY inside it (see
   * `appendChangeEvents`); set by the live hub when it fans out through Redis.
   */
  announcements: CommitAnnouncements;
  /** The connection pool's use now (PostgreSQL; the embedded database has one connection and no pool). */
  connections?(): { open: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** The driver's module, for a parameter named `pg` (which hides the import). */
type PgModule = typeof pg;

const observed = (dialect: Dialect, config: DbConfig, announcements: CommitAnnouncements) => {
  const stock = (config.fastPaths ?? ALL_DB_FAST_PATHS).statements ? dialect : compilingEachQuery(dialect);
  return announcingDialect(config.observeQuery ? observedDialect(stock, config.observeQuery) : stock, announcements);
};

/**
 * Each driver is loaded only when used: an embedded deployment never needs `pg`, nor a server
 * deployment PGlite, and every module loaded at start delays readiness.
 */
export async function createDb(config: DbConfig): Promise<DatabaseHandle> {
  return config.databaseUrl ? createPostgres(config.databaseUrl, config) : createPglite(config);
}

/**
 * How much longer than the statement timeout the client waits for an answer. The server's own
 * timeout normally fires first and leaves the connection usable; this one is for when the server
 * cannot answer at all (a silent network, a failover).
 */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;
const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * A pg client that closes its connection once it is known to be unusable, before it goes back
 * to the pool, so the next query gets a new one instead of failing in its turn:
 * - a FATAL error (the server is ending the session: pg_terminate_backend, shutdown): pg rejects
 *   the query at once but notices the closed socket only a moment later, after the pool may
 *   have handed the connection on;
 * - a named statement whose plan a schema change made stale;
 * - a query that outlived `query_timeout`: pg rejects it but keeps the connection, still waiting
 *   for that query's answer; on a silent network (a failover, a dead peer) it never comes.
 */
const databaseClientClass = (Client: typeof pg.Client, names: ReadonlyMap<string, string>) =>
  class DatabaseClient extends Client {
    // Every overload of query() passes through unchanged; only the outcome is watched.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one signature standing for all of pg's overloads, whose results only `any` covers
    override query(...args: unknown[]): any {
      const name = typeof args[0] === 'string' ? names.get(args[0]) : undefined;
      if (name) args = [{ name, text: args[0], values: args[1] }, ...args.slice(2)];
      // eslint-disable-next-line @typescript-eslint/unbound-method -- applied with `this`, the arguments as they came
      const result: unknown = Reflect.apply(super.query, this, args);
      if (result instanceof Promise) {
        // Registered before the caller's own handlers, so this runs before the connection is released.
        result.catch((error: unknown) => {
          const fatal = (error as { severity?: unknown }).severity === 'FATAL';
          // A schema change under a named statement ("cached plan must not change result type")
          // fails it on this connection for as long as the connection lives.
          const stalePlan = name !== undefined && (error as { code?: unknown }).code === '0A000';
          if (fatal || stalePlan || (error instanceof Error && error.message === QUERY_READ_TIMEOUT)) void this.end().catch(() => {});
        });
      }
      return result;
    }
  };

async function createPostgres(databaseUrl: string, config: DbConfig): Promise<DatabaseHandle> {
  const { default: pg } = await import('pg');
  const statementTimeout = config.pool?.statementTimeoutMillis ?? 10_000;
  const fastPaths = config.fastPaths ?? ALL_DB_FAST_PATHS;
  const pool = new pg.Pool({
    // Stock (no named statements): a map that names nothing.
    Client: databaseClientClass(pg.Client, fastPaths.statements ? namedStatements : new Map()),
    connectionString: databaseUrl,
    max: config.pool?.max ?? 10,
    connectionTimeoutMillis: config.pool?.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: config.pool?.idleTimeoutMillis ?? 30_000,
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + QUERY_TIMEOUT_MARGIN_MS,
    // A client whose network went silent in the middle of a transaction never sends its commit:
    // the server ends that transaction after this long, rather than holding its row locks (one
    // user's usage row, a task) until TCP gives up on the connection hours later.
    idle_in_transaction_session_timeout: statementTimeout,
    application_name: config.applicationName ?? 'stm',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        const shared = sharedParsers[oid];
        if (shared) return shared;
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- any OID the server sends, not only the built-in ones the enum names
        return pg.types.getTypeParser(oid, format) as (text: string) => unknown;
      }) as typeof pg.types.getTypeParser,
    },
  });
  // A connection the server cuts (restart, failover, pg_terminate_backend) emits 'error' on its
  // client, and an 'error' nobody listens to crashes the process. The pool listens only while a
  // client is idle; Kysely holds clients between the statements of a transaction and between a
  // query and its release, so every client gets a listener of its own for its whole life. The
  // broken client is then dropped by the pool and the next query opens a new one.
  pool.on('connect', (client) => {
    client.on('error', (error) => config.onBackgroundError?.(error));
    config.onConnect?.();
  });
  // The pool re-emits an idle client's error; the client's own listener has reported it already.
  pool.on('error', () => {});
  const announcements = new CommitAnnouncements();
  const db = new Kysely<Database>({ dialect: observed(new PostgresDialect({ pool }), config, announcements) });
  return {
    db,
    announcements,
    driver: 'postgres',
    ping: (timeoutMs) => ping(db, timeoutMs),
    maintain: async () => {},
    connections: () => ({ open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    listen: (channel, onMessage) => listenOnPostgres(pg, databaseUrl, config, channel, onMessage),
    close: () => db.destroy(),
  };
}

const RELISTEN_DELAY_MS = 1_000;

/**
 * LISTEN needs a session of its own (a pooled connection would stop hearing once handed on):
 * one client, opened again a second after it drops, until closed.
 */
async function listenOnPostgres(
  pg: PgModule,
  databaseUrl: string,
  config: DbConfig,
  channel: string,
  onMessage: (payload: string | null) => void,
): Promise<{ close(): Promise<void> }> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({ connectionString: databaseUrl, application_name: `${config.applicationName ?? 'stm'}-listen`, keepAlive: true });
    next.on('notification', (message) => {
      if (message.channel === channel) onMessage(message.payload ?? '');
    });
    next.on('error', (error) => {
      config.onBackgroundError?.(error);
      void next.end().catch(() => {});
    });
    next.on('end', () => {
      // A connection that never finished starting is retried by `reconnect`'s own catch.
      if (client !== next) return;
      client = undefined;
      scheduleRetry();
    });
    await next.connect();
    await next.query(`listen ${escapeIdentifier(channel)}`);
    if (closed) {
      await next.end();
      return;
    }
    client = next;
    config.onConnect?.();
    onMessage(null);
  };
  const scheduleRetry = () => {
    if (closed || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      reconnect();
    }, RELISTEN_DELAY_MS).unref();
  };
  const reconnect = () => {
    connect().catch((error: unknown) => {
      config.onBackgroundError?.(error as Error);
      scheduleRetry();
    });
  };
  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}

function escapeIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function createPglite(config: DbConfig): Promise<DatabaseHandle> {
  const dataDir = config.dataDir ? path.resolve(config.dataDir) : undefined;
  const releaseLock = dataDir ? lockDataDir(dataDir) : () => {};
  let pglite: PGlite;
  try {
    pglite = await startPglite(dataDir ? path.join(dataDir, 'pglite') : undefined, config);
  } catch (error) {
    releaseLock();
    throw error;
  }
  const announcements = new CommitAnnouncements();
  const db = new Kysely<Database>({ dialect: observed(new PGliteDialect({ pglite }), config, announcements) });
  let closed = false;
  return {
    db,
    announcements,
    driver: 'pglite',
    ping: (timeoutMs) => ping(db, timeoutMs),
    maintain: async () => {
      await sql`vacuum analyze`.execute(db);
    },
    async listen(channel, onMessage) {
      const unlisten = await pglite.listen(channel, (payload) => onMessage(payload));
      onMessage(null);
      return {
        close: async () => {
          if (!pglite.closed) await unlisten();
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.destroy();
        if (!pglite.closed) await pglite.close();
      } finally {
        releaseLock();
      }
    },
  };
}

/**
 * PGlite on `databaseDir` (in memory without one). A new folder is filled from the configured
 * template when there is a usable one; a template is a shortcut, never a requirement, and
 * without one PGlite runs initdb.
 */
async function startPglite(databaseDir: string | undefined, config: DbConfig): Promise<PGlite> {
  const options = await pgliteOptions({ sharedBuffers: config.pgliteSharedBuffers });
  const open = () =>
    options.PGlite.create({
      ...(databaseDir ? { dataDir: databaseDir } : {}),
      ...(config.pgliteLoadDataDir ? { loadDataDir: config.pgliteLoadDataDir } : {}),
      ...options.create,
    });
  const template = config.pgliteTemplate;
  if (databaseDir === undefined || template === undefined) return open();
  const notUsed = (error: unknown) =>
    config.onBackgroundError?.(new Error(`The embedded database was not started from ${template}; initdb made it`, { cause: error }));
  const { unpackPgliteTemplate } = await import('./pglite-template');
  const unpacked = await unpackPgliteTemplate(template, databaseDir).catch((error: unknown) => {
    notUsed(error);
    return false;
  });
  try {
    return await open();
  } catch (error) {
    if (!unpacked) throw error;
    // A template this PGlite cannot start (made by another PostgreSQL version): the folder it
    // just filled holds nothing yet.
    notUsed(error);
    await rm(databaseDir, { recursive: true, force: true });
    return open();
  }
}

async function ping(db: Kysely<Database>, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The embedded database is a single-process engine: a second process opening the same folder
 * (the CLI while the server runs, two servers) would corrupt it. A pid file taken with O_EXCL
 * refuses the second opener; a pid file left by a process that no longer exists is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isProcessAlive(holder)) {
        throw new DataDirInUseError(dataDir, holder);
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirInUseError(dataDir, undefined);
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `The embedded database in ${dataDir} is in use${pid ? ` by process ${pid}` : ''}. ` +
        'Stop that process first, or set DATABASE_URL to use PostgreSQL, which many processes can share.',
    );
    this.name = 'DataDirInUseError';
  }
}
