import type { Redis } from 'ioredis';

export interface LockoutPolicy {
  /** Failures within the window from one client before that client is locked out of the account. */
  threshold: number;
  windowSeconds: number;
}

/**
 * Whether the client is known to the account: a known one is never slowed by the account's
 * failures from elsewhere. `unchecked`: the store answers `ask` if it comes to matter.
 */
export type Standing = 'known' | 'unknown' | 'unchecked';

/** Who tries which account from where. */
export interface AttemptOrigin {
  /** The lower-cased username, whether or not such an account exists. */
  account: string;
  address: string;
  /**
   * A device that signed in to this account before (by its signed cookie). Its attempts are
   * counted apart from its address, so neither a lock on the address nor guesses made from it
   * by others keep the device out.
   */
  device: string | null;
  standing: Standing;
}

/** Which count refused an attempt: its client's (address or device), its address's across accounts, or the account's slowing. */
export type RefusedBy = 'client' | 'address' | 'account';

export type Admission =
  | { outcome: 'admitted' }
  | { outcome: 'refused'; retryAfterMs: number; by: RefusedBy }
  /** Only attempts still being checked fill the budget: ask again once some have settled. */
  | { outcome: 'full' }
  /** The account is being slowed: is this client known to it? Ask again with the answer. */
  | { outcome: 'ask' };

export type AttemptResult = 'failed' | 'succeeded' | 'abandoned';

export interface Settlement {
  /** The lock this failure started on its client (ms; 0: none). */
  clientLockMs: number;
  /** Set on the failure that takes the account's count to the threshold, once per window. */
  accountAlert: { failures: number } | null;
}

/** There is no room for more counters, and none may be forgotten to make some. */
export class LockoutStoreFull extends Error {
  constructor() {
    super('The failed-login counters are full');
    this.name = 'LockoutStoreFull';
  }
}

/** The first lock lasts this long; each further failure doubles it, up to the window. */
const BASE_LOCK_MS = 30_000;
/** An account's first slowing lets one attempt from an unknown client through per second; each further failure doubles it, up to a minute. */
const BASE_SLOW_MS = 1_000;
const MAX_SLOW_MS = 60_000;
/** An attempt being checked holds its place this long at most, should its process die meanwhile. */
export const RESERVATION_MS = 30_000;
/** A password reset lifts the locks of earlier failures; it is remembered longer than any lock lasts. */
const RESET_MEMORY_MS = 2 * 86_400_000;
/** One address may fail this many times the threshold across all accounts in a window (password spraying). */
export const ADDRESS_THRESHOLD_FACTOR = 10;

export function addressThreshold(policy: LockoutPolicy): number {
  return policy.threshold * ADDRESS_THRESHOLD_FACTOR;
}

export function lockDurationMs(failures: number, threshold: number, windowMs: number): number {
  if (failures < threshold) return 0;
  return Math.floor(Math.min(BASE_LOCK_MS * 2 ** Math.min(failures - threshold, 20), windowMs));
}

export function slowIntervalMs(accountFailures: number, threshold: number): number {
  return Math.floor(Math.min(BASE_SLOW_MS * 2 ** Math.min(accountFailures - threshold, 20), MAX_SLOW_MS));
}

/** The lower-cased username failed sign-ins are counted by, in any letter case, whether or not it exists. */
export function accountKeyOf(username: string): string {
  return username.trim().toLowerCase();
}

/** The names of an attempt's counters; a client is named first, as its id holds no `|`. */
function keysOf(origin: AttemptOrigin) {
  const client = origin.device === null ? `a:${origin.address}` : `d:${origin.device}`;
  return {
    client: `client:${client}|${origin.account}`,
    address: `address:${origin.address}`,
    account: `account:${origin.account}`,
    reset: `reset:${origin.account}`,
  };
}

