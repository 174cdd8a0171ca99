import { deriveKey, PasswordHasher } from '@stm/auth';
import { type DatabaseHandle, factors, sessions } from '@stm/db';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../env';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { AuthService } from './auth';
import { ensureAdminFromEnvironment } from './bootstrap';
import { CommentsService } from './comments';
import { FactorService } from './factors';
import { Keyring } from './keyring';
import { KnownDevices } from './known-devices';
import { LabelsService } from './labels';
import { type LockoutStore, MemoryLockoutStore, RedisLockoutStore, SharedOrLocalLockoutStore } from './lockout';
import { PasswordResetService } from './password-reset';
import { ProjectsService } from './projects';
import { Quotas } from './quotas';
import { SettingsService } from './settings';
import { SharedCounters } from './shared-counters';
import { SignInThrottle } from './sign-in-throttle';
import { TasksService } from './tasks';
import { UserAdminService } from './users';

export interface Services {
  config: AppConfig;
  database: DatabaseHandle;
  log: Logger;
  hasher: PasswordHasher;
  keyring: Keyring;
  settings: SettingsService;
  lockout: LockoutStore;
  /** Signs the device cookies that make a browser known to an account. */
  knownDevices: KnownDevices;
  auth: AuthService;
  /** Second factors: TOTP, recovery codes, passkeys, and their challenges. */
  factors: FactorService;
  tasks: TasksService;
  projects: ProjectsService;
  labels: LabelsService;
  comments: CommentsService;
  users: UserAdminService;
  passwordResets: PasswordResetService;
  quotas: Quotas;
  /** Shared counters of every instance; absent when REDIS_URL is not set. */
  redis: Redis | undefined;
  /** Whether those counters are in Redis now, or in this instance's memory while it is away. */
  sharedCounters: SharedCounters | undefined;
  /** Prometheus metrics; absent unless configured (`config.metrics`), so no request pays for them. */
  metrics: Metrics | undefined;
  /** Starts background work (settings and key polling, housekeeping). */
  start(): void;
  stop(): Promise<void>;
}

const HOUSEKEEPING_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Builds every service over one database. Nothing here knows about HTTP; the API wires these
 * into procedures, the CLI uses them directly.
 */
export async function createServices(
  config: AppConfig,
  database: DatabaseHandle,
  log: Logger,
  /**
   * A hasher made earlier, so that its start-up hash could run while the database started. The
   * services own it from here: `stop()` closes it, as does a failure to start.
   */
  hasher = new PasswordHasher(config.bcrypt),
): Promise<Services> {
  try {
    return await servicesOver(config, database, log, hasher);
  } catch (error) {
    await hasher.close();
    throw error;
  }
}

async function servicesOver(config: AppConfig, database: DatabaseHandle, log: Logger, hasher: PasswordHasher): Promise<Services> {
  const { db } = database;
  await hasher.prepare();
  const settings = new SettingsService(db, log);
  const keyring = new Keyring(db, deriveKey(config.secretKey, 'signing-keys'), log);
  // ioredis is loaded only when configured: every module loaded at start delays readiness.
  const redis = config.redisUrl
    ? new (await import('ioredis')).Redis(config.redisUrl, {
        // Fail a command quickly rather than queue it while Redis is away; callers answer 503.
        maxRetriesPerRequest: 1,
        enableOfflineQueue: true,
        connectTimeout: 2_000,
        // A network that goes silent fails a count in a second instead of holding the request.
        commandTimeout: 1_000,
        lazyConnect: false,
      })
    : undefined;
  const sharedCounters = redis && new SharedCounters(redis, log);
  const memoryLockout = new MemoryLockoutStore(config.lockoutMemoryMaxEntries);
  const lockout: LockoutStore =
    redis && sharedCounters
      ? new SharedOrLocalLockoutStore(new RedisLockoutStore(redis, `${config.redisKeyPrefix}lockout:`), memoryLockout, sharedCounters)
      : memoryLockout;
  const throttle = new SignInThrottle({ store: lockout, settings, log });
  const knownDevices = new KnownDevices(deriveKey(config.secretKey, 'known-devices'));

  await settings.init();
  await keyring.init();

  const factorService = new FactorService({
    db,
    settings,
    log,
    totpKey: deriveKey(config.secretKey, 'totp-secrets'),
    userHandleKey: deriveKey(config.secretKey, 'webauthn-user-handles'),
    webauthn: config.webauthn,
    issuer: config.webauthn.rpName,
  });
  const auth = new AuthService({
    db,
    hasher,
    keyring,
    settings,
    throttle,
    devices: knownDevices,
    factors: factorService,
    log,
    tokens: config.tokens,
    sessionMaxLifetimeSeconds: config.sessionMaxLifetimeSeconds,
    csrfKey: deriveKey(config.secretKey, 'csrf'),
  });
  const userAdmin = new UserAdminService({ db, hasher, auth, factors: factorService });
  const passwordResets = new PasswordResetService({ db, hasher, auth, throttle });
  await ensureAdminFromEnvironment({ config, db, auth, hasher, log });

  const timers: NodeJS.Timeout[] = [];
  const poll = async () => {
    try {
      await settings.refreshIfChanged();
      await keyring.reload();
    } catch (error) {
      log.debug({ err: error }, 'settings poll failed');
    }
  };
  const housekeeping = async () => {
    try {
      const removed = await sessions.deleteExpiredSessions(db, new Date(Date.now() - 24 * 60 * 60 * 1000));
      if (removed > 0) log.info({ removed }, 'expired sessions removed');
      await factors.deleteExpiredChallenges(db, new Date(Date.now() - 60 * 60 * 1000));
    } catch (error) {
      log.warn({ err: error }, 'housekeeping failed');
    }
  };
  // Not at start: on a large embedded database it holds the only connection for a while.
  const maintenance = async () => {
    try {
      await database.maintain();
    } catch (error) {
      log.warn({ err: error }, 'database maintenance failed');
    }
  };

  const quotas = new Quotas(db, settings);
  // prom-client is loaded only when metrics are on: every module loaded at start delays readiness.
  const metrics = config.metrics
    ? new (await import('../metrics')).Metrics({ database, hasher, ...(sharedCounters ? { redisDegraded: () => sharedCounters.degraded } : {}) })
    : undefined;
  return {
    config,
    database,
    log,
    hasher,
    keyring,
    settings,
    lockout,
    knownDevices,
    auth,
    factors: factorService,
    tasks: new TasksService(db, { searchTimeoutMillis: config.database.searchTimeoutMillis, quotas }),
    projects: new ProjectsService(db, quotas),
    labels: new LabelsService(db),
    comments: new CommentsService(db, quotas),
    users: userAdmin,
    passwordResets,
    quotas,
    redis,
    sharedCounters,
    metrics,
    start() {
      if (timers.length > 0) return;
      timers.push(setInterval(poll, config.settingsRefreshMs).unref());
      timers.push(setInterval(housekeeping, HOUSEKEEPING_INTERVAL_MS).unref());
      timers.push(setInterval(maintenance, HOUSEKEEPING_INTERVAL_MS).unref());
      void housekeeping();
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      if (redis) await redis.quit().catch(() => redis.disconnect());
      await hasher.close();
    },
  };
}
