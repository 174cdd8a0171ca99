/*
 * Fast path: pino's `child()` for each request's logger (Fastify's default `childLoggerFactory`),
 * made lazily. Held to pino by logging.test.ts (request lines and their bindings), which the
 * `stock` Vitest project (FAST_PATHS=false) runs on Fastify's own child loggers.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LogFn, Logger } from 'pino';
import type { RequestLogger } from '../logger';

/**
 * Fastify's `childLoggerFactory`: a request's logger becomes a pino child on its first use, not
 * with every request. Making a child runs the redaction over its bindings (the request id) at
 * once, ~4 % of what a short request allocates, and most requests never log through theirs: the
 * access line has a logger of its own.
 */
export function lazyRequestLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): RequestLogger {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Fastify's logger here is the pino instance the app was built with (`loggerInstance`)
  return new LazyChildLogger(parent as Logger, bindings, options);
}

class LazyChildLogger implements RequestLogger {
  #child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  #logger(): Logger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  isLevelEnabled(level: string): boolean {
    if (this.#child) return this.#child.isLevelEnabled(level);
    const values = this.parent.levels.values;
    const threshold = values[this.level];
    const asked = values[level];
    return asked !== undefined && threshold !== undefined && asked >= threshold;
  }

  // Methods, not arrow-function fields: fields would allocate seven closures per request.
  fatal(...args: Parameters<LogFn>): void {
    this.#logger().fatal(...args);
  }

  error(...args: Parameters<LogFn>): void {
    this.#logger().error(...args);
  }

  warn(...args: Parameters<LogFn>): void {
    this.#logger().warn(...args);
  }

  info(...args: Parameters<LogFn>): void {
    this.#logger().info(...args);
  }

  debug(...args: Parameters<LogFn>): void {
    this.#logger().debug(...args);
  }

  trace(...args: Parameters<LogFn>): void {
    this.#logger().trace(...args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}
