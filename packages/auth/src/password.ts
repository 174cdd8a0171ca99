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

/** What `verifyNothing` compares with: no account has this password, since none has its hash. */
const NOBODYS_PASSWORD = 'no account has this password';

export class PasswordHasher {
  readonly #limiter: WorkLimiter;
  #cost: number;
  #dummyHash: Promise<string> | undefined;
  readonly #done = { hashes: 0, compares: 0 };

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
      this.prepare().catch(() => {});
    }
  }

  get load(): { running: number; queued: number } {
    return { running: this.#limiter.running, queued: this.#limiter.queued };
  }

  /** bcrypt work finished so far: hashes made and compares run (a metric; tests count with it). */
  get done(): { hashes: number; compares: number } {
    return { ...this.#done };
  }

  /**
   * Makes the hash `verifyNothing` compares with. Called at start, so that no sign-in pays for it
   * and every one of them costs exactly one bounded compare.
   */
  async prepare(): Promise<void> {
    await this.#nobodysHash();
  }

  hash(password: string): Promise<string> {
    const cost = this.#cost;
    return this.#limiter.run(async () => {
      const hash = await bcrypt.hash(prehash(password), cost);
      this.#done.hashes++;
      return hash;
    });
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.#limiter.run(async () => {
      const matches = await bcrypt.compare(prehash(password), hash);
      this.#done.compares++;
      return matches;
    });
  }

  /**
   * Spends the same work as `verify` against a hash that matches nothing, for sign-ins with an
   * unknown username: the answer takes as long as for a real one, so timing reveals no names.
   */
  async verifyNothing(password: string): Promise<false> {
    await this.verify(password, await this.#nobodysHash());
    return false;
  }

  #nobodysHash(): Promise<string> {
    this.#dummyHash ??= this.hash(NOBODYS_PASSWORD).catch((error: unknown) => {
      this.#dummyHash = undefined;
      throw error;
    });
    return this.#dummyHash;
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
