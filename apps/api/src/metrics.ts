import type { PasswordHasher } from '@stm/auth';
import type { DatabaseHandle } from '@stm/db';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RateLimitClass } from './env';

/** What the metrics read from when scraped. */
export interface MetricSources {
  database: DatabaseHandle;
  hasher: PasswordHasher;
  /** Whether the shared counters are in this instance's memory now; absent without Redis. */
  redisDegraded?: () => boolean;
  /** Live subscriptions open on this instance now. */
  liveStreams?: () => number;
}

/** Seconds; from a cached `auth.me` to a sign-in's bcrypt. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How a sign-in ended, from the outcome of a procedure whose meta says `signIn`. */
const SIGN_IN_OUTCOMES: Record<string, string> = {
  ok: 'succeeded',
  INVALID_CREDENTIALS: 'failed',
  ACCOUNT_LOCKED: 'throttled',
  RATE_LIMITED: 'rate_limited',
};

/**
 * The Prometheus metrics of one instance (prom-client). Every label has few values: procedures
 * and routes by name or pattern, outcomes by reason code, never an id, a username or an address.
 * Made only when metrics are turned on (`METRICS_TOKEN` or `METRICS_PORT`): otherwise no request
 * pays for them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #procedureSeconds: Histogram<'procedure' | 'outcome'>;
  readonly #httpSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly #signIns: Counter<'outcome'>;
  readonly #rateLimitRefusals: Counter<'budget'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'stm_' });
    this.#procedureSeconds = new Histogram({
      name: 'stm_procedure_duration_seconds',
      help: 'Procedure calls over tRPC and REST, by procedure and outcome (ok, or the refusal reason)',
      labelNames: ['procedure', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#httpSeconds = new Histogram({
      name: 'stm_http_request_duration_seconds',
      help: 'HTTP requests, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#signIns = new Counter({ name: 'stm_sign_ins_total', help: 'Sign-in attempts by outcome', labelNames: ['outcome'], registers });
    this.#rateLimitRefusals = new Counter({
      name: 'stm_rate_limit_refusals_total',
      help: 'Procedure calls refused with 429 by a per-address budget (global, or auth)',
      labelNames: ['budget'],
      registers,
    });
    new Gauge({
      name: 'stm_db_pool_connections',
      help: 'Database connections: open, idle, and requests waiting for one (PostgreSQL)',
      labelNames: ['state'],
      registers,
      collect() {
        const usage = sources.database.connections?.();
        if (!usage) return;
        this.set({ state: 'open' }, usage.open);
        this.set({ state: 'idle' }, usage.idle);
        this.set({ state: 'waiting' }, usage.waiting);
      },
    });
    new Gauge({
      name: 'stm_password_hash_jobs',
      help: 'Password hashing jobs (bcrypt, strength estimates) running and waiting',
      labelNames: ['state'],
      registers,
      collect() {
        const { running, queued } = sources.hasher.load;
        this.set({ state: 'running' }, running);
        this.set({ state: 'queued' }, queued);
      },
    });
    new Counter({
      name: 'stm_password_hash_refusals_total',
      help: 'Password hashing jobs refused because the queue was full (answered 503 SERVER_BUSY)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.hasher.load.refused);
      },
    });
    const { liveStreams } = sources;
    if (liveStreams) {
      new Gauge({
        name: 'stm_live_subscriptions',
        help: 'Live subscriptions (server-sent event streams of changes) open on this instance',
        registers,
        collect() {
          this.set(liveStreams());
        },
      });
    }
    const { redisDegraded } = sources;
    if (redisDegraded) {
      new Gauge({
        name: 'stm_redis_degraded',
        help: "1 while Redis is unreachable and limits are counted in this instance's memory",
        registers,
        collect() {
          this.set(redisDegraded() ? 1 : 0);
        },
      });
    }
  }

  /** `signIn`: the procedure is a sign-in (its meta says so), counted by outcome too. */
  procedureDone(procedure: string, outcome: string, seconds: number, signIn = false): void {
    this.#procedureSeconds.observe({ procedure, outcome }, seconds);
    if (signIn) this.#signIns.inc({ outcome: SIGN_IN_OUTCOMES[outcome] ?? 'refused' });
  }

  requestDone(method: string, route: string, status: number, seconds: number): void {
    this.#httpSeconds.observe({ method, route, status: String(status) }, seconds);
  }

  rateLimited(budget: 'global' | RateLimitClass): void {
    this.#rateLimitRefusals.inc({ budget });
  }
}
