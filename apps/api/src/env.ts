/**
 * The configuration, parsed once from the environment. This is the only module that reads
 * `process.env`; everything else receives an `AppConfig`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { usernameSchema } from '@stm/validators';
import { z } from 'zod';
import { ALL_FAST_PATHS, FAST_PATH_NAMES, type FastPathName, type FastPaths, NO_FAST_PATHS } from './fastpath/switch';

/** The repository root, whether this file runs from src/ or is bundled into dist/. */
export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Values that have shipped as defaults somewhere, including the service this one replaces. */
const WEAK_SECRETS = new Set(
  [
    '123456',
    '12345678',
    'clave_secreta_super_segura',
    'secret',
    'secret_key',
    'secretkey',
    'changeme',
    'change-me',
    'change_me',
    'password',
    'supersecret',
    'your-secret-key',
    'your_secret_key',
    'mysecret',
    'development',
    'test',
  ].map((s) => s.toLowerCase()),
);
const MIN_SECRET_BYTES = 32;
/** The least bcrypt cost a production server runs with (OWASP: 10 or more); tests and development may go lower. */
const MIN_PRODUCTION_BCRYPT_COST = 10;

const booleanString = z.enum(['true', 'false', '1', '0', 'yes', 'no', '']).transform((value) => value === 'true' || value === '1' || value === 'yes');

const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const positiveInt = z.coerce.number().int().positive();

const optionalUrl = z
  .url({ protocol: /^https?$/ })
  .optional()
  .or(z.literal('').transform(() => undefined));

/**
 * `true` (every fast path, src/fastpath/), `false` (none: the stock libraries), or for measuring one
 * at a time a list of names, all of them added to none (`trpc,rest`) or each taken from all (`-zod,-rest`).
 */
const fastPathsSetting = z
  .string()
  .trim()
  .transform((value, context): FastPaths => {
    if (['true', '1', 'yes', ''].includes(value)) return ALL_FAST_PATHS;
    if (['false', '0', 'no'].includes(value)) return NO_FAST_PATHS;
    const items = value.split(',').map((item) => item.trim());
    const removing = items.every((item) => item.startsWith('-'));
    const names = items.map((item) => (removing ? item.slice(1) : item));
    const unknown = names.filter((name) => !(FAST_PATH_NAMES as readonly string[]).includes(name));
    if (unknown.length > 0 || (!removing && items.some((item) => item.startsWith('-')))) {
      context.addIssue({ code: 'custom', message: `must be true, false, or names among ${FAST_PATH_NAMES.join(', ')} (all with or all without a leading -)` });
      return z.NEVER;
    }
    const chosen = new Set(names as FastPathName[]);
    return Object.fromEntries(FAST_PATH_NAMES.map((name) => [name, removing !== chosen.has(name)])) as Record<FastPathName, boolean>;
  });

