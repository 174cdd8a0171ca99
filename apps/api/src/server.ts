import v8 from 'node:v8';
import type { AppConfig } from './env';

// V8 lets the old generation grow to several times what survived the last full collection
// before it collects again. This server keeps little alive but promotes request garbage fast, so
// under load its heap swelled far past what it needs (bench). Twice is plenty: a much lower peak
// of resident memory at no measurable cost in requests/s. The factor is read afresh each time V8
// sizes the next limit, so setting it here, before any load, takes full effect.
v8.setFlagsFromString('--heap-growing-percent=100');

const { buildApp } = await import('./app');
const { ConfigError, loadConfig, loadDotEnv, readProcessEnvironment } = await import('./env');

loadDotEnv();
/** A configuration refused at start, read or found while starting (ADMIN_PASSWORD against the live policy): one line each, no stack. */
function exitOnConfigError(error: unknown): void {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}

let config: AppConfig;
try {
  config = loadConfig(readProcessEnvironment());
} catch (error) {
  exitOnConfigError(error);
  throw error;
}

/** Which database, without DATABASE_URL's user and password: the subject of a message. */
function theDatabase(): string {
  const url = config.database.url;
  if (url === undefined) return `The embedded database in ${config.database.dataDir}`;
  try {
    const parsed = new URL(url);
    return `The database at ${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'The database of DATABASE_URL';
  }
}

/**
 * A database that cannot be reached, or that refuses the login, at start: said in one line, as a
 * configuration error is, and the exit status says which (69 EX_UNAVAILABLE: try again later; 78
 * EX_CONFIG: fix DATABASE_URL). While running, the same is answered 503 and the server waits.
 */
function exitOnDatabaseError(error: unknown): void {
  const cause = error instanceof Error ? error.message || ((error as NodeJS.ErrnoException).code ?? error.name) : String(error);
  if (isDatabaseLoginRefused(error)) {
    process.stderr.write(`${theDatabase()} refused the login (${cause}): correct DATABASE_URL\n`);
    process.exit(78);
  }
  if (isDatabaseUnavailable(error)) {
    process.stderr.write(`${theDatabase()} is unavailable (${cause}): start it or correct DATABASE_URL, then start the server again\n`);
    process.exit(69);
  }
}

const startedAt = performance.now();
const { SchemaMismatchError } = await import('./schema-check');
const { isDatabaseLoginRefused, isDatabaseUnavailable } = await import('@stm/db');
let app: Awaited<ReturnType<typeof buildApp>>;
try {
  app = await buildApp({ config });
} catch (error) {
  exitOnConfigError(error);
  // Said in one line, as a configuration error is: it is the operator's to fix, not a crash.
  if (error instanceof SchemaMismatchError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  exitOnDatabaseError(error);
  throw error;
}

let shuttingDown = false;
async function shutdown(signal: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  app.log.info({ signal }, 'shutting down: finishing requests in flight');
  const timer = setTimeout(() => {
    app.log.error('shutdown timed out; exiting');
    process.exit(1);
  }, config.server.shutdownTimeoutMs);
  timer.unref();
  try {
    await app.close();
    process.exit(0);
  } catch (error) {
    app.log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (reason) => app.log.error({ err: reason }, 'unhandled rejection'));
process.on('uncaughtException', (error) => {
  app.log.fatal({ err: error }, 'uncaught exception; exiting');
  app.flushLogs();
  process.exit(1);
});

try {
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  app.log.info(
    {
      address,
      database: app.services.database.driver,
      dataDir: app.services.database.driver === 'pglite' ? config.database.dataDir : undefined,
      readyInMs: Math.round(performance.now() - startedAt),
    },
    `API ready at ${address} (docs: ${address}/docs)`,
  );
} catch (error) {
  app.log.fatal({ err: error }, 'could not start');
  await app.close().catch(() => {});
  process.exit(1);
}
