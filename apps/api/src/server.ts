import { availableParallelism } from 'node:os';

// bcrypt hashes on libuv's thread pool; leave room for file and DNS work beside a login storm.
// Must be set before the pool is first used, hence before anything else is imported.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));

const { buildApp } = await import('./app');
const { ConfigError, loadConfig, loadDotEnv, readProcessEnvironment } = await import('./env');

loadDotEnv();
let config: import('./env').AppConfig;
try {
  config = loadConfig(readProcessEnvironment());
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const startedAt = performance.now();
const app = await buildApp({ config });

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
