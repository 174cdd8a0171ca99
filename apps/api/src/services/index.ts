import { deriveKey, type PasswordHasher } from '@stm/auth';
import { type DatabaseHandle, factors, sessions } from '@stm/db';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../env';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { AccountEmailService } from './account-email';
import { ApiTokensService } from './api-tokens';
import { AuthService } from './auth';
import { ensureAdminFromEnvironment } from './bootstrap';
import { CommentsService } from './comments';
import { FactorService } from './factors';
import { Keyring } from './keyring';
import { KnownDevices } from './known-devices';
import { LabelsService } from './labels';
import { LiveHub } from './live';
import { RedisChangeFeed } from './live-redis';
import { MailService } from './mail';
import { NotificationScheduler } from './notification-scheduler';
import { NotificationsService } from './notifications';
import { type LockoutStore, MemoryLockoutStore, RedisLockoutStore, SharedOrLocalLockoutStore } from './lockout';
import { PasswordResetService } from './password-reset';
import { ProjectsService } from './projects';
import { Quotas } from './quotas';
import { SettingsService } from './settings';
import { SharedCounters } from './shared-counters';
import { SignInThrottle } from './sign-in-throttle';
import { TasksService } from './tasks';
import { UserAdminService } from './users';
import { WebhooksService } from './webhooks';

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
  /** Personal access tokens and service accounts. */
  apiTokens: ApiTokensService;
  /** Second factors: TOTP, recovery codes, passkeys, and their challenges. */
  factors: FactorService;
  tasks: TasksService;
  projects: ProjectsService;
  labels: LabelsService;
  comments: CommentsService;
  /** The one place notifications are made, and people's notification lists and preferences. */
  notifications: NotificationsService;
  /** Due-soon and overdue notifications and mail digests, once across all instances. */
  notificationScheduler: NotificationScheduler;
  /** The mail outbox and its delivery (SMTP, or `.eml` files). */
  mail: MailService;
  users: UserAdminService;
  passwordResets: PasswordResetService;
  /** The account's email address and the links that prove it. */
  accountEmail: AccountEmailService;
  quotas: Quotas;
  /** Webhook endpoints and their delivery from the change and audit logs. */
  webhooks: WebhooksService;
  /** Live changes: the streams open on this instance, fed from the change log. */
  live: LiveHub;
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
   * The hasher; a server makes it earlier and has it `prepare()` while the database starts. The
   * services own it from here: `stop()` closes it, as does a failure to start.
   */
  hasher: PasswordHasher,
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
  const settings = new SettingsService(db, log);
  const keyring = new Keyring(db, deriveKey(config.secretKey, 'signing-keys'), log);
  // ioredis is loaded only when configured: every module loaded at start delays readiness. With
  // tracing on, it is loaded the way that lets its instrumentation see it.
  const redis = config.redisUrl
    ? new (config.tracing ? (await import('../tracing')).loadRedis() : await import('ioredis')).Redis(config.redisUrl, {
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
  const userAdmin = new UserAdminService({ db, hasher, auth, factors: factorService, stepUpMaxAgeSeconds: config.stepUpMaxAgeSeconds });
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
      await live.prune();
      await webhooks.prune();
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

  /** The rounds of the timers below that have not finished: `stop()` waits for them. */
  const running = new Set<Promise<void>>();
  const inFlight = (round: () => Promise<void>) => {
    const done: Promise<void> = round().finally(() => running.delete(done));
    running.add(done);
  };

  const quotas = new Quotas(db, settings);
  const liveFeed = redis && new RedisChangeFeed(redis, database, `${config.redisKeyPrefix}change-events`, log);
  liveFeed?.announceCommits();
  const live = new LiveHub(database, log, config.live, liveFeed);
  const notifications = new NotificationsService(db);
  const mail = new MailService(db, config.mail, log);
  const passwordResets = new PasswordResetService({ db, hasher, auth, throttle, mail, publicUrl: config.publicUrl, log });
  const accountEmail = new AccountEmailService({ db, mail, publicUrl: config.publicUrl });
  const webhooks = new WebhooksService({
    database,
    config: config.webhooks,
    secretKey: deriveKey(config.secretKey, 'webhook-secrets'),
    mail,
    log,
    publicUrl: config.publicUrl,
  });
  const notificationScheduler = new NotificationScheduler(
    db,
    notifications,
    mail,
    { intervalMs: config.notificationsIntervalMs, digestMinutes: config.mail.digestMinutes, mailLanguage: config.mail.language, publicUrl: config.publicUrl },
    log,
  );
  // prom-client is loaded only when metrics are on: every module loaded at start delays readiness.
  const metrics = config.metrics
    ? new (await import('../metrics')).Metrics({
        database,
        hasher,
        liveStreams: () => live.openStreams,
        ...(sharedCounters ? { redisDegraded: () => sharedCounters.degraded } : {}),
      })
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
    tasks: new TasksService(db, { searchTimeoutMillis: config.database.searchTimeoutMillis, quotas, notifications }),
    apiTokens: new ApiTokensService({ db, settings, log }),
    factors: factorService,
    projects: new ProjectsService(db, quotas),
    labels: new LabelsService(db),
    comments: new CommentsService(db, quotas, notifications),
    notifications,
    notificationScheduler,
    mail,
    users: userAdmin,
    passwordResets,
    accountEmail,
    quotas,
    live,
    webhooks,
    redis,
    sharedCounters,
    metrics,
    start() {
      if (timers.length > 0) return;
      timers.push(setInterval(() => inFlight(poll), config.settingsRefreshMs).unref());
      timers.push(setInterval(() => inFlight(housekeeping), HOUSEKEEPING_INTERVAL_MS).unref());
      timers.push(setInterval(() => inFlight(maintenance), HOUSEKEEPING_INTERVAL_MS).unref());
      inFlight(housekeeping);
      notificationScheduler.start();
      mail.start();
      webhooks.start();
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      try {
        // A round still running would otherwise meet a closed database, and log to a closed logger.
        await Promise.allSettled(running);
        await live.stop();
        await passwordResets.idle();
        await webhooks.stop();
        await notificationScheduler.stop();
        await mail.stop();
        if (redis) await redis.quit().catch(() => redis.disconnect());
      } finally {
        // Whatever failed above, the hashing threads stop before the process ends.
        await hasher.close();
      }
    },
  };
}
