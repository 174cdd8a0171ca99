import { randomUUID } from 'node:crypto';
import { PasswordHasher } from '@stm/auth';
import { createDb, type DatabaseHandle } from '@stm/db';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { AppConfig } from './env';
import type { ErrorAnswer } from './errors';
import { answerOf, DomainError, PROBLEM_CONTENT_TYPE, problemOf, restErrorBody, trpcErrorBody } from './errors';
import { useSchemaFastPaths } from './fastpath/switch';
import { type AppLogger, createLogger, type RequestLogger } from './logger';
import { answerClientError, restProblemDetails } from './problem-details';
import { apiRoutes, restPathsWhere } from './plugins/api';
import { consoleRoutes } from './plugins/console';
import { healthRoutes } from './plugins/health';
import { legacyRoutes } from './plugins/legacy-routes';
import { metricsPlugin, startMetricsServer } from './plugins/metrics';
import { rateLimitPlugin } from './plugins/rate-limit';
import { securityPlugin } from './plugins/security';
import { appRouter } from './routers';
import { prepareSchema } from './schema-check';
import { createServices, type Services } from './services';

export const API_VERSION = '1.0.0';

export interface BuildAppOptions {
  config: AppConfig;
  /** An open, migrated database (tests); otherwise one is opened from the config and migrated. */
  database?: DatabaseHandle;
  logger?: AppLogger;
  /** REST through trpc-to-openapi's own adapter whatever FAST_PATHS says: the reference the REST bridge is tested against. */
  referenceRestBridge?: boolean;
  /** Subscriptions through tRPC's own stream producer whatever FAST_PATHS says: the reference the fast one is tested against. */
  referenceSubscriptions?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    /** Writes out buffered log lines now: for a process about to die. */
    flushLogs(): void;
  }
  interface FastifyRequest {
    /** The path as the client sent it, without the query string (or the origin of an absolute-form target). */
    requestPath: string;
    /** The REST operation the bridge found for the request: which route template, which procedure. */
    restOperation: { route: string; procedure: string } | undefined;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The shortest time between two warnings of the database's background errors. */
const DATABASE_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * The database's background errors (a pooled connection cut, the listener failing to reconnect
 * every second while the database is away) as warnings, one per DATABASE_ERROR_LOG_INTERVAL_MS at
 * most, each saying how many were left out since the one before: an outage is a line every few
 * seconds, not a line with a stack for every connection and every retry. The first connection
 * that opens after a warning says the database is reachable again, and how long since that
 * warning's error: a database that keeps cutting connections is still two lines per interval at
 * most. What each request met is logged with the request (`refused: unavailable`).
 */
function databaseConnectionLog(log: AppLogger['logger']): { error: (error: Error) => void; connected: () => void } {
  let loggedAt = -Infinity;
  let leftOut = 0;
  /** When the error of a warning not yet followed by "reachable again" came. */
  let warnedAt: number | undefined;
  return {
    error: (error) => {
      const now = performance.now();
      if (now - loggedAt < DATABASE_ERROR_LOG_INTERVAL_MS) {
        leftOut++;
        return;
      }
      log.warn({ err: error, ...(leftOut > 0 ? { leftOut } : {}) }, 'database connection error');
      loggedAt = now;
      leftOut = 0;
      warnedAt ??= now;
    },
    connected: () => {
      if (warnedAt === undefined) return;
      // Not "down for": after one cut connection the next may open only when a query needs it.
      const sinceFirstErrorMs = Math.round(performance.now() - warnedAt);
      // At the errors' level, so that a log read at that level shows where the trouble ended too.
      log.warn({ sinceFirstErrorMs, ...(leftOut > 0 ? { leftOut } : {}) }, 'database reachable again');
      warnedAt = undefined;
      leftOut = 0;
    },
  };
}

