import type { AccessTokenClaims } from '@stm/auth';

/**
 * Claims of access tokens whose signature was already verified, keyed by the whole token. A
 * signature check costs hundreds of microseconds; a map lookup does not. Entries never outlive
 * the token's `exp`, the cache is bounded (oldest evicted first), and it is cleared whenever a
 * signing key is revoked. Session, account and key state are still read on every request.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, AccessTokenClaims>();

  constructor(private readonly maxEntries = 10_000) {}

  get(token: string, nowSeconds: number): AccessTokenClaims | undefined {
    const claims = this.#entries.get(token);
    if (claims === undefined) return undefined;
    if (claims.expiresAt <= nowSeconds) {
      this.#entries.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: AccessTokenClaims): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(token, claims);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
