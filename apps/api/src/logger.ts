import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { AppConfig } from './env';

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
  /** Flushes and stops the transport thread, so nothing logged is lost on exit. */
  close(): Promise<void>;
}

/**
 * JSON to stdout (pretty in development) and to a file in `log.dir` that rolls daily and keeps
 * `log.retentionDays` files. Both run in pino's transport thread, off the request path.
 */
export function createLogger(config: Pick<AppConfig, 'log'>, destination?: NodeJS.WritableStream): AppLogger {
  const options: LoggerOptions = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'stm-api' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination || config.log.level === 'silent' || (!config.log.stdout && !config.log.dir)) {
    const logger = destination ? pino(options, destination as pino.DestinationStream) : pino(options);
    return { logger, close: async () => {} };
  }
  const targets: pino.TransportTargetOptions[] = [];
  if (config.log.stdout) {
    targets.push(
      config.log.pretty
        ? { target: 'pino-pretty', level: config.log.level, options: { destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } }
        : { target: 'pino/file', level: config.log.level, options: { destination: 1 } },
    );
  }
  if (config.log.dir) {
    // pino-roll creates the folder asynchronously but links `current.log` in it at once: on a
    // fresh checkout that link could fail with ENOENT and take the process down.
    mkdirSync(config.log.dir, { recursive: true });
    targets.push({
      target: 'pino-roll',
      level: config.log.level,
      options: {
        file: path.join(config.log.dir, 'app'),
        extension: '.log',
        frequency: 'daily',
        dateFormat: 'yyyy-MM-dd',
        mkdir: true,
        symlink: true,
        limit: { count: config.log.retentionDays - 1, removeOtherLogFiles: true },
      },
    });
  }
  const transport = pino.transport({ targets });
  const logger = pino(options, transport);
  let closing: Promise<void> | undefined;
  return {
    logger,
    close() {
      closing ??= new Promise<void>((resolve) => {
        logger.flush(() => {
          transport.once('close', () => resolve());
          transport.end();
        });
        setTimeout(resolve, 2_000).unref();
      });
      return closing;
    },
  };
}
