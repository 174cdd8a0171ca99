import type { Redis } from 'ioredis';

export interface LockoutPolicy {
  /** Failures within the window before the account is locked. */
  threshold: number;
  windowSeconds: number;
}

export interface Admission {
  /** Milliseconds the account stays locked; > 0 means this attempt is refused unchecked. */
  retryAfterMs: number;
  /** The lock this attempt started by reaching the threshold; lifted again if its password is right. */
  lockStartedMs: number;
}

/** The first lock lasts this long; each further failure doubles it, up to the window. */
const BASE_LOCK_MS = 30_000;

export function lockDurationMs(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.threshold) return 0;
  const doublings = Math.min(failures - policy.threshold, 20);
  return Math.min(BASE_LOCK_MS * 2 ** doublings, policy.windowSeconds * 1000);
}

/**
 * Sign-in attempts counted per username (lower-cased, whether or not the account exists, so the
 * lock reveals nothing). An attempt is counted before its password is checked: of a burst of
 * simultaneous guesses, the one that reaches the threshold starts the lock and every later one is
 * refused unchecked. A correct password clears the count. The count covers one window from the
 * first attempt; once the threshold is reached each further attempt keeps it for another window,
 * so locks keep growing while the guessing goes on. Counters live in Redis when it is configured,
 * so every instance counts the same attempts; otherwise in this process.
 */
export interface LockoutStore {
  admit(username: string, policy: LockoutPolicy): Promise<Admission>;
  /** After a correct password: the count and any lock go. */
  reset(username: string): Promise<void>;
  close?(): Promise<void>;
}

export class MemoryLockoutStore implements LockoutStore {
  readonly #entries = new Map<string, { attempts: number; expiresAt: number; lockedUntil: number }>();

  constructor(private readonly maxEntries = 100_000) {}

  async admit(username: string, policy: LockoutPolicy): Promise<Admission> {
    const now = Date.now();
    const windowMs = policy.windowSeconds * 1000;
    const entry = this.#live(username, now) ?? { attempts: 0, expiresAt: now + windowMs, lockedUntil: 0 };
    if (entry.lockedUntil > now) return { retryAfterMs: entry.lockedUntil - now, lockStartedMs: 0 };
    entry.attempts += 1;
    const lockMs = lockDurationMs(entry.attempts, policy);
    if (lockMs > 0) {
      entry.lockedUntil = now + lockMs;
      entry.expiresAt = now + windowMs;
    }
    // Re-inserted so the map's order is least recently used first, for the eviction below.
    this.#entries.delete(username);
    this.#entries.set(username, entry);
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return { retryAfterMs: 0, lockStartedMs: lockMs };
  }

  async reset(username: string): Promise<void> {
    this.#entries.delete(username);
  }

  #live(username: string, now: number) {
    const entry = this.#entries.get(username);
    if (entry && entry.expiresAt <= now && entry.lockedUntil <= now) {
      this.#entries.delete(username);
      return undefined;
    }
    return entry;
  }
}

// One script, so that checking the lock, counting and locking are a single step for every instance.
const ADMIT = `
local lockTtl = redis.call('PTTL', KEYS[2])
if lockTtl > 0 then return {lockTtl, 0} end
local windowMs = tonumber(ARGV[1])
local attempts = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], windowMs) end
local threshold = tonumber(ARGV[2])
local lockMs = 0
if attempts >= threshold then
  local doublings = math.min(attempts - threshold, 20)
  lockMs = math.floor(math.min(tonumber(ARGV[3]) * (2 ^ doublings), windowMs))
  redis.call('SET', KEYS[2], '1', 'PX', lockMs)
  redis.call('PEXPIRE', KEYS[1], windowMs)
end
return {0, lockMs}
`;

export class RedisLockoutStore implements LockoutStore {
  constructor(
    private readonly redis: Redis,
    /** e.g. `stm:lockout:`; keys are `<prefix>count:<username>` and `<prefix>lock:<username>`. */
    private readonly prefix: string,
  ) {}

  async admit(username: string, policy: LockoutPolicy): Promise<Admission> {
    const [retryAfterMs, lockStartedMs] = (await this.redis.eval(
      ADMIT,
      2,
      `${this.prefix}count:${username}`,
      `${this.prefix}lock:${username}`,
      String(policy.windowSeconds * 1000),
      String(policy.threshold),
      String(BASE_LOCK_MS),
    )) as [number, number];
    return { retryAfterMs: Number(retryAfterMs), lockStartedMs: Number(lockStartedMs) };
  }

  async reset(username: string): Promise<void> {
    await this.redis.del(`${this.prefix}count:${username}`, `${this.prefix}lock:${username}`);
  }
}
