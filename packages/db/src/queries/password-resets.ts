import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

/** Stores a new reset token (its hash only) after dropping the user's unused ones: only the newest works. */
export async function replaceResetToken(
  db: Kysely<Database>,
  token: { tokenHash: string; userId: number; createdBy: number | null; expiresAt: Date },
): Promise<void> {
  await dropUnusedResetTokens(db, token.userId);
  await db
    .insertInto('password_reset_tokens')
    .values({
      token_hash: token.tokenHash,
      user_id: token.userId,
      created_by: token.createdBy,
      expires_at: token.expiresAt,
    })
    .execute();
}

/** Drops the user's unused tokens: a password they chose since makes an outstanding link void. */
export async function dropUnusedResetTokens(db: Kysely<Database>, userId: number): Promise<void> {
  await db.deleteFrom('password_reset_tokens').where('user_id', '=', userId).where('used_at', 'is', null).execute();
}

/** The account a usable (unused, unexpired) token belongs to, without spending it. */
export async function findUsableResetToken(db: Kysely<Database>, tokenHash: string) {
  return db
    .selectFrom('password_reset_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['u.id as user_id', 'u.username'])
    .where('t.token_hash', '=', tokenHash)
    .where('t.used_at', 'is', null)
    .where('t.expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/**
 * Spends a token in one statement: of two concurrent uses exactly one gets the row back.
 * Returns the user it was for, or nothing when it is unknown, used or expired.
 */
export async function consumeResetToken(db: Kysely<Database>, tokenHash: string): Promise<number | undefined> {
  const row = await db
    .updateTable('password_reset_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}