/** Builds the application without listening: `server.ts` listens, tests use `app.inject()`. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  useSchemaFastPaths(config.fastPaths);
  const timeouts = config.server.timeouts;
  const appLogger = options.logger ?? (await createLogger(config));
  const log = appLogger.logger;
  if (config.env === 'production' && config.webhooks.allowPrivate) {
    log.warn("WEBHOOK_ALLOW_PRIVATE is on in production: webhooks may be sent to loopback and private addresses, this network's own services");
  }
  // Loaded only when an OTLP endpoint is configured; otherwise no request pays for it.
  const tracing = config.tracing ? (await import('./tracing')).startTracing(config.tracing, API_VERSION) : undefined;

  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: without it the instance is typed with pino's Logger, which the plugins' FastifyInstance does not accept
    loggerInstance: log as FastifyBaseLogger,
    // Requests are logged once, on response, by the hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.server.bodyLimit,
    clientErrorHandler: answerClientError,
    // A hop count is valid at run time (proxy-addr) though Fastify's types omit it.
    trustProxy: config.server.trustProxy as boolean | string | string[],
    // Slow clients: the headers must arrive within one limit and the whole request within
    // another (else 408 and the connection closes); a socket silent too long closes.
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node enforces both limits by sweeping the open connections this often (30 s by default,
      // which would let a slow client hold a connection up to 30 s past its limit).
      connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
    },
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // A URL the router cannot even read (bad percent-encoding, an over-long segment) still gets
    // the API's error body, not Fastify's own.
    frameworkErrors: (error, request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void sendError(request, reply, answerOf(tooLong ? 414 : 400, tooLong ? 'A path segment is too long' : 'The URL is malformed'), new Set());
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  // First, so that every hook and route added after it runs within the request's span.
  if (tracing) await app.register(tracing.fastifyPlugin);

  // `Expect: 100-continue` asks whether to send the body at all. Node says yes to every such
  // request unless told otherwise, and one declaring more than the limit then got `100 Continue`
  // and, mid-body, a closed connection; it now gets the 413 instead (the body parser refuses a
  // declared length over the limit without reading).
  app.server.on('checkContinue', (request, response) => {
    const declared = Number(request.headers['content-length']);
    if (!(Number.isFinite(declared) && declared > config.server.bodyLimit)) response.writeContinue();
    app.server.emit('request', request, response);
  });

  // The hash an unknown username is compared with takes a bcrypt run on a hashing thread; it is
  // made while the database starts rather than after.
  const hasher = new PasswordHasher(config.bcrypt);
  const hasherPrepared = hasher.prepare();
  hasherPrepared.catch(() => {}); // awaited below, where a failure stops the start

  const ownsDatabase = options.database === undefined;
  let database = options.database;
  let services: Services;
  const connectionLog = databaseConnectionLog(log);
  try {
    database ??= await createDb({
      databaseUrl: config.database.url,
      dataDir: config.database.dataDir,
      pgliteTemplate: config.database.pgliteTemplate,
      pool: config.database.pool,
      applicationName: 'stm-api',
      onBackgroundError: connectionLog.error,
      onConnect: connectionLog.connected,
      observeQuery: tracing?.observeQuery,
      fastPaths: { statements: config.fastPaths.statements },
    });
    if (ownsDatabase) await prepareSchema(database.db, { migrateOnStart: config.database.migrateOnStart, log, who: 'this release' });
    await hasherPrepared;
    services = await createServices(config, database, log, hasher);
  } catch (error) {
    // Whatever was started is stopped: a failed build leaves no threads, connections or files open.
    await hasher.close();
    if (ownsDatabase) await database?.close();
    await appLogger.close();
    throw error;
  }
  app.decorate('services', services);
  app.decorate('flushLogs', () => appLogger.flushSync());

  app.decorateRequest('requestPath', '');
  app.decorateRequest('sentContentType', undefined);
  app.decorateRequest('userId', undefined);
  app.decorateRequest('restOperation', undefined);
  app.addHook('onRequest', async (request, reply) => {
    // Kept before the REST bridge rewrites the raw URL to the procedure path.
    request.requestPath = pathOfTarget(request.url);
    request.sentContentType = request.headers['content-type'];
    reply.header('x-request-id', request.id);
  });
  // One line per request, with what happened and how long it took; never the query string.
  const accessLog = appLogger.access;
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    // A route may lower its own logging (health probes log only problems).
    if (!(request.log as RequestLogger).isLevelEnabled(level)) return;
    accessLog[level](
      {
        requestId: request.id,
        method: request.method,
        url: request.requestPath,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        ip: request.ip,
        ...(request.userId === undefined ? {} : { userId: request.userId }),
      },
      'request',
    );
  });

  // Closing refuses new connections and answers new requests 503 (return503OnClosing), but Node
  // keeps a connection that was busy at that moment open after its answer, idle, until the
  // keep-alive timeout: shutdown would wait that long. Answers sent while closing end theirs.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    // Open event streams would otherwise hold the server's close until their clients leave.
    services.live.closeStreams();
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  const oauthPaths = restPathsWhere(appRouter, (meta) => meta.oauthErrors);
  app.addHook('onSend', restProblemDetails(oauthPaths));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A rule's refusal before any procedure ran (a spent rate limit) has its status in the table of reasons.
    const refusal = error instanceof DomainError ? error : undefined;
    const given = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const answer = answerOf(given, error.message, refusal);
    if (answer.status >= 500) request.log.error({ err: error }, 'request failed');
    const headers = (error as { headers?: Record<string, string> }).headers;
    if (headers) reply.headers(headers);
    if (refusal?.retryAfterSeconds !== undefined) reply.header('retry-after', String(refusal.retryAfterSeconds));
    return sendError(request, reply, answer, oauthPaths);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, answerOf(404, `No route ${request.method} ${request.requestPath}`), oauthPaths));

  await app.register(securityPlugin, { config });
  if (services.metrics) await app.register(metricsPlugin, { metrics: services.metrics, token: config.metrics?.token });
  await app.register(rateLimitPlugin, { config, redis: services.redis, sharedCounters: services.sharedCounters, metrics: services.metrics });
  await app.register(healthRoutes, { services });
  const fastPaths = {
    trpc: config.fastPaths.trpc,
    sse: config.fastPaths.sse && options.referenceSubscriptions !== true,
    rest: config.fastPaths.rest && options.referenceRestBridge !== true,
  };
  await app.register(apiRoutes, { services, router: appRouter, version: API_VERSION, fastPaths });
  if (config.legacyRoutes) await app.register(legacyRoutes, { services, router: appRouter });
  if (config.consoleDir) await app.register(consoleRoutes, { root: config.consoleDir });

  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify hook contract: it signals completion by resolving
  app.addHook('onReady', async () => services.start());
  const metricsListen = config.metrics?.listen;
  let metricsServer: FastifyInstance | undefined;
  if (services.metrics && metricsListen) {
    const metrics = services.metrics;
    app.addHook('onReady', async () => {
      metricsServer = await startMetricsServer(metrics, metricsListen);
    });
  }
  app.addHook('onClose', async () => {
    await metricsServer?.close();
    await services.stop();
    if (ownsDatabase) await services.database.close();
    await tracing?.flush();
    await appLogger.close();
  });
  return app;
}

/**
 * An error the request never reached a procedure for, in the body clients know (`errors.ts` shapes
 * each): tRPC's envelope under /trpc, a problem document under /api, `{ message, code, data }`
 * elsewhere.
 */