/** A per-address budget, or `off` for a deployment whose gateway limits per address already. */
const budget = z.union([z.literal('off'), positiveInt]);

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  DATA_DIR: z.string().min(1).optional(),
  MIGRATE_ON_START: booleanString.optional(),
  PG_BIN_DIR: z.string().min(1).optional(),
  SECRET_KEY: z.string().optional(),
  ADMIN_USERNAME: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  JWT_ISSUER: z.string().min(1).default('secure-task-manager'),
  JWT_AUDIENCE: z.string().min(1).default('secure-task-manager-api'),
  SESSION_MAX_LIFETIME_SECONDS: positiveInt.optional(),
  STEP_UP_MAX_AGE_SECONDS: positiveInt.max(3600).default(300),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  BCRYPT_CONCURRENCY: positiveInt.optional(),
  BCRYPT_MAX_QUEUE: z.coerce.number().int().min(0).default(64),
  CORS_ORIGINS: commaList.default([]),
  TRUST_PROXY: z.string().default('false'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  REDIS_KEY_PREFIX: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9:_.-]*$/, 'may contain only letters, digits and ": _ . -"')
    .default('stm:'),
  LOCKOUT_MEMORY_MAX_ENTRIES: positiveInt.default(100_000),
  // Empty first: any string, '' included, would match the other branch and be judged a weak token.
  METRICS_TOKEN: z
    .literal('')
    .transform(() => undefined)
    .or(z.string().optional()),
  METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  RATE_LIMIT_MAX: budget.default(600),
  RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  AUTH_RATE_LIMIT_MAX: budget.default(30),
  AUTH_RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  RECOVERY_RATE_LIMIT_MAX: budget.default(5),
  RECOVERY_RATE_LIMIT_WINDOW_MS: positiveInt.default(900_000),
  BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  HTTP_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  HTTP_IDLE_TIMEOUT_MS: positiveInt.default(60_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(10_000),
  DB_POOL_MAX: positiveInt.default(10),
  DB_CONNECT_TIMEOUT_MS: positiveInt.default(3_000),
  DB_STATEMENT_TIMEOUT_MS: positiveInt.default(5_000),
  DB_SEARCH_TIMEOUT_MS: positiveInt.default(2_000),
  SETTINGS_REFRESH_MS: positiveInt.default(2_000),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  LIVE_BUFFER_EVENTS: positiveInt.default(1_000),
  LIVE_CHECK_INTERVAL_MS: positiveInt.max(1_000).default(500),
  LIVE_MAX_REPLAY: positiveInt.default(1_000),
  LIVE_RETENTION_HOURS: positiveInt.default(168),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_DIR: z.string().min(1).optional(),
  LOG_FILE: booleanString.default(true),
  LOG_STDOUT: booleanString.default(true),
  LOG_PRETTY: booleanString.optional(),
  // pino-roll keeps today's file and at least one before it: it cannot keep today's alone.
  LOG_RETENTION_DAYS: z.coerce.number().int().min(2, "must be at least 2 (today's log file and yesterday's)").default(7),
  CONSOLE_DIR: z.string().optional(),
  COOKIE_SECURE: booleanString.optional(),
  LEGACY_ROUTES: booleanString.default(true),
  FAST_PATHS: fastPathsSetting.default(ALL_FAST_PATHS),
  // OpenTelemetry's own names (its SDKs read the same ones), so a collector set up for other
  // services is set up for this one.
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  OTEL_SERVICE_NAME: z.string().min(1).default('secure-task-manager'),
  OTEL_SDK_DISABLED: booleanString.default(false),
  /** The share of new traces recorded (a caller's sampled flag is always followed). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  MAIL_FROM: z.string().min(3).default('Secure Task Manager <no-reply@localhost>'),
  MAIL_OUTBOX_DIR: z.string().min(1).optional(),
  MAIL_LANGUAGE: z.enum(['en', 'es']).default('en'),
  MAIL_DIGEST_MINUTES: positiveInt.default(60),
  MAIL_MAX_ATTEMPTS: positiveInt.default(8),
  MAIL_RETRY_BASE_MS: positiveInt.default(30_000),
  MAIL_POLL_MS: z.union([z.literal('off'), positiveInt]).default(5_000),
  NOTIFICATIONS_INTERVAL_MS: z.union([z.literal('off'), positiveInt]).default(60_000),
  WEBHOOK_ALLOW_PRIVATE: booleanString.default(false),
  WEBHOOK_POLL_MS: z.union([z.literal('off'), positiveInt]).default(5_000),
  WEBHOOK_RETRY_BASE_MS: positiveInt.default(30_000),
  WEBHOOK_RETRY_HOURS: positiveInt.max(168).default(24),
  PUBLIC_URL: z
    .url()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  RP_ID: z.string().min(1).default('localhost'),
  RP_NAME: z.string().min(1).default('Secure Task Manager'),
  RP_ORIGIN: commaList.optional(),
});

export type Environment = z.input<typeof environmentSchema>;
export type TrustProxy = boolean | number | string[];

export interface RateLimitBudget {
  max: number;
  windowMs: number;
}

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  server: {
    host: string;
    port: number;
    bodyLimit: number;
    trustProxy: TrustProxy;
    corsOrigins: string[];
    shutdownTimeoutMs: number;
    /** Slow or silent clients, in ms: see `HTTP_*_TIMEOUT_MS` in .env.example. */
    timeouts: { headersMs: number; requestMs: number; idleMs: number; keepAliveMs: number };
    /** Mark cookies `Secure`; on outside development. */
    cookieSecure: boolean;
  };
  database: {
    url: string | undefined;
    dataDir: string;
    pool: { max: number; connectionTimeoutMillis: number; statementTimeoutMillis: number };
    /** The most one search statement may take: what one caller's search may cost the others. */
    searchTimeoutMillis: number;
    /**
     * Whether a start brings the schema up to date itself (the embedded database, development,
     * tests), or leaves that to `db:migrate` as a deploy step and refuses a schema behind it.
     */
    migrateOnStart: boolean;
    /** Folder of pg_dump and pg_restore for backups; looked up on PATH when unset. */
    pgBinDir: string | undefined;
    /**
     * The migrated embedded database a new data dir starts from, which the build writes beside
     * the bundle (apps/api/dist). Run from source there is none, and PGlite runs initdb instead.
     */
    pgliteTemplate: string;
    /**
     * The same before any migration, as initdb leaves it: where the operator's database commands
     * (db:migrate, db:backup, db:restore) start a new data dir, since they must find the schema
     * as it is (a restore recreates the backup's own version, then migrates on).
     */
    pgliteEmptyTemplate: string;
  };
  secretKey: string;
  /** Where a development secret came from, for the start-up log. */
  secretKeySource: 'environment' | 'data-dir';
  admin: { username: string; password: string } | undefined;
  tokens: { issuer: string; audience: string };
  /**
   * The operator's cap on how long any session may last from its sign-in, however often it is
   * refreshed, over the live settings' lifetimes (ASVS V3); undefined: the settings alone.
   */
  sessionMaxLifetimeSeconds: number | undefined;
  /** How recent a sign-in a sensitive change needs (step-up); 5 minutes unless set. */
  stepUpMaxAgeSeconds: number;
  bcrypt: { cost: number; concurrency: number; maxQueue: number };
  redisUrl: string | undefined;
  /** Prepended to every Redis key, so several deployments (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  /** Without Redis: how many failed-login counters one instance keeps at most (new ones are refused beyond). */
  lockoutMemoryMaxEntries: number;
  /**
   * Prometheus metrics; undefined (none collected) unless one way to read them is set: `/metrics`
   * on the API with `Authorization: Bearer <token>`, or a listener of their own for a private network.
   */
  metrics: { token: string | undefined; listen: { host: string; port: number } | undefined } | undefined;
  /** Requests per client address per window; undefined where turned off (`off`). */
  rateLimit: {
    /** Every procedure call over tRPC and REST. */
    global: RateLimitBudget | undefined;
    /** The procedures that declare `rateLimit: 'auth'` in their meta, on top of the global budget. */
    auth: RateLimitBudget | undefined;
    /** The procedures that send mail to an address anyone names (`rateLimit: 'recovery'`: forgot password). */
    recovery: RateLimitBudget | undefined;
  };
  log: { level: string; dir: string | null; stdout: boolean; pretty: boolean; retentionDays: number };
  settingsRefreshMs: number;
  /** Live subscriptions: see `LiveOptions`. */
  live: { bufferSize: number; checkIntervalMs: number; maxReplay: number; retentionMs: number };
  /** Built console assets, served at `/` when the folder exists. */
  consoleDir: string | null;
  /** The old FastAPI service's routes at the root (`/auth/register`, `/auth/login`, `/auth/me`, `/auth/admin`). */
  legacyRoutes: boolean;
  /**
   * OpenTelemetry traces sent over OTLP/HTTP to `tracesUrl`; undefined (nothing loaded, nothing
   * recorded) unless an OTLP endpoint is set.
   */
  tracing: { tracesUrl: string; serviceName: string; sampleRatio: number } | undefined;
  mail: {
    /** SMTP server to deliver through (may hold a password: never logged); unset: `.eml` files in `outboxDir`. */
    smtpUrl: string | undefined;
    from: string;
    outboxDir: string;
    /** The language of mail to someone who chose none. */
    language: 'en' | 'es';
    /** At most one notification digest per person per this many minutes. */
    digestMinutes: number;
    maxAttempts: number;
    /** The wait after the first failed attempt; doubled after each further one (at most an hour). */
    retryBaseMs: number;
    /** How often each instance looks for mail to deliver; undefined (`off`): only when told to (tests). */
    pollMs: number | undefined;
  };
  webhooks: {
    /** Deliver to loopback, private and link-local addresses too (`WEBHOOK_ALLOW_PRIVATE`): development and tests only. */
    allowPrivate: boolean;
    /** How often each instance looks for webhooks to deliver, besides being woken by new events; undefined (`off`): only when told to (tests). */
    pollMs: number | undefined;
    /** The wait after the first failed attempt, doubled after each further one up to `retryMaxMs`. */
    retryBaseMs: number;
    retryMaxMs: number;
    /** An endpoint failing for this long is disabled and its keepers told. */
    giveUpMs: number;
    /** The most one delivery may take, from resolving the name to the answer. */
    timeoutMs: number;
    /** How long a worker holds an endpoint it is delivering to before another may take over. */
    leaseMs: number;
    /** How long the delivery log keeps an attempt. */
    logRetentionMs: number;
  };
  /** How often the notifications scheduler runs (due soon, overdue, digests); undefined (`off`): never by itself (tests). */
  notificationsIntervalMs: number | undefined;
  /** Where people reach the console, for links in mail (e.g. `https://tasks.example.com`); unset: mail carries no links. */
  publicUrl: string | undefined;
  /**
   * WebAuthn (passkeys): the relying party's id (the site's domain, `RP_ID`), its name shown by
   * authenticators and in authenticator apps (`RP_NAME`), and the origins pages may use passkeys
   * from (`RP_ORIGIN`, comma-separated; unset: any http(s) origin whose host is the RP ID).
   */
  webauthn: { rpId: string; rpName: string; origins: string[] | undefined };
  /** Which re-implementations of library behaviour (src/fastpath/, packages/db/src/fastpath/) run; `FAST_PATHS`. */
  fastPaths: FastPaths;
}

