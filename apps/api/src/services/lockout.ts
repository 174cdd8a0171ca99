import type { Redis } from 'ioredis';

export interface LockoutPolicy {
  /** Failures within the window before the account is locked. */
  threshold: number;
  windowSeconds: number;
}

export interface LockState {
  /** Milliseconds until sign-in is possible again; 0 when not locked. */
  retryAfterMs: number;
}

/** The first lock lasts this long; each further failure doubles it, up to the window. */
const BASE_LOCK_MS = 30_000;

export function lockDurationMs(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.threshold) return 0;
  const doublings = Math.min(failures - policy.threshold, 20);
  return Math.min(BASE_LOCK_MS * 2 ** doublings, policy.windowSeconds * 1000);
}

/**
 * Failed sign-ins counted per username (lower-cased, whether or not the account exists, so the
 * lock reveals nothing). Counters live in Redis when it is configured, so every instance counts
 * the same failures; otherwise in this process.
 */
export interface LockoutStore {
  lockState(username: string): Promise<LockState>;
  /** Records a failure and returns the lock it causes, if any. */
  recordFailure(username: string, policy: LockoutPolicy): Promise<LockState>;
  reset(username: string): Promise<void>;
  close?(): Promise<void>;
}

export class MemoryLockoutStore implements LockoutStore {
  readonly #entries = new Map<string, { failures: number; expiresAt: number; lockedUntil: number }>();

  constructor(private readonly maxEntries = 100_000) {}

  async lockState(username: string): Promise<LockState> {
    const entry = this.#live(username);
    return { retryAfterMs: entry ? Math.max(0, entry.lockedUntil - Date.now()) : 0 };
  }

  async recordFailure(username: string, policy: LockoutPolicy): Promise<LockState> {
    const now = Date.now();
    const entry = this.#live(username) ?? { failures: 0, expiresAt: 0, lockedUntil: 0 };
    entry.failures += 1;
    entry.expiresAt = now + policy.windowSeconds * 1000;
    const lockMs = lockDurationMs(entry.failures, policy);
    if (lockMs > 0) entry.lockedUntil = now + lockMs;
    this.#entries.delete(username);
    this.#entries.set(username, entry);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return { retryAfterMs: lockMs };
  }

  async reset(username: string): Promise<void> {
    this.#entries.delete(username);
  }

  #live(username: string) {
    const entry = this.#entries.get(username);
    if (entry && entry.expiresAt <= Date.now() && entry.lockedUntil <= Date.now()) {
      this.#entries.delete(username);
      return undefined;
    }
    return entry;
  }
}

// Counting and locking in one step, so two instances cannot both read "4" and both write "5".
const RECORD_FAILURE = `
local failures = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local lockMs = 0
local threshold = tonumber(ARGV[2])
if failures >= threshold then
  local doublings = math.min(failures - threshold, 20)
  lockMs = math.min(tonumber(ARGV[3]) * (2 ^ doublings), tonumber(ARGV[1]))
  redis.call('SET', KEYS[2], '1', 'PX', math.floor(lockMs))
  if redis.call('PTTL', KEYS[1]) < lockMs then redis.call('PEXPIRE', KEYS[1], math.floor(lockMs)) end
end
return math.floor(lockMs)
`;

export class RedisLockoutStore implements LockoutStore {
  constructor(
    private readonly redis: Redis,
    /** e.g. `stm:lockout:`; keys are `<prefix>count:<username>` and `<prefix>lock:<username>`. */
    private readonly prefix: string,
  ) {}

  async lockState(username: string): Promise<LockState> {
    const ttl = await this.redis.pttl(`${this.prefix}lock:${username}`);
    return { retryAfterMs: ttl > 0 ? ttl : 0 };
  }

  async recordFailure(username: string, policy: LockoutPolicy): Promise<LockState> {
    const lockMs = (await this.redis.eval(
      RECORD_FAILURE,
      2,
      `${this.prefix}count:${username}`,
      `${this.prefix}lock:${username}`,
      String(policy.windowSeconds * 1000),
      String(policy.threshold),
      String(BASE_LOCK_MS),
    )) as number;
    return { retryAfterMs: Number(lockMs) };
  }

  async reset(username: string): Promise<void> {
    await this.redis.del(`${this.prefix}count:${username}`, `${this.prefix}lock:${username}`);
  }
}
