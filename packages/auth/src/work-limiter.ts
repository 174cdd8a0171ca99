/** Thrown instead of queueing when the limiter is full; the caller should answer "try later". */
export class BusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('Too much work in flight; try again shortly');
    this.name = 'BusyError';
  }
}

/**
 * Runs at most `concurrency` jobs at once and keeps at most `maxQueue` waiting. A job beyond that
 * is refused at once: a flood cannot grow memory without bound or make everyone wait behind it.
 */
export class WorkLimiter {
  #running = 0;
  #refused = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
    private readonly retryAfterSeconds = 1,
  ) {
    if (concurrency < 1) throw new RangeError('concurrency must be at least 1');
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Jobs refused so far because the queue was full. */
  get refused(): number {
    return this.#refused;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.maxQueue) {
        this.#refused++;
        throw new BusyError(this.retryAfterSeconds);
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
      if (next) next();
      else this.#running--;
    }
  }
}