/** A stricter per-address budget a procedure may declare in its meta; each has its own settings. */
export type RateLimitClass = Exclude<keyof AppConfig['rateLimit'], 'global'>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    // One problem reads as one line, for a log that shows only the last one.
    super(problems.length === 1 ? `Invalid configuration: ${problems[0]}` : `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function parseTrustProxy(value: string): TrustProxy {
  const trimmed = value.trim().toLowerCase();
  if (trimmed === '' || trimmed === 'false' || trimmed === '0' || trimmed === 'no') return false;
  if (trimmed === 'true') return true;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function isWeakSecret(secret: string): boolean {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) return true;
  if (WEAK_SECRETS.has(secret.toLowerCase())) return true;
  // One character repeated, or a short pattern repeated to reach the length, is not a secret.
  return new Set(secret).size < 8;
}

/**
 * Parses and checks the environment. In production it refuses a missing or weak SECRET_KEY and
 * the embedded database; in development a missing secret is generated once and kept in the data
 * folder so tokens survive restarts.
 */
export function loadConfig(environment: Record<string, string | undefined>): AppConfig {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const env = parsed.data;
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const dataDir = installationPath(env.DATA_DIR ?? '.data');
  const movedData = env.DATA_DIR === undefined ? undefined : dataLeftBehind(env.DATA_DIR, dataDir);
  // Refused before anything is made in the new place: starting on an empty database there would
  // look like lost data.
  if (movedData) {
    throw new ConfigError([
      `DATA_DIR=${env.DATA_DIR} means ${dataDir} (a relative DATA_DIR is taken from the top of the installation), which does not exist, but ${movedData} does: move that folder to ${dataDir}, or set DATA_DIR to ${movedData}`,
    ]);
  }

  let secretKey = env.SECRET_KEY?.trim() || undefined;
  let secretKeySource: AppConfig['secretKeySource'] = 'environment';
  // Tests may use fixed secrets; a person running the product may not, in any mode.
  if (secretKey && isWeakSecret(secretKey) && env.NODE_ENV !== 'test') {
    problems.push(`SECRET_KEY is weak: use at least ${MIN_SECRET_BYTES} random bytes (e.g. \`openssl rand -base64 48\`)`);
  }
  if (!secretKey) {
    if (production) {
      problems.push('SECRET_KEY is required in production (e.g. `openssl rand -base64 48`)');
    } else {
      secretKey = readOrCreateDevelopmentSecret(dataDir);
      secretKeySource = 'data-dir';
    }
  }
  if (production && env.BCRYPT_COST < MIN_PRODUCTION_BCRYPT_COST) {
    problems.push(`BCRYPT_COST must be at least ${MIN_PRODUCTION_BCRYPT_COST} in production (it is ${env.BCRYPT_COST})`);
  }
  if (production && !env.DATABASE_URL) {
    problems.push('DATABASE_URL is required in production: the embedded database is for development and tests only');
  }
  const adminUsername = env.ADMIN_USERNAME?.trim() || undefined;
  const adminPassword = env.ADMIN_PASSWORD || undefined;
  if (Boolean(adminUsername) !== Boolean(adminPassword)) {
    problems.push('ADMIN_USERNAME and ADMIN_PASSWORD must be set together');
  }
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS: the headers are part of the request');
  }
  // The account is made with this exact name: one nobody could register or sign in with is refused now, not at the first login.
  const adminUsernameCheck = adminUsername === undefined ? undefined : usernameSchema.safeParse(adminUsername);
  if (adminUsernameCheck && !adminUsernameCheck.success) {
    problems.push(`ADMIN_USERNAME is not a valid username: ${adminUsernameCheck.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  if (env.METRICS_TOKEN !== undefined && isWeakSecret(env.METRICS_TOKEN)) {
    problems.push(`METRICS_TOKEN is weak: use at least ${MIN_SECRET_BYTES} random bytes (e.g. \`openssl rand -base64 48\`)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const development = env.NODE_ENV === 'development';
  return {
    env: env.NODE_ENV,
    server: {
      host: env.HOST,
      port: env.PORT,
      bodyLimit: env.BODY_LIMIT_BYTES,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins: env.CORS_ORIGINS,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      timeouts: {
        headersMs: env.HTTP_HEADERS_TIMEOUT_MS,
        requestMs: env.HTTP_REQUEST_TIMEOUT_MS,
        idleMs: env.HTTP_IDLE_TIMEOUT_MS,
        keepAliveMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      },
      cookieSecure: env.COOKIE_SECURE ?? !development,
    },
    database: {
      url: env.DATABASE_URL,
      dataDir,
      pool: {
        max: env.DB_POOL_MAX,
        connectionTimeoutMillis: env.DB_CONNECT_TIMEOUT_MS,
        statementTimeoutMillis: env.DB_STATEMENT_TIMEOUT_MS,
      },
      searchTimeoutMillis: env.DB_SEARCH_TIMEOUT_MS,
      migrateOnStart: env.MIGRATE_ON_START ?? !(production && env.DATABASE_URL),
      pgBinDir: env.PG_BIN_DIR ? path.resolve(env.PG_BIN_DIR) : undefined,
      pgliteTemplate: fileURLToPath(new URL('./pglite-template.tar.gz', import.meta.url)),
      pgliteEmptyTemplate: fileURLToPath(new URL('./pglite-empty-template.tar.gz', import.meta.url)),
    },
    secretKey: secretKey as string,
    secretKeySource,
    admin: adminUsername && adminPassword ? { username: adminUsername, password: adminPassword } : undefined,
    tokens: { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
    sessionMaxLifetimeSeconds: env.SESSION_MAX_LIFETIME_SECONDS,
    stepUpMaxAgeSeconds: env.STEP_UP_MAX_AGE_SECONDS,
    bcrypt: {
      cost: env.BCRYPT_COST,
      concurrency: env.BCRYPT_CONCURRENCY ?? availableParallelism(),
      maxQueue: env.BCRYPT_MAX_QUEUE,
    },
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    lockoutMemoryMaxEntries: env.LOCKOUT_MEMORY_MAX_ENTRIES,
    metrics:
      env.METRICS_TOKEN === undefined && env.METRICS_PORT === undefined
        ? undefined
        : { token: env.METRICS_TOKEN, listen: env.METRICS_PORT === undefined ? undefined : { host: env.METRICS_HOST, port: env.METRICS_PORT } },
    rateLimit: {
      global: env.RATE_LIMIT_MAX === 'off' ? undefined : { max: env.RATE_LIMIT_MAX, windowMs: env.RATE_LIMIT_WINDOW_MS },
      auth: env.AUTH_RATE_LIMIT_MAX === 'off' ? undefined : { max: env.AUTH_RATE_LIMIT_MAX, windowMs: env.AUTH_RATE_LIMIT_WINDOW_MS },
      recovery: env.RECOVERY_RATE_LIMIT_MAX === 'off' ? undefined : { max: env.RECOVERY_RATE_LIMIT_MAX, windowMs: env.RECOVERY_RATE_LIMIT_WINDOW_MS },
    },
    log: {
      level: env.LOG_LEVEL,
      dir: env.LOG_FILE ? installationPath(env.LOG_DIR ?? 'logs') : null,
      stdout: env.LOG_STDOUT,
      pretty: env.LOG_PRETTY ?? development,
      retentionDays: env.LOG_RETENTION_DAYS,
    },
    settingsRefreshMs: env.SETTINGS_REFRESH_MS,
    live: {
      bufferSize: env.LIVE_BUFFER_EVENTS,
      checkIntervalMs: env.LIVE_CHECK_INTERVAL_MS,
      maxReplay: env.LIVE_MAX_REPLAY,
      retentionMs: env.LIVE_RETENTION_HOURS * 60 * 60 * 1000,
    },
    consoleDir: resolveConsoleDir(env.CONSOLE_DIR),
    legacyRoutes: env.LEGACY_ROUTES,
    fastPaths: env.FAST_PATHS,
    tracing: tracingConfig(env),
    mail: {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      outboxDir: path.resolve(env.MAIL_OUTBOX_DIR ?? path.join(dataDir, 'mail-outbox')),
      language: env.MAIL_LANGUAGE,
      digestMinutes: env.MAIL_DIGEST_MINUTES,
      maxAttempts: env.MAIL_MAX_ATTEMPTS,
      retryBaseMs: env.MAIL_RETRY_BASE_MS,
      pollMs: env.MAIL_POLL_MS === 'off' ? undefined : env.MAIL_POLL_MS,
    },
    notificationsIntervalMs: env.NOTIFICATIONS_INTERVAL_MS === 'off' ? undefined : env.NOTIFICATIONS_INTERVAL_MS,
    webhooks: {
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      pollMs: env.WEBHOOK_POLL_MS === 'off' ? undefined : env.WEBHOOK_POLL_MS,
      retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: 60 * 60_000,
      giveUpMs: env.WEBHOOK_RETRY_HOURS * 60 * 60_000,
      timeoutMs: 10_000,
      leaseMs: 60_000,
      logRetentionMs: 30 * 24 * 60 * 60_000,
    },
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    webauthn: { rpId: env.RP_ID, rpName: env.RP_NAME, origins: env.RP_ORIGIN && env.RP_ORIGIN.length > 0 ? env.RP_ORIGIN : undefined },
  };
}

function resolveConsoleDir(configured: string | undefined): string | null {
  if (configured === '') return null;
  const dir = path.resolve(configured ?? path.join(ROOT_DIR, 'apps/console/dist'));
  return existsSync(path.join(dir, 'index.html')) ? dir : null;
}

function readOrCreateDevelopmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret_key');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (!isWeakSecret(stored)) return stored;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/**
 * A configured folder, relative ones taken from the top of the installation (the repository, or
 * the release folder), where `.env` and the default `.data` and `logs` are: `pnpm ops`,
 * `pnpm start` and `pnpm dev` run in apps/api and `node apps/api/dist/server.js` wherever it is
 * typed, so the working directory would make one setting name different folders.
 */
function installationPath(configured: string): string {
  return path.resolve(ROOT_DIR, configured);
}

/**
 * Where a relative DATA_DIR's data is when an earlier release put it under the working directory
 * and the folder it now means does not exist; undefined otherwise.
 */
function dataLeftBehind(configured: string, dataDir: string): string | undefined {
  if (path.isAbsolute(configured)) return undefined;
  const before = path.resolve(configured);
  return before !== dataDir && existsSync(before) && !existsSync(dataDir) ? before : undefined;
}

/** Loads `.env` from the repository root and the working directory, without overriding what is set. */
export function loadDotEnv(): void {
  for (const file of new Set([path.join(ROOT_DIR, '.env'), path.resolve('.env')])) {
    if (existsSync(file)) process.loadEnvFile(file);
  }
}

/** The process environment, read once at start-up by the entry points. */
export function readProcessEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}

/** The OTLP traces URL as OpenTelemetry's SDKs derive it: the signal's own endpoint as given, or `/v1/traces` under the general one. */
function tracingConfig(env: z.infer<typeof environmentSchema>): AppConfig['tracing'] {
  if (env.OTEL_SDK_DISABLED) return undefined;
  const tracesUrl =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT && `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  return tracesUrl ? { tracesUrl, serviceName: env.OTEL_SERVICE_NAME, sampleRatio: env.OTEL_TRACES_SAMPLER_ARG } : undefined;
}
