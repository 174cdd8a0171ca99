import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

/** The account's addresses: the proved one and the one waiting for confirmation. */
export async function findUserEmail(db: Kysely<Database>, userId: number) {
  return db.selectFrom('users').select(['id', 'username', 'email', 'email_verified_at', 'pending_email']).where('id', '=', userId).executeTakeFirst();
}

/** The same, locked until the transaction ends: changes to the account's address take turns. */
export async function lockUserEmail(db: Kysely<Database>, userId: number) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'email', 'email_verified_at', 'pending_email'])
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
}

/** Another account whose proved address this is, in any letter case. */
export async function findOtherUserWithEmail(db: Kysely<Database>, email: string, exceptUserId: number) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'email'])
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .where('id', '<>', exceptUserId)
    .executeTakeFirst();
}

/** The active person whose proved address this is, in any letter case: the one a reset mail may go to. */
export async function findResetCandidateByEmail(db: Kysely<Database>, email: string) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'email'])
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .where('is_active', '=', true)
    .where('kind', '=', 'person')
    .executeTakeFirst();
}

/** The active person of this username, any case, with their proved address (null: none). */
export async function findResetCandidateByUsername(db: Kysely<Database>, username: string) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'email'])
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .where('is_active', '=', true)
    .where('kind', '=', 'person')
    .executeTakeFirst();
}

/** Sets the address waiting for confirmation (null: none). */
export async function setPendingEmail(db: Kysely<Database>, userId: number, email: string | null): Promise<void> {
  await db
    .updateTable('users')
    .set({ pending_email: email, updated_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .execute();
}

/** Forgets both addresses. */
export async function clearEmail(db: Kysely<Database>, userId: number): Promise<void> {
  await db
    .updateTable('users')
    .set({ email: null, email_verified_at: null, pending_email: null, updated_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .execute();
}

/**
 * The pending address becomes the proved one. Throws the database's unique violation when
 * another account proved the same address first.
 */
export async function confirmEmail(db: Kysely<Database>, userId: number, email: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ email, email_verified_at: sql<Date>`now()`, pending_email: null, updated_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .execute();
}

/** Stores a new link's token (its hash only) after dropping the user's unused ones: only the newest works. */
export async function replaceVerificationToken(
  db: Kysely<Database>,
  token: { tokenHash: string; userId: number; email: string; expiresAt: Date },
): Promise<void> {
  await dropVerificationTokens(db, token.userId);
  await db
    .insertInto('email_verification_tokens')
    .values({ token_hash: token.tokenHash, user_id: token.userId, email: token.email, expires_at: token.expiresAt })
    .execute();
}

/** The user's unused links stop working. */
export async function dropVerificationTokens(db: Kysely<Database>, userId: number): Promise<void> {
  await db.deleteFrom('email_verification_tokens').where('user_id', '=', userId).where('used_at', 'is', null).execute();
}

/**
 * Spends a link in one statement: of two concurrent uses exactly one gets the row back. Only
 * a link for the address still pending counts (a later change dropped the others anyway).
 */
export async function consumeVerificationToken(db: Kysely<Database>, tokenHash: string) {
  return db
    .updateTable('email_verification_tokens as t')
    .set({ used_at: sql<Date>`now()` })
    .from('users as u')
    .whereRef('u.id', '=', 't.user_id')
    .whereRef('u.pending_email', '=', 't.email')
    .where('t.token_hash', '=', tokenHash)
    .where('t.used_at', 'is', null)
    .where('t.expires_at', '>', sql<Date>`now()`)
    .returning(['t.user_id', 't.email', 'u.username', 'u.email as previous_email'])
    .executeTakeFirst();
}

/** Mail of one kind written for the account since `since`: what its per-account budgets count. */
export async function countMailSince(db: Kysely<Database>, userId: number, kinds: readonly string[], since: Date): Promise<number> {
  const row = await db
    .selectFrom('mail_outbox')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('user_id', '=', userId)
    .where('kind', 'in', kinds)
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return row.count;
}