/**
 * Failed sign-ins, counted three ways (OWASP ASVS V2.2.1, without letting anyone lock anyone out):
 *
 * - per client of an account (its address, or a known device): `threshold` failures within the
 *   window lock that client out of the account, for 30 s doubling with each further failure;
 * - per address across accounts: ten times as many failures lock the address out of every
 *   account (password spraying), known devices excepted;
 * - per account, from everywhere: at the threshold the account is only slowed, one attempt from
 *   an unknown client at a time, at growing intervals; known clients are not slowed at all.
 *
 * An attempt holds a place in its client's and address's budgets while its password is checked,
 * so simultaneous guesses never check more passwords than the budget; when only such attempts
 * fill it, the caller waits for them to settle. A failure counts; a success frees the place and
 * clears its client's failures. Places expire by themselves, should a process die mid-check.
 * Counts cover one window from their first failure, renewed by every failure at or past the
 * threshold; missing accounts are counted exactly like existing ones. Counters live in Redis
 * when it is configured, so that every instance counts the same attempts; otherwise here.
 */
export interface LockoutStore {
  /** Takes a place for the attempt `attemptId`, or says why not. */
  admit(origin: AttemptOrigin, attemptId: string, policy: LockoutPolicy): Promise<Admission>;
  settle(origin: AttemptOrigin, attemptId: string, result: AttemptResult, policy: LockoutPolicy): Promise<Settlement>;
  /** After a password reset: every lock of the account's earlier failures, and its slowing, are lifted. */
  clearAccount(account: string): Promise<void>;
}

interface Counter {
  failures: number;
  /** When the window's first failure happened (for a reset marker: when the reset happened). */
  since: number;
  /** When the failures are forgotten. */
  expiresAt: number;
  lockedUntil: number;
  /** Attempts being checked: id → when their place lapses. */
  inFlight: Map<string, number>;
  /** An account: when the next attempt from an unknown client may go through. */
  slowedUntil: number;
  alertedUntil: number;
}

const NO_SETTLEMENT: Settlement = { clientLockMs: 0, accountAlert: null };
/** When full, expired counters are looked for at most this often: a sweep walks them all. */
const SWEEP_INTERVAL_MS = 1_000;

/**
 * The counters of one process. Memory is bounded by the number of counters, not by forgetting
 * them: only counters whose window, lock and places have all passed are removed, and when
 * `maxEntries` are live an attempt that needs new ones is refused (`LockoutStoreFull`), so
 * trying many names can never wipe a live lock.
 */
export class MemoryLockoutStore implements LockoutStore {
  readonly #entries = new Map<string, Counter>();
  #sweptAt = 0;

  constructor(private readonly maxEntries = 100_000) {}

