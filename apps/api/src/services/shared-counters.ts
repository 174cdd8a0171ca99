import type { Redis } from 'ioredis';
import type { Logger } from '../logger';

const RETRY_AFTER_FAILURE_MS = 5_000;

/**
 * Whether the counters every instance shares (rate limits, failed sign-ins) can live in Redis
 * right now. While Redis is away each instance counts in its own memory instead: the limits hold
 * per instance rather than across them, which is looser but never unlimited, and every instance
 * stays in the load balancer. Once Redis answers again the counters are shared again.
 */
export class SharedCounters {
  #local = false;
  /** After a command failed, Redis is left alone this long, so a silent network costs one timeout, not one per request. */
  #retryAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {
    redis.on('error', (error) => this.fellBack(error));
    redis.on('ready', () => {
      this.#retryAt = 0;
      if (!this.#local) return;
      this.#local = false;
      log.info('Redis is reachable again: rate limits and failed sign-ins are counted across instances again');
    });
  }

  /** Try Redis for this count: it is connected (a command sent while it reconnects would wait). */
  get available(): boolean {
    return this.redis.status === 'ready' && Date.now() >= this.#retryAt;
  }

  /** Counting in this instance's memory, since Redis is away or just failed a command. */
  get degraded(): boolean {
    return this.#local || !this.available;
  }

  /** A count could not use Redis: say so once per outage, not once per request. */
  fellBack(error?: unknown): void {
    if (error !== undefined) this.#retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
    if (this.#local) return;
    this.#local = true;
    this.log.warn({ err: error }, "Redis unreachable: rate limits and failed sign-ins are counted in this instance's memory until it returns");
  }
}
