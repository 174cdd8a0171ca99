import {
  CLOCK_TOLERANCE_SECONDS,
  type CryptoKey,
  decryptPrivateKey,
  encryptPrivateKey,
  generateSigningKey,
  importPrivateKey,
  importPublicKey,
  type JWK,
} from '@stm/auth';
import { type Database, type Kysely, signingKeys, sql } from '@stm/db';
import { ACCESS_TOKEN_TTL_MAX_SECONDS } from '@stm/validators';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { type Actor, type ClientInfo, recordAudit } from './audit';

interface VerificationKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
}

export interface SigningKeyInfo {
  kid: string;
  algorithm: string;
  createdAt: Date;
  retiredAt: Date | null;
  revokedAt: Date | null;
  status: 'current' | 'retired' | 'revoked';
}

/** Unknown key ids trigger a reload at most this often, so forged `kid`s cannot hammer the database. */
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 1_000;

/**
 * How long a retired key keeps verifying (and stays in the JWKS): until every token it can have
 * signed has expired, at the longest access token lifetime the settings allow.
 */
const RETIRED_KEY_VERIFIES_MS = (ACCESS_TOKEN_TTL_MAX_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000;

function retiredAfter(): Date {
  return new Date(Date.now() - RETIRED_KEY_VERIFIES_MS);
}

/**
 * The signing keys: the current one signs, retired ones still verify until their tokens expire,
 * revoked ones verify nothing. Private keys are stored encrypted; only the current one is ever
 * decrypted, and only in memory.
 */
export class Keyring {
  #verification = new Map<string, VerificationKey>();
  #current: { kid: string; privateKey: CryptoKey } | undefined;
  /**
   * When an unknown `kid` last caused a reload. Not the time of any reload: the regular poll
   * reloads every few hundred milliseconds, and a token signed a moment ago by a key another
   * instance just made would be refused until the next poll.
   */
  #lastUnknownKidReloadAt = 0;
  #reloading: Promise<void> | undefined;
  readonly #revocationListeners = new Set<() => void>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly encryptionKey: Buffer,
    private readonly log: Logger,
  ) {}

  /** Makes sure a signing key exists (creating the first one) and loads the keys. */
  async init(): Promise<void> {
    await this.reload();
    await this.#ensureCurrentKey();
  }

  /**
   * Creates a signing key when none is current: at first start, or after the current key was
   * revoked by something that did not make a successor (an operator in SQL, a crashed instance).
   */
  async #ensureCurrentKey(): Promise<{ kid: string; privateKey: CryptoKey }> {
    if (!this.#current) {
      await this.#withKeyLock(async (trx) => {
        const usable = await signingKeys.listUsableSigningKeys(trx, retiredAfter());
        if (!usable.some((key) => key.retired_at === null)) await this.#createKey(trx);
      });
      await this.reload();
    }
    if (!this.#current) throw new Error('No signing key could be created');
    return this.#current;
  }

  /** Called after a key is revoked anywhere: caches keyed on verified tokens must drop them. */
  onRevocation(listener: () => void): void {
    this.#revocationListeners.add(listener);
  }

  get currentKid(): string | undefined {
    return this.#current?.kid;
  }

  /**
   * The key to sign with. Another instance may have rotated or revoked it since this one last
   * polled, so the database is asked (one indexed read, for sign-ins and refreshes only): a
   * token signed by a revoked key would be refused on its first use.
   */
  async signingKey(): Promise<{ kid: string; privateKey: CryptoKey }> {
    const current = this.#current ?? (await this.#ensureCurrentKey());
    if (await signingKeys.isCurrentSigningKey(this.db, current.kid)) return current;
    await this.reload();
    return this.#ensureCurrentKey();
  }

  /** The public key for a `kid`, reloading once if another instance made a key we have not seen. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    const known = this.#verification.get(kid);
    if (known) return known.publicKey;
    if (Date.now() - this.#lastUnknownKidReloadAt < UNKNOWN_KID_RELOAD_INTERVAL_MS) return undefined;
    this.#lastUnknownKidReloadAt = Date.now();
    await this.reload();
    return this.#verification.get(kid)?.publicKey;
  }

  /** The public keys tokens may be verified with, as a JWK Set: neither revoked nor retired past use. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.#verification.values()].map((key) => key.publicJwk) };
  }

  async list(): Promise<SigningKeyInfo[]> {
    const rows = await signingKeys.listSigningKeys(this.db);
    return rows.map((row) => ({
      kid: row.kid,
      algorithm: row.algorithm,
      createdAt: row.created_at,
      retiredAt: row.retired_at,
      revokedAt: row.revoked_at,
      status: row.revoked_at ? 'revoked' : row.retired_at ? 'retired' : 'current',
    }));
  }

  /** A new key takes over signing; the previous one keeps verifying the tokens it signed. */
  async rotate(actor: Actor, client: ClientInfo | null): Promise<{ kid: string; previousKid: string | null }> {
    const result = await this.#withKeyLock(async (trx) => {
      const retired = await signingKeys.retireCurrentSigningKey(trx);
      const kid = await this.#createKey(trx);
      await recordAudit(trx, {
        action: 'key.rotated',
        actor,
        client,
        target: { type: 'signing_key', id: kid },
        details: { previousKid: retired?.kid ?? null },
      });
      return { kid, previousKid: retired?.kid ?? null };
    });
    await this.reload();
    return result;
  }

  /**
   * Revokes a key: every token it signed stops working at once, on every instance (the
   * per-request check reads the key's state). Revoking the current key also makes a new one.
   */
  async revoke(kid: string, actor: Actor, client: ClientInfo | null): Promise<{ kid: string; newKid: string | null }> {
    const result = await this.#withKeyLock(async (trx) => {
      const revoked = await signingKeys.revokeSigningKey(trx, kid);
      if (!revoked) throw new DomainError('NOT_FOUND', 'No usable signing key has this id');
      const newKid = revoked.retired_at === null ? await this.#createKey(trx) : null;
      await recordAudit(trx, {
        action: 'key.revoked',
        actor,
        client,
        target: { type: 'signing_key', id: kid },
        details: { newKid },
      });
      return { kid, newKid };
    });
    await this.reload();
    this.#notifyRevocation();
    return result;
  }

  /** Re-reads the keys; concurrent callers share one read. */
  reload(): Promise<void> {
    this.#reloading ??= this.#load().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #load(): Promise<void> {
    const rows = await signingKeys.listUsableSigningKeys(this.db, retiredAfter());
    const next = new Map<string, VerificationKey>();
    for (const row of rows) {
      const existing = this.#verification.get(row.kid);
      const publicJwk = row.public_jwk as JWK;
      next.set(row.kid, existing ?? { kid: row.kid, publicJwk, publicKey: await importPublicKey(publicJwk) });
    }
    const hadRevocation = [...this.#verification.keys()].some((kid) => !next.has(kid));
    this.#verification = next;
    const currentRow = rows.find((row) => row.retired_at === null);
    if (!currentRow) {
      this.#current = undefined;
    } else if (this.#current?.kid !== currentRow.kid) {
      const privateJwk = decryptPrivateKey(currentRow.private_key, currentRow.kid, this.encryptionKey);
      this.#current = { kid: currentRow.kid, privateKey: await importPrivateKey(privateJwk) };
      this.log.info({ kid: currentRow.kid }, 'signing key in use');
    }
    if (hadRevocation) this.#notifyRevocation();
  }

  async #createKey(trx: Kysely<Database>): Promise<string> {
    const key = await generateSigningKey();
    await signingKeys.insertSigningKey(trx, {
      kid: key.kid,
      algorithm: key.algorithm,
      publicJwk: key.publicJwk,
      privateKey: encryptPrivateKey(key.privateJwk, key.kid, this.encryptionKey),
    });
    return key.kid;
  }

  /** Key changes are serialized across instances by a transaction-scoped advisory lock. */
  #withKeyLock<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('stm.signing_keys'))`.execute(trx);
      return work(trx);
    });
  }

  #notifyRevocation(): void {
    for (const listener of this.#revocationListeners) listener();
  }
}
