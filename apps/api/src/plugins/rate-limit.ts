// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ambient module declarations, which must reach every program that compiles this file (the console's too)
/// <reference path="../types/fastify-rate-limit-stores.d.ts" />
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor, normalizeIP } from '@fastify/rate-limit';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { AppConfig, RateLimitBudget, RateLimitClass } from '../env';
import { DomainError } from '../errors';
import type { Metrics } from '../metrics';
import type { SharedCounters } from '../services/shared-counters';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How many procedure calls a request to this route makes (a tRPC batch makes several): each
     * is a unit of the global per-address budget. Routes without it (health checks, documents,
     * console files) are not counted.
     */
    procedureCalls?: (request: FastifyRequest) => number;
  }
  interface FastifyInstance {
    /**
     * Spends one unit of the request's address's budget for a class of procedures; refuses with
     * RATE_LIMITED once it is spent. A class whose limit is off costs nothing.
     */
    spendRateLimit(request: FastifyRequest, reply: FastifyReply, limit: RateLimitClass): Promise<void>;
  }
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type Verdict = Awaited<ReturnType<Limiter>>;

/** The verdict on a spent budget as a refusal, or undefined while some is left. */
function refusalOf(verdict: Verdict): DomainError | undefined {
  if (verdict.isAllowed || !verdict.isExceeded) return undefined;
  const retryAfterSeconds = Math.max(1, verdict.ttlInSeconds);
  return new DomainError('RATE_LIMITED', `Too many requests; try again in ${retryAfterSeconds} seconds`, { retryAfterSeconds });
}

const remainingOf = (verdict: Verdict) => (verdict.isAllowed ? Number.POSITIVE_INFINITY : verdict.remaining);

/** `calls` units of one budget at once; the verdict that leaves the least (the count after them all). */
async function spend(limiter: Limiter, request: FastifyRequest, calls: number): Promise<Verdict> {
  if (calls === 1) return limiter(request);
  const verdicts = await Promise.all(Array.from({ length: calls }, () => limiter(request)));
  return verdicts.reduce((least, verdict) => (remainingOf(verdict) < remainingOf(least) ? verdict : least));
}

/**
 * The library's Redis store while Redis answers, its memory store while it does not: a count
 * that cannot reach Redis is made here instead of being skipped, so no outage lifts the limits.
 */
class SharedOrLocalStore implements FastifyRateLimitStore {
  constructor(
    private readonly shared: FastifyRateLimitStore,
    private readonly local: FastifyRateLimitStore,
    private readonly counters: SharedCounters,
  ) {}

  incr(key: string, callback: Parameters<FastifyRateLimitStore['incr']>[1], timeWindow: number, max: number): void {
    if (!this.counters.available) {
      this.counters.fellBack();
      this.local.incr(key, callback, timeWindow, max);
      return;
    }
    this.shared.incr(
      key,
      (error, result) => {
        if (!error) {
          callback(null, result);
          return;
        }
        this.counters.fellBack(error);
        this.local.incr(key, callback, timeWindow, max);
      },
      timeWindow,
      max,
    );
  }

  child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
    // A limiter from createRateLimit has no route: the Redis store's child would put
    // "undefinedundefined-" in its keys. Our key generators name the budget, so the keys stay
    // `<prefix>rate-limit:<budget>:<address>`, the same on every instance.
    const routeInfo = (routeOptions as { routeInfo?: { method?: string; url?: string } }).routeInfo;
    const shared = routeInfo?.method === undefined && routeInfo?.url === undefined ? this.shared : this.shared.child(routeOptions);
    return new SharedOrLocalStore(shared, this.local.child(routeOptions), this.counters);
  }
}

/** The plugin makes its store itself, with `new`. */
function sharedOrLocal(redis: Redis, prefix: string, counters: SharedCounters): FastifyRateLimitStoreCtor {
  return class extends SharedOrLocalStore {
    constructor() {
      super(new RedisStore(false, false, redis, prefix), new LocalStore(false, false), counters);
    }
  };
}