  // Settled promises rather than `async`: the store keeps the contract of the shared one, and a
  // refusal (`LockoutStoreFull`) still arrives as a rejection.
  admit(origin: AttemptOrigin, attemptId: string, policy: LockoutPolicy): Promise<Admission> {
    return new Promise((resolve) => {
      resolve(this.#admit(origin, attemptId, policy));
    });
  }

  settle(origin: AttemptOrigin, attemptId: string, result: AttemptResult, policy: LockoutPolicy): Promise<Settlement> {
    return new Promise((resolve) => {
      resolve(this.#settle(origin, attemptId, result, policy));
    });
  }

  clearAccount(account: string): Promise<void> {
    return new Promise((resolve) => {
      this.#clearAccount(account);
      resolve();
    });
  }

  #admit(origin: AttemptOrigin, attemptId: string, policy: LockoutPolicy): Admission {
    const now = Date.now();
    const keys = keysOf(origin);
    const byDevice = origin.device !== null;
    const resetAt = this.#live(keys.reset, now)?.since ?? 0;
    const client = this.#live(keys.client, now);
    if (client && client.failures > 0 && client.since <= resetAt) forgetFailures(client, now);
    const address = byDevice ? undefined : this.#live(keys.address, now);
    // An address this account signed in from before keeps a path in (its own budget still holds).
    if (address && address.lockedUntil > now && origin.standing !== 'known') {
      if (origin.standing === 'unchecked') return { outcome: 'ask' };
      return { outcome: 'refused', retryAfterMs: address.lockedUntil - now, by: 'address' };
    }
    if (client && client.lockedUntil > now) return { outcome: 'refused', retryAfterMs: client.lockedUntil - now, by: 'client' };
    if (client && room(client, policy.threshold) <= 0) return { outcome: 'full' };
    if (address && origin.standing !== 'known' && room(address, addressThreshold(policy)) <= 0) return { outcome: 'full' };
    const account = this.#live(keys.account, now);
    const slowed = origin.standing !== 'known' && account !== undefined && account.failures >= policy.threshold;
    if (slowed) {
      if (origin.standing === 'unchecked') return { outcome: 'ask' };
      if (account.slowedUntil > now) return { outcome: 'refused', retryAfterMs: account.slowedUntil - now, by: 'account' };
    }
    // The account's counter is made by a failure later; its room is kept now.
    const missing = Number(!client) + Number(!byDevice && !address) + Number(!account);
    if (missing > 0 && this.#entries.size + missing > this.maxEntries) {
      this.#sweep(now);
      if (this.#entries.size + missing > this.maxEntries) throw new LockoutStoreFull();
    }
    if (slowed) account.slowedUntil = now + slowIntervalMs(account.failures, policy.threshold);
    this.#counter(keys.client, client, now).inFlight.set(attemptId, now + RESERVATION_MS);
    if (!byDevice) this.#counter(keys.address, address, now).inFlight.set(attemptId, now + RESERVATION_MS);
    return { outcome: 'admitted' };
  }

  #settle(origin: AttemptOrigin, attemptId: string, result: AttemptResult, policy: LockoutPolicy): Settlement {
    const now = Date.now();
    const keys = keysOf(origin);
    const byDevice = origin.device !== null;
    const client = this.#entries.get(keys.client);
    client?.inFlight.delete(attemptId);
    if (!byDevice) this.#entries.get(keys.address)?.inFlight.delete(attemptId);
    if (result === 'succeeded' && client) forgetFailures(client, now);
    if (result !== 'failed') return NO_SETTLEMENT;
    const windowMs = policy.windowSeconds * 1000;
    const clientLockMs = this.#count(keys.client, policy.threshold, windowMs, now, true);
    if (!byDevice) this.#count(keys.address, addressThreshold(policy), windowMs, now, true);
    this.#count(keys.account, policy.threshold, windowMs, now, false);
    const account = this.#entries.get(keys.account) as Counter;
    let accountAlert: Settlement['accountAlert'] = null;
    if (account.failures >= policy.threshold && account.alertedUntil <= now) {
      account.alertedUntil = now + windowMs;
      accountAlert = { failures: account.failures };
    }
    return { clientLockMs, accountAlert };
  }

  #clearAccount(account: string): void {
    const now = Date.now();
    const keys = keysOf({ account, address: '', device: null, standing: 'unknown' });
    this.#entries.delete(keys.account);
    this.#entries.set(keys.reset, { ...emptyCounter(now), since: now, expiresAt: now + RESET_MEMORY_MS });
  }

  /** Counts a failure; returns the lock it started (0: none). */
  #count(key: string, threshold: number, windowMs: number, now: number, locks: boolean): number {
    const counter = this.#counter(key, this.#live(key, now), now);
    if (counter.failures === 0) {
      counter.since = now;
      counter.expiresAt = now + windowMs;
    }
    counter.failures += 1;
    if (counter.failures < threshold) return 0;
    counter.expiresAt = now + windowMs;
    if (!locks) return 0;
    const lockMs = lockDurationMs(counter.failures, threshold, windowMs);
    counter.lockedUntil = now + lockMs;
    return lockMs;
  }

  #counter(key: string, existing: Counter | undefined, now: number): Counter {
    if (existing) return existing;
    const counter = emptyCounter(now);
    this.#entries.set(key, counter);
    return counter;
  }

  /** The counter, unless everything it remembers has passed (then it goes). */
  #live(key: string, now: number): Counter | undefined {
    const counter = this.#entries.get(key);
    if (counter && !isLive(counter, now)) {
      this.#entries.delete(key);
      return undefined;
    }
    return counter;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_INTERVAL_MS) return;
    this.#sweptAt = now;
    for (const [key, counter] of this.#entries) {
      if (!isLive(counter, now)) this.#entries.delete(key);
    }
  }
}

function emptyCounter(now: number): Counter {
  return { failures: 0, since: now, expiresAt: now, lockedUntil: 0, inFlight: new Map(), slowedUntil: 0, alertedUntil: 0 };
}

function forgetFailures(counter: Counter, now: number): void {
  counter.failures = 0;
  counter.lockedUntil = 0;
  counter.expiresAt = now;
}

