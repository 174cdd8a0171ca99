import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { type AttemptOrigin, type AttemptResult, type LockoutPolicy, type LockoutStore, LockoutStoreFull, type RefusedBy, type Settlement } from './lockout';
import type { SettingsService } from './settings';

/** A password check that holds a place in the counters until it is settled. */
export interface Attempt {
  readonly origin: AttemptOrigin;
  readonly id: string;
  settled: boolean;
}

export type Admitted = { attempt: Attempt; refused?: undefined } | { attempt?: undefined; refused: { retryAfterMs: number; by: RefusedBy } };

/**
 * How long an attempt waits for the checks in flight ahead of it to settle before it is turned
 * away as busy. A password check takes a fraction of a second; this covers a queue of them.
 */
const WAIT_FOR_PLACE_MS = 3_000;
const FIRST_POLL_MS = 20;
const LONGEST_POLL_MS = 200;
const FULL_WARNING_INTERVAL_MS = 60_000;

/**
 * Admits password checks through the failed-login counters (see `LockoutStore`) under the live
 * policy, and settles them. Without the counters no password is checked: an outage must not lift
 * the lockout.
 */
export class SignInThrottle {
  #fullWarnedAt = 0;

  constructor(private readonly deps: { store: LockoutStore; settings: SettingsService; log: Logger }) {}

  /**
   * A place for one password check, or the refusal (locked or slowed). Waits, briefly, while only
   * checks in flight fill the budget. `isKnownAddress` is asked at most once, and only when the
   * account is being slowed.
   */
  async admit(origin: AttemptOrigin, isKnownAddress: () => Promise<boolean>): Promise<Admitted> {
    const attempt: Attempt = { origin: { ...origin }, id: randomUUID(), settled: false };
    const deadline = Date.now() + WAIT_FOR_PLACE_MS;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const admission = await this.#call(() => this.deps.store.admit(attempt.origin, attempt.id, this.#policy()));
      switch (admission.outcome) {
        case 'admitted':
          return { attempt };
        case 'refused':
          return { refused: { retryAfterMs: admission.retryAfterMs, by: admission.by } };
        case 'ask':
          attempt.origin.standing = (await isKnownAddress()) ? 'known' : 'unknown';
          continue;
        case 'full':
          if (Date.now() + pause > deadline) {
            throw new DomainError('SERVER_BUSY', 'Too many sign-ins are being checked at once; try again shortly', {
              retryAfterSeconds: 2,
            });
          }
          await sleep(pause);
          pause = Math.min(pause * 1.5, LONGEST_POLL_MS);
      }
    }
  }

  /**
   * Counts the attempt's result. Never throws: a failure that cannot be counted now is still
   * refused, and its place lapses by itself.
   */
  async settle(attempt: Attempt, result: AttemptResult): Promise<Settlement> {
    if (attempt.settled) return { clientLockMs: 0, accountAlert: null };
    attempt.settled = true;
    try {
      return await this.deps.store.settle(attempt.origin, attempt.id, result, this.#policy());
    } catch (error) {
      this.deps.log.warn({ err: error, result }, 'failed-login counters not updated');
      return { clientLockMs: 0, accountAlert: null };
    }
  }

  /** A user who just proved control of the account (a password reset) is no longer locked out by earlier failures. */
  async clearAccount(account: string): Promise<void> {
    try {
      await this.deps.store.clearAccount(account);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'failed-login counters of the account not cleared');
    }
  }

  #policy(): LockoutPolicy {
    const settings = this.deps.settings.current;
    return { threshold: settings.lockoutThreshold, windowSeconds: settings.lockoutWindowSeconds };
  }

  async #call<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof LockoutStoreFull) {
        const now = Date.now();
        if (now - this.#fullWarnedAt > FULL_WARNING_INTERVAL_MS) {
          this.#fullWarnedAt = now;
          this.deps.log.warn('failed-login counters full: sign-ins that need new counters are refused');
        }
        throw new DomainError('SERVER_BUSY', 'The server is busy; try again shortly', { retryAfterSeconds: 10, cause: error });
      }
      this.deps.log.error({ err: error }, 'failed-login counters unavailable');
      throw new DomainError('LOCKOUT_UNAVAILABLE', 'Password checks are unavailable for a moment; try again shortly', {
        retryAfterSeconds: 5,
      });
    }
  }
}
