import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../env';

/** The procedures a password guesser or a sign-up spammer calls: a stricter budget per address. */
const AUTH_PROCEDURES = new Set(
  ['auth.login', 'auth.register', 'auth.refresh', 'auth.changePassword', 'auth.resetPassword'].map((name) => name.toLowerCase()),
);
const AUTH_REST_PATHS = new Set([
  '/api/auth/login',
  '/api/auth/register',
  '/api/auth/refresh',
  '/api/auth/change-password',
  '/api/auth/reset-password',
]);

/** tRPC refuses larger batches anyway (MAX_BATCH_SIZE in plugins/api.ts). */
const MAX_COUNTED_CALLS = 20;

export interface RateLimitScope {
  /** How many auth procedure calls the request makes (a tRPC batch can make several). */
  authCalls: number;
}

/**
 * Which limits a request counts against, from its URL alone: everything under /api and /trpc
 * counts against the global limit (health checks and console files do not). The path is
 * decoded and folded so `/api/auth//LOGIN/` cannot slip past the auth limit.
 */
export function rateLimitScope(url: string): RateLimitScope | undefined {
  const rawPath = url.split('?')[0] ?? '/';
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  path = path.toLowerCase().replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
  if (path.startsWith('/api/')) return { authCalls: AUTH_REST_PATHS.has(path) ? 1 : 0 };
  if (path.startsWith('/trpc/')) {
    const calls = path.slice('/trpc/'.length).split(',');
    const authCalls = calls.filter((call) => AUTH_PROCEDURES.has(call.trim())).length;
    return { authCalls: Math.min(authCalls, MAX_COUNTED_CALLS) };
  }
  return undefined;
}

class TooManyRequestsError extends Error {
  readonly statusCode = 429;
  readonly headers: Record<string, string>;

  constructor(retryAfterSeconds: number) {
    super(`Too many requests; try again in ${retryAfterSeconds} seconds`);
    this.name = 'TooManyRequestsError';
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

type Verdict = Awaited<ReturnType<ReturnType<FastifyInstance['createRateLimit']>>>;

function enforce(verdict: Verdict, reply: FastifyReply, advertise: boolean): void {
  if (verdict.isAllowed) return;
  if (advertise) {
    reply.header('x-ratelimit-limit', verdict.max);
    reply.header('x-ratelimit-remaining', verdict.remaining);
    reply.header('x-ratelimit-reset', verdict.ttlInSeconds);
  }
  // The app's error handler answers it in the usual shape (the tRPC envelope under /trpc).
  if (verdict.isExceeded) throw new TooManyRequestsError(Math.max(1, verdict.ttlInSeconds));
}

/**
 * Per-address limits with @fastify/rate-limit: a global one for the API and a stricter one for
 * the auth procedures, over REST and tRPC alike. The address is `request.ip`, which follows the
 * `trustProxy` setting, so a client cannot pick its own bucket by sending X-Forwarded-For.
 * Counters live in Redis when it is configured (shared by every instance), in memory otherwise.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, options: { config: AppConfig; redis: Redis | undefined }) => {
    const { config, redis } = options;
    await app.register(rateLimit, {
      // Applied by the hook below rather than per route: tRPC and the REST bridge each serve
      // every procedure from one wildcard route, so the route alone cannot tell login apart.
      global: false,
      max: config.rateLimit.global.max,
      timeWindow: config.rateLimit.global.windowMs,
      keyGenerator: (request) => `ip:${normalizeIP(request.ip)}`,
      // When Redis is away the API keeps answering; its connection errors are logged elsewhere.
      skipOnError: true,
      ...(redis ? { redis, nameSpace: `${config.redisKeyPrefix}rate-limit:` } : {}),
    });
    const globalLimit = app.createRateLimit();
    const authLimit = app.createRateLimit({
      max: config.rateLimit.auth.max,
      timeWindow: config.rateLimit.auth.windowMs,
      keyGenerator: (request) => `auth:${normalizeIP(request.ip)}`,
    });

    app.addHook('onRequest', async (request, reply) => {
      const scope = rateLimitScope(request.url);
      if (!scope) return;
      enforce(await globalLimit(request), reply, true);
      for (let call = 0; call < scope.authCalls; call++) enforce(await authLimit(request), reply, false);
    });
  },
  { name: 'rate-limit' },
);