function isLive(counter: Counter, now: number): boolean {
  for (const [id, lapsesAt] of counter.inFlight) {
    if (lapsesAt <= now) counter.inFlight.delete(id);
  }
  return counter.expiresAt > now || counter.lockedUntil > now || counter.slowedUntil > now || counter.inFlight.size > 0;
}

/** Places left: the failures still allowed, or one attempt after a lock has passed; less those being checked. */
function room(counter: Counter, threshold: number): number {
  return (counter.failures < threshold ? threshold - counter.failures : 1) - counter.inFlight.size;
}

// Each step is one script, so that every instance sees checking, counting and locking as one.
// Time is Redis's own (TIME), the one clock all instances share.
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

// KEYS: client, client places, address, address places, account, reset.
// ARGV: attempt id, threshold, address threshold, reservation ms, standing, by device, slow base ms, slow max ms.
const ADMIT = `${NOW}
local threshold, addressThreshold, reservationMs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local standing, byDevice = ARGV[5], ARGV[6] == '1'
local function counter(key)
  local v = redis.call('HMGET', key, 'f', 'since', 'lock')
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
end
local function room(failures, places, limit)
  redis.call('ZREMRANGEBYSCORE', places, '-inf', now)
  local allowed = limit - failures
  if allowed < 1 then allowed = 1 end
  return allowed - redis.call('ZCARD', places)
end
local clientFailures, clientSince, clientLock = counter(KEYS[1])
local resetAt = tonumber(redis.call('GET', KEYS[6]) or '0')
if clientFailures > 0 and clientSince <= resetAt then
  redis.call('DEL', KEYS[1])
  clientFailures, clientLock = 0, 0
end
local addressFailures, addressLock = 0, 0
if not byDevice then
  local _
  addressFailures, _, addressLock = counter(KEYS[3])
  if addressLock > now and standing ~= 'known' then
    if standing == 'unchecked' then return {'ask'} end
    return {'refused', addressLock - now, 'address'}
  end
end
if clientLock > now then return {'refused', clientLock - now, 'client'} end
if room(clientFailures, KEYS[2], threshold) <= 0 then return {'full'} end
if not byDevice and standing ~= 'known' and room(addressFailures, KEYS[4], addressThreshold) <= 0 then return {'full'} end
if standing ~= 'known' then
  local v = redis.call('HMGET', KEYS[5], 'f', 'slowed')
  local accountFailures, slowedUntil = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if accountFailures >= threshold then
    if standing == 'unchecked' then return {'ask'} end
    if slowedUntil > now then return {'refused', slowedUntil - now, 'account'} end
    local interval = math.floor(math.min(tonumber(ARGV[7]) * 2 ^ math.min(accountFailures - threshold, 20), tonumber(ARGV[8])))
    redis.call('HSET', KEYS[5], 'slowed', now + interval)
  end
end
redis.call('ZADD', KEYS[2], now + reservationMs, ARGV[1])
redis.call('PEXPIRE', KEYS[2], reservationMs)
if not byDevice then
  redis.call('ZADD', KEYS[4], now + reservationMs, ARGV[1])
  redis.call('PEXPIRE', KEYS[4], reservationMs)
end
return {'admitted'}
`;

// KEYS: as ADMIT. ARGV: attempt id, result, threshold, address threshold, window ms, by device, lock base ms.
const SETTLE = `${NOW}
local result, byDevice = ARGV[2], ARGV[6] == '1'
local windowMs, baseLockMs = tonumber(ARGV[5]), tonumber(ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[1])
if not byDevice then redis.call('ZREM', KEYS[4], ARGV[1]) end
if result == 'succeeded' then redis.call('DEL', KEYS[1]) end
if result ~= 'failed' then return {0, 0, 0} end
local function count(key, limit, locks)
  local failures = redis.call('HINCRBY', key, 'f', 1)
  if failures == 1 then
    redis.call('HSET', key, 'since', now)
    redis.call('PEXPIRE', key, windowMs)
  end
  local lockMs = 0
  if failures >= limit then
    redis.call('PEXPIRE', key, windowMs)
    if locks then
      lockMs = math.floor(math.min(baseLockMs * 2 ^ math.min(failures - limit, 20), windowMs))
      redis.call('HSET', key, 'lock', now + lockMs)
    end
  end
  return failures, lockMs
end
local threshold = tonumber(ARGV[3])
local _, clientLockMs = count(KEYS[1], threshold, true)
if not byDevice then count(KEYS[3], tonumber(ARGV[4]), true) end
local accountFailures = count(KEYS[5], threshold, false)
local alert = 0
if accountFailures >= threshold and tonumber(redis.call('HGET', KEYS[5], 'alerted') or '0') <= now then
  redis.call('HSET', KEYS[5], 'alerted', now + windowMs)
  alert = 1
end
return {clientLockMs, alert, accountFailures}
`;

