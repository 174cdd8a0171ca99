import { changeEvents, type DatabaseHandle } from '@stm/db';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';

/** How live hubs hear that the change log has grown, besides the database's own NOTIFY. */
export interface ChangeFeed {
  /** Calls `onWake` whenever events may have been committed (and after each reconnect, when some may have been missed). */
  start(onWake: () => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * Fan-out through Redis pub/sub (REDIS_URL): the instance that commits change events publishes
 * the newest id once the commit succeeded, and every instance's hub, subscribed, reads the log
 * after its cursor. The announcement is only a wake-up; the events themselves are always read from
 * the database, so an announcement lost is a delay, never a gap.
 *
 * When Redis is away the product keeps working rather than failing, as with the shared counters:
 * a publish that cannot reach Redis is sent as NOTIFY instead, which every hub still listens for;
 * a hub whose own subscription drops reads the log when it is back, and the hubs' periodic read
 * covers whatever fell between.
 */
export class RedisChangeFeed implements ChangeFeed {
  #subscriber: Redis | undefined;
  #degraded = false;
  readonly #announce = (newestId: number) => void this.#publish(newestId);

  constructor(
    private readonly redis: Redis,
    private readonly database: DatabaseHandle,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  /** From now on this instance's commits of change events are published (not NOTIFYed in their transaction). */
  announceCommits(): void {
    this.database.announcements.announcer = this.#announce;
  }

  start(onWake: () => void): Promise<void> {
    // A subscribed connection can do nothing else: one of its own.
    const subscriber = this.redis.duplicate({ autoResubscribe: false, lazyConnect: true });
    this.#subscriber = subscriber;
    subscriber.on('error', () => {});
    subscriber.on('message', (channel: string) => {
      if (channel === this.channel) onWake();
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => onWake(),
        (error: unknown) => this.log.warn({ err: error }, 'subscribing to live changes in Redis failed'),
      );
    });
    // Not waited for: with Redis away the hub starts on NOTIFY alone, and subscribes when it can.
    subscriber.connect().catch(() => {});
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.database.announcements.announcer === this.#announce) this.database.announcements.announcer = undefined;
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    return Promise.resolve();
  }

  async #publish(newestId: number): Promise<void> {
    if (this.redis.status === 'ready') {
      try {
        await this.redis.publish(this.channel, String(newestId));
        if (this.#degraded) {
          this.#degraded = false;
          this.log.info('Redis is reachable again: live changes are announced through it again');
        }
        return;
      } catch (error) {
        this.#fellBack(error);
      }
    } else {
      this.#fellBack();
    }
    try {
      await changeEvents.notifyChangeEvents(this.database.db, newestId);
    } catch (error) {
      // Neither way: every hub's periodic read of the log still finds the events.
      this.log.warn({ err: error }, 'announcing live changes failed');
    }
  }

  #fellBack(error?: unknown) {
    if (this.#degraded) return;
    this.#degraded = true;
    this.log.warn({ err: error }, 'Redis unreachable: live changes are announced with NOTIFY until it returns');
  }
}
