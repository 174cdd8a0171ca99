import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';
import { WorkLimiter } from './work-limiter';

export interface PasswordHasherOptions {
  /** bcrypt cost (log2 rounds). */
  cost: number;
  /** Hashes computed at once; more than the cores only adds latency. */
  concurrency: number;
  /** Hashes allowed to wait; beyond it `BusyError` is thrown at once. */
  maxQueue: number;
}

// bcrypt reads at most 72 bytes, so a long password would be silently cut. Each password is
// first reduced to a fixed 44-character digest: every byte counts, and any length hashes the
// same. The HMAC key is a fixed label, not a secret: it only makes these digests differ from
// plain SHA-256 ones leaked elsewhere, so those cannot be tried against our hashes directly.
const PREHASH_KEY = 'secure-task-manager/password/v1';

function prehash(password: string): string {
  // NIST SP 800-63B: normalise Unicode so the same password typed on two keyboards matches.
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFKC'), 'utf8').digest('base64');
}

export class PasswordHasher {
  readonly #limiter: WorkLimiter;
  #cost: number;
  #dummyHash: Promise<string> | undefined;

  constructor(options: PasswordHasherOptions) {
    this.#cost = options.cost;
    this.#limiter = new WorkLimiter(options.concurrency, options.maxQueue);
  }

  get cost(): number {
    return this.#cost;
  }

  /** Changes the cost of hashes made from now on; existing hashes are upgraded as users sign in. */
  set cost(cost: number) {
    if (cost !== this.#cost) {
      this.#cost = cost;
      this.#dummyHash = undefined;
    }
  }

  get load(): { running: number; queued: number } {
    return { running: this.#limiter.running, queued: this.#limiter.queued };
  }

  hash(password: string): Promise<string> {
    const cost = this.#cost;
    return this.#limiter.run(() => bcrypt.hash(prehash(password), cost));
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.#limiter.run(() => bcrypt.compare(prehash(password), hash));
  }

  /**
   * Spends the same work as `verify` against a hash that matches nothing, for sign-ins with an
   * unknown username: the answer takes as long as for a real one, so timing reveals no names.
   */
  async verifyNothing(password: string): Promise<false> {
    this.#dummyHash ??= bcrypt.hash(prehash('no account has this password'), this.#cost);
    const dummy = await this.#dummyHash;
    await this.verify(password, dummy);
    return false;
  }

  /** True when the hash was made with another cost than the current one. */
  needsRehash(hash: string): boolean {
    try {
      return bcrypt.getRounds(hash) !== this.#cost;
    } catch {
      return true;
    }
  }
}
