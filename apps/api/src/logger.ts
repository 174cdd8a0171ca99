// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration, which must reach every program that compiles this file (the console's too)
/// <reference path="./types/pino-roll.d.ts" />
import { accessSync, chmod, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { type AppConfig, ConfigError } from './env';

export type { Logger } from 'pino';

/**
 * Anything that may hold a secret, wherever it appears in a log object. Request bodies are never
 * logged; these are a second line for when someone logs an object carelessly.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'access_token',
  'refresh_token',
  'accessToken',
  'refreshToken',
  'secret',
  'secretKey',
  'privateKey',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.secretKey',
  '*.privateKey',
  '*.authorization',
  '*.cookie',
  '*.*.password',
  '*.*.token',
  '*.*.refresh_token',
  '*.*.access_token',
];

export interface AppLogger {
  logger: Logger;
  /**
   * The one-line-per-request log, into the same destinations. It skips redaction, which costs
   * several times the rest of a log line, because its lines carry only fields the access hook
   * picks (method, path, status, duration, address, user id), never a header, body or token.
   */
  access: Logger;
  /** Flushes what is buffered and closes the files, so nothing logged is lost on exit. */
  close(): Promise<void>;
  /** Writes out what is buffered at once; for the last moments of a crashing process. */
  flushSync(): void;
}

type SonicBoom = ReturnType<typeof pino.destination>;

/** Lines are written in batches of this many bytes (or on close): one write per batch, not per line. */
const BUFFER_BYTES = 4096;
/**
 * And at least this often: a quiet server's last lines (a database gone, say) must not wait in
 * the buffer for lines that may never come, nor be lost with the process if it is killed.
 */
const FLUSH_INTERVAL_MS = 1_000;

/**
 * Log files are for the account the server runs as: they name users, addresses and what they
 * did. A folder we make is private too; one the operator made keeps its own mode (a group may be
 * given access to it on purpose).
 */
const LOG_FILE_MODE = 0o600;
const LOG_DIR_MODE = 0o700;

/**
 * JSON to stdout (pretty in development) and to a file in `log.dir` that rolls daily and keeps
 * `log.retentionDays` files. Both are written from this thread through buffered, asynchronous
 * streams: a transport thread would cost a cross-thread hand-off on every line, which measured as
 * a large share of a short request.
 */
export async function createLogger(
  config: Pick<AppConfig, 'log'> & Partial<Pick<AppConfig, 'tracing'>>,
  destination?: NodeJS.WritableStream,
): Promise<AppLogger> {
  const options: LoggerOptions = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'stm-api' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Each line written while a traced request runs names its trace and span.
    ...(config.tracing ? { mixin: (await import('./tracing')).logTraceFields } : {}),
  };
  const { redact: _redact, ...accessOptions } = options;
  if (destination) {
    const stream = destination as pino.DestinationStream;
    return { logger: pino(options, stream), access: pino(accessOptions, stream), close: async () => {}, flushSync: () => {} };
  }
  const streams: { level: pino.Level; stream: pino.DestinationStream }[] = [];
  const files: SonicBoom[] = [];
  let rolling: SonicBoom | undefined;
  if (config.log.level !== 'silent' && config.log.stdout) {
    if (config.log.pretty) {
      // Loaded only when used: every module loaded at start delays readiness.
      const { default: pinoPretty } = await import('pino-pretty');
      streams.push({
        level: config.log.level as pino.Level,
        stream: pinoPretty({ destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' }),
      });
    } else {
      const stdout = pino.destination({ dest: 1, minLength: BUFFER_BYTES, periodicFlush: FLUSH_INTERVAL_MS, sync: false });
      files.push(stdout);
      streams.push({ level: config.log.level as pino.Level, stream: stdout });
    }
  }
  // In a container the folder is often read-only or not the process user's: stdout is the log there.
  const unwritable = config.log.level !== 'silent' && config.log.dir ? unwritableReason(config.log.dir) : undefined;
  if (unwritable && streams.length === 0) {
    throw new ConfigError([
      `LOG_DIR ${config.log.dir} cannot be written (${unwritable}), and with LOG_STDOUT=false the log has nowhere else to go: make the folder writable, or set LOG_STDOUT=true`,
    ]);
  }
  if (config.log.level !== 'silent' && config.log.dir && unwritable === undefined) {
    // pino-roll links `current.log` in the folder at once; it must exist first.
    mkdirSync(config.log.dir, { recursive: true, mode: LOG_DIR_MODE });
    const { default: pinoRoll } = await import('pino-roll');
    const file: SonicBoom = await pinoRoll({
      file: path.join(config.log.dir, 'app'),
      extension: '.log',
      frequency: 'daily',
      dateFormat: 'yyyy-MM-dd',
      mkdir: true,
      symlink: true,
      limit: { count: config.log.retentionDays - 1, removeOtherLogFiles: true },
      minLength: BUFFER_BYTES,
      periodicFlush: FLUSH_INTERVAL_MS,
      mode: LOG_FILE_MODE,
    });
    rolling = file;
    files.push(file);
    streams.push({ level: config.log.level as pino.Level, stream: file });
  }
  if (streams.length === 0) {
    const silent = pino({ ...options, level: 'silent' });
    return { logger: silent, access: silent, close: async () => {}, flushSync: () => {} };
  }
  const output = streams.length === 1 ? (streams[0] as { stream: pino.DestinationStream }).stream : pino.multistream(streams);
  const logger = pino(options, output);
  if (rolling) keepPrivate(rolling, logger);
  if (unwritable) logger.warn({ logDir: config.log.dir, reason: unwritable }, 'the log folder is not writable: logging to stdout only');
  const access = pino(accessOptions, output);
  let closing: Promise<void> | undefined;
  return {
    logger,
    access,
    flushSync() {
      for (const file of files) {
        try {
          file.flushSync();
        } catch {
          // A stream not yet open or already closed has nothing to flush.
        }
      }
    },
    close() {
      closing ??= Promise.all(
        files.map(
          (file) =>
            new Promise<void>((resolve) => {
              file.once('close', () => resolve());
              file.once('error', () => resolve());
              file.end();
              setTimeout(resolve, 2_000).unref();
            }),
        ),
      ).then(() => undefined);
      return closing;
    },
  };
}

/**
 * `mode` applies to a file opened new; today's file, left by an earlier release or made under
 * another umask, is narrowed each time one is opened (at start and at every roll).
 */
function keepPrivate(file: SonicBoom & { readonly file?: string; readonly fd?: number }, logger: Logger): void {
  // `file` and `fd` are sonic-boom's own fields, which pino's type leaves out.
  const restrict = () => {
    if (!file.file) return;
    chmod(file.file, LOG_FILE_MODE, (error) => {
      if (error) logger.warn({ err: error }, 'could not make the log file private to its owner');
    });
  };
  file.on('ready', restrict);
  if ((file.fd ?? -1) >= 0) restrict();
}

/** What a request's logger offers: Fastify's logger, and the level check the access hook makes. */
export type RequestLogger = FastifyBaseLogger & Pick<Logger, 'isLevelEnabled'>;

/** Why log files cannot be written in `dir` (made if missing), or undefined when they can. */
function unwritableReason(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: LOG_DIR_MODE });
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR/EEXIST: a regular file where a folder of the path should be. Each is a folder we
    // cannot write in, which the operator fixes the same way.
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOENT') return code;
    throw error;
  }
}