/**
 * The X-RateLimit-* headers of the budget that binds: each budget a request spends replaces the
 * figures of one that leaves more, so a refusal by the stricter sign-in budget is not advertised
 * with the global budget's room to spare.
 */
function advertise(reply: FastifyReply, verdict: Verdict) {
  if (verdict.isAllowed) return;
  const advertised = reply.getHeader('x-ratelimit-remaining');
  if (advertised !== undefined && Number(advertised) < verdict.remaining) return;
  reply.header('x-ratelimit-limit', verdict.max);
  reply.header('x-ratelimit-remaining', verdict.remaining);
  reply.header('x-ratelimit-reset', verdict.ttlInSeconds);
}

/**
 * Per-address limits with @fastify/rate-limit, decided by what a request reaches, never by how
 * its target is spelled: a global budget that each procedure call spends (counted per route,
 * `config.procedureCalls`, as the router matched it), and stricter budgets that a procedure
 * declares in its meta (`rateLimit: 'auth'`) and spends when it is called (see `trpc.ts`), over
 * tRPC and REST alike. The address is `request.ip`, which follows the `trustProxy` setting, so a
 * client cannot pick its own bucket by sending X-Forwarded-For. Counters live in Redis when it
 * is configured (shared by every instance), in memory otherwise.
 */
export const rateLimitPlugin = fp(
  async (
    app: FastifyInstance,
    options: { config: AppConfig; redis: Redis | undefined; sharedCounters: SharedCounters | undefined; metrics: Metrics | undefined },
  ) => {
    const { config, redis, sharedCounters, metrics } = options;
    const budgets = config.rateLimit;
    await app.register(rateLimit, {
      // Applied by the hook below rather than per route, as a tRPC batch spends a unit per call.
      global: false,
      ...(redis && sharedCounters ? { store: sharedOrLocal(redis, `${config.redisKeyPrefix}rate-limit:`, sharedCounters) } : {}),
    });
    const limiter = (budget: RateLimitBudget | undefined, name: string) =>
      budget && app.createRateLimit({ max: budget.max, timeWindow: budget.windowMs, keyGenerator: (request) => `${name}:${normalizeIP(request.ip)}` });
    const globalLimiter = limiter(budgets.global, 'ip');
    const classLimiters: Record<RateLimitClass, Limiter | undefined> = {
      auth: limiter(budgets.auth, 'auth'),
      recovery: limiter(budgets.recovery, 'recovery'),
    };

    // The calls of one request (a batch) spend one after another: the memory store hands every
    // increment in flight the same counter, so calls spending at once would each read the count
    // after all of them, and a batch of three with two units left would have all three refused.
    const spentBy = new WeakMap<FastifyRequest, Promise<unknown>>();
    app.decorate('spendRateLimit', async (request: FastifyRequest, reply: FastifyReply, limit: RateLimitClass) => {
      const classLimiter = classLimiters[limit];
      if (!classLimiter) return;
      const before = spentBy.get(request);
      const spent = before ? before.then(() => classLimiter(request)) : classLimiter(request);
      spentBy.set(
        request,
        spent.catch(() => {}),
      );
      const verdict = await spent;
      advertise(reply, verdict);
      const refusal = refusalOf(verdict);
      if (refusal) {
        metrics?.rateLimited(limit);
        throw refusal;
      }
    });

    // Each counted route gets the hook of its own, with its count of calls at hand: routes that are
    // not counted run none, and a counted one reads no route options per request.
    if (globalLimiter) {
      app.addHook('onRoute', (route) => {
        const procedureCalls = route.config?.procedureCalls;
        if (!procedureCalls) return;
        const spendCalls: onRequestHookHandler = (request, reply, done) => {
          spend(globalLimiter, request, procedureCalls(request)).then((verdict) => {
            advertise(reply, verdict);
            const refusal = refusalOf(verdict);
            if (refusal) metrics?.rateLimited('global');
            // The app's error handler answers a refusal in the usual shape (the tRPC envelope under /trpc).
            done(refusal);
          }, done);
        };
        route.onRequest = [spendCalls, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
      });
    }
  },
  { name: 'rate-limit' },
);
