import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

const keyColumns = ['kid', 'algorithm', 'public_jwk', 'private_key', 'created_at', 'retired_at', 'revoked_at'] as const;

/**
 * Keys whose tokens may still be accepted: the current one, and retired ones not revoked that
 * were retired after `retiredAfter` (before it, every token they signed has expired).
 */
export async function listUsableSigningKeys(db: Kysely<Database>, retiredAfter: Date) {
  return db
    .selectFrom('signing_keys')
    .select(keyColumns)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', retiredAfter)]))
    .orderBy('created_at', 'desc')
    .execute();
}

/** Whether the key may still sign: neither retired nor revoked (by any instance). */
export async function isCurrentSigningKey(db: Kysely<Database>, kid: string): Promise<boolean> {
  const row = await db
    .selectFrom('signing_keys')
    .select('kid')
    .where('kid', '=', kid)
    .where('retired_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

export async function listSigningKeys(db: Kysely<Database>) {
  return db.selectFrom('signing_keys').select(['kid', 'algorithm', 'created_at', 'retired_at', 'revoked_at']).orderBy('created_at', 'desc').execute();
}

export async function insertSigningKey(db: Kysely<Database>, key: { kid: string; algorithm: string; publicJwk: Record<string, unknown>; privateKey: string }) {
  return db
    .insertInto('signing_keys')
    .values({
      kid: key.kid,
      algorithm: key.algorithm,
      public_jwk: JSON.stringify(key.publicJwk),
      private_key: key.privateKey,
    })
    .returning(keyColumns)
    .executeTakeFirstOrThrow();
}

export async function retireCurrentSigningKey(db: Kysely<Database>) {
  return db
    .updateTable('signing_keys')
    .set({ retired_at: sql<Date>`now()` })
    .where('retired_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returning('kid')
    .executeTakeFirst();
}

/** Returns the revoked key's row, or nothing when no such key is live. */
export async function revokeSigningKey(db: Kysely<Database>, kid: string) {
  return db
    .updateTable('signing_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('kid', '=', kid)
    .where('revoked_at', 'is', null)
    .returning(['kid', 'retired_at'])
    .executeTakeFirst();
}