function sendError(request: FastifyRequest, reply: FastifyReply, answer: ErrorAnswer, oauthPaths: ReadonlySet<string>) {
  // By the matched route, as the path as sent may spell `/trpc` with percent-escapes; a URL the
  // router could not read (or no route matched) has only its raw path to go by.
  const route = request.routeOptions.url;
  const path = request.requestPath || pathOfTarget(request.url);
  const trpc = route ? route.startsWith('/trpc/') : path === '/trpc' || path.startsWith('/trpc/');
  reply.code(answer.status);
  if (trpc) return reply.send(trpcErrorBody(answer));
  // A URL the router could not read reaches no route and no onSend hook of one: made a problem here.
  if (!route && path.startsWith('/api/')) {
    return reply.header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(problemOf(path, answer.status, restErrorBody(answer), oauthPaths.has(path))));
  }
  return reply.send(restErrorBody(answer));
}

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/**
 * The path of a request target, without its query string. Of an absolute-form target
 * (`http://host/path`, which HTTP/1.1 lets any client send) it is the path after the origin,
 * which is what the router matches.
 */
function pathOfTarget(target: string): string {
  const origin = target.startsWith('/') ? undefined : ABSOLUTE_FORM.exec(target)?.[0];
  const rest = origin === undefined ? target : target.slice(origin.length);
  const end = rest.indexOf('?');
  return (end === -1 ? rest : rest.slice(0, end)) || '/';
}
