import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';
import { Piscina } from 'piscina';
import { WorkLimiter } from './work-limiter';

export interface PasswordHasherOptions {
  /** bcrypt cost (log2 rounds). */
  cost: number;
  /** Hashes computed at once; more than the cores only adds latency. */
  concurrency: number;
  /** Hashes allowed to wait; beyond it `BusyError` is thrown at once. */
  maxQueue: number;
  /**
   * How much lower than the event loop the hashing threads run (nice(2) increment, 0–19; Linux
   * and macOS). A sign-in storm then takes only the CPU that answering other requests leaves.
   */
  niceIncrement?: number;
  /** The module the threads run: `password-worker.mjs` beside this one unless a test gives another. */
  workerFile?: URL;
  /**
   * `at-start` (the default): every thread starts now, as a server wants, so no request waits
   * for one. `when-needed`: the first job starts one, as a one-off command wants, most of which
   * never hash.
   */
  threads?: 'at-start' | 'when-needed';
}

/** Where a sign-in storm's hashing ranks against request handling: well below it. */
export const DEFAULT_HASHING_NICE_INCREMENT = 10;

const WORKER_FILE = new URL('./password-worker.mjs', import.meta.url);

/** How long `close()` waits for a thread still loading bcrypt before stopping it anyway. */
const THREAD_LOAD_WAIT_MS = 60_000;

// bcrypt reads at most 72 bytes, so a long password would be silently cut. Each password is
// first reduced to a fixed 44-character digest: every byte counts, and any length hashes the
// same. The HMAC key is a fixed label, not a secret: it only makes these digests differ from
// plain SHA-256 ones leaked elsewhere, so those cannot be tried against our hashes directly.
const PREHASH_KEY = 'secure-task-manager/password/v1';

function prehash(password: string): string {
  // NIST SP 800-63B: normalise Unicode so the same password typed on two keyboards matches.
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFKC'), 'utf8').digest('base64');
}

/**
 * Marks a hash carried over from the old FastAPI service (passlib's bcrypt of the password
 * itself, without our prehash): it is checked the old way and replaced at the first successful
 * sign-in (`needsRehash`). A marker rather than a guess, since both kinds start `$2b$`.
 */
const LEGACY_BCRYPT_PREFIX = 'legacy-bcrypt:';
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** Whether `hash` is a bcrypt hash as passlib and the bcrypt libraries write it (`$2a$`, `$2b$`, `$2y$`). */
export function isBcryptHash(hash: string): boolean {
  return BCRYPT_HASH.test(hash);
}

/** The stored form of an old service's bcrypt hash, which `PasswordHasher.verify` checks the old way. */
export function legacyBcryptHash(hash: string): string {
  if (!isBcryptHash(hash)) throw new Error('Not a bcrypt hash');
  return `${LEGACY_BCRYPT_PREFIX}${hash}`;
}

/** What `verifyNothing` compares with: no account has this password, since none has its hash. */
const NOBODYS_PASSWORD = 'no account has this password';

/**
 * Hashes and checks passwords with bcrypt, and estimates their strength, on worker threads of
 * lowered priority, at most `concurrency` jobs at once. Call `close()` when done: the threads
 * keep the process alive.
 */
export class PasswordHasher {
  readonly #limiter: WorkLimiter;
  readonly #threads: Piscina;
  /** Threads (by id) that have loaded bcrypt's addon, and what waits for the others. */
  readonly #loaded = new Set<number>();
  readonly #onThreadChange = new Set<() => void>();
  #closed: Promise<void> | undefined;
  #cost: number;
  #dummyHash: Promise<string> | undefined;
  readonly #done = { hashes: 0, compares: 0 };

  constructor(options: PasswordHasherOptions) {
    this.#cost = options.cost;
    this.#limiter = new WorkLimiter(options.concurrency, options.maxQueue);
    // The limiter admits at most `concurrency` jobs, so each finds a thread waiting for it; the
    // threads live as long as the hasher, as starting one costs more than a fast hash.
    this.#threads = new Piscina({
      filename: (options.workerFile ?? WORKER_FILE).href,
      minThreads: options.threads === 'when-needed' ? 0 : options.concurrency,
      maxThreads: options.concurrency,
      idleTimeout: Number.POSITIVE_INFINITY,
      niceIncrement: options.niceIncrement ?? DEFAULT_HASHING_NICE_INCREMENT,
    });
    const threadChanged = () => {
      for (const listener of this.#onThreadChange) listener();
    };
    this.#threads.on('message', (message: unknown) => {
      const loaded = (message as { passwordWorkerLoaded?: unknown } | null)?.passwordWorkerLoaded;
      if (typeof loaded === 'number') {
        this.#loaded.add(loaded);
        threadChanged();
      }
    });
    this.#threads.on('workerDestroy', threadChanged);
  }

  /**
   * Stops the hashing threads once the work in hand is done and each has loaded bcrypt: a thread
   * stopped while it loads the native addon aborts the whole process (`terminate called after
   * throwing an instance of 'Napi::Error'`). Later calls wait for the same.
   */
  close(): Promise<void> {
    this.#closed ??= this.#threadsLoaded().then(() => this.#threads.close());
    return this.#closed;
  }

  /**
   * Resolves when every live thread has loaded bcrypt, or after THREAD_LOAD_WAIT_MS. Its timer holds
   * the process open meanwhile: the threads do not, and a process that ends stops them too.
   */
  #threadsLoaded(): Promise<void> {
    const allLoaded = () => this.#threads.threads.every((thread) => this.#loaded.has(thread.threadId));
    if (allLoaded()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (allLoaded()) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.#onThreadChange.delete(check);
        resolve();
      };
      const timer = setTimeout(done, THREAD_LOAD_WAIT_MS);
      this.#onThreadChange.add(check);
    });
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

  /** Jobs on the threads now, waiting for one, and refused so far because too many waited. */
  get load(): { running: number; queued: number; refused: number } {
    return { running: this.#limiter.running, queued: this.#limiter.queued, refused: this.#limiter.refused };
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
      const hash = (await this.#threads.run({ data: prehash(password), cost }, { name: 'hash' })) as string;
      this.#done.hashes++;
      return hash;
    });
  }

  verify(password: string, hash: string): Promise<boolean> {
    const legacy = hash.startsWith(LEGACY_BCRYPT_PREFIX);
    // passlib hashed the password as typed; `$2y$` is PHP's name for the same algorithm as `$2b$`,
    // a name the bcrypt library does not accept.
    const task = legacy ? { data: password, hash: hash.slice(LEGACY_BCRYPT_PREFIX.length).replace(/^\$2y\$/, '$2b$') } : { data: prehash(password), hash };
    return this.#limiter.run(async () => {
      const matches = (await this.#threads.run(task, { name: 'compare' })) as boolean;
      this.#done.compares++;
      return matches;
    });
  }

  /**
   * zxcvbn's score of a password, 0 (guessed at once) to 4 (very hard), judged on the hashing
   * threads: some inputs take the estimate far longer than a request may hold the event loop.
   * `userInputs` are words of the account (its username) that make a password easy to guess.
   */
  estimateStrength(password: string, userInputs: string[]): Promise<number> {
    return this.#limiter.run(() => this.#threads.run({ data: password.normalize('NFKC'), userInputs }, { name: 'strength' }) as Promise<number>);
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

  /** True when the hash was made with another cost than the current one, or by the old service. */
  needsRehash(hash: string): boolean {
    if (hash.startsWith(LEGACY_BCRYPT_PREFIX)) return true;
    try {
      return bcrypt.getRounds(hash) !== this.#cost;
    } catch {
      return true;
    }
  }
}