// KEYS: account, reset. ARGV: how long the reset is remembered (ms).
const CLEAR_ACCOUNT = `${NOW}
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], now, 'PX', ARGV[1])
`;

export class RedisLockoutStore implements LockoutStore {
  constructor(
    private readonly redis: Redis,
    /** e.g. `stm:lockout:`; every key is `<prefix><kind>:<name>`. */
    private readonly prefix: string,
  ) {}

  async admit(origin: AttemptOrigin, attemptId: string, policy: LockoutPolicy): Promise<Admission> {
    const answer = (await this.redis.eval(
      ADMIT,
      6,
      ...this.#keys(origin),
      attemptId,
      String(policy.threshold),
      String(addressThreshold(policy)),
      String(RESERVATION_MS),
      origin.standing,
      origin.device === null ? '0' : '1',
      String(BASE_SLOW_MS),
      String(MAX_SLOW_MS),
    )) as [string, number?, RefusedBy?];
    const [outcome, retryAfterMs, by] = answer;
    if (outcome === 'refused') return { outcome, retryAfterMs: Number(retryAfterMs), by: by as RefusedBy };
    return { outcome: outcome as 'admitted' | 'full' | 'ask' };
  }

  async settle(origin: AttemptOrigin, attemptId: string, result: AttemptResult, policy: LockoutPolicy): Promise<Settlement> {
    const [clientLockMs, alert, accountFailures] = (await this.redis.eval(
      SETTLE,
      6,
      ...this.#keys(origin),
      attemptId,
      result,
      String(policy.threshold),
      String(addressThreshold(policy)),
      String(policy.windowSeconds * 1000),
      origin.device === null ? '0' : '1',
      String(BASE_LOCK_MS),
    )) as [unknown, unknown, unknown];
    return { clientLockMs: Number(clientLockMs), accountAlert: Number(alert) === 1 ? { failures: Number(accountFailures) } : null };
  }

  async clearAccount(account: string): Promise<void> {
    const keys = keysOf({ account, address: '', device: null, standing: 'unknown' });
    await this.redis.eval(CLEAR_ACCOUNT, 2, this.prefix + keys.account, this.prefix + keys.reset, String(RESET_MEMORY_MS));
  }

  #keys(origin: AttemptOrigin): string[] {
    const keys = keysOf(origin);
    const p = this.prefix;
    return [p + keys.client, `${p}places:${keys.client}`, p + keys.address, `${p}places:${keys.address}`, p + keys.account, p + keys.reset];
  }
}

/**
 * The Redis counters while Redis answers, this process's own while it does not (see
 * SharedCounters). An attempt admitted by one and settled by the other is still counted: each
 * store counts a failure it holds no place for.
 */
export class SharedOrLocalLockoutStore implements LockoutStore {
  constructor(
    private readonly shared: LockoutStore,
    private readonly local: LockoutStore,
    private readonly counters: { readonly available: boolean; fellBack(error?: unknown): void },
  ) {}

  admit(origin: AttemptOrigin, attemptId: string, policy: LockoutPolicy): Promise<Admission> {
    return this.#use((store) => store.admit(origin, attemptId, policy));
  }

  settle(origin: AttemptOrigin, attemptId: string, result: AttemptResult, policy: LockoutPolicy): Promise<Settlement> {
    return this.#use((store) => store.settle(origin, attemptId, result, policy));
  }

  clearAccount(account: string): Promise<void> {
    return this.#use((store) => store.clearAccount(account));
  }

  async #use<T>(call: (store: LockoutStore) => Promise<T>): Promise<T> {
    if (this.counters.available) {
      try {
        return await call(this.shared);
      } catch (error) {
        if (error instanceof LockoutStoreFull) throw error;
        this.counters.fellBack(error);
        return call(this.local);
      }
    }
    this.counters.fellBack();
    return call(this.local);
  }
}
