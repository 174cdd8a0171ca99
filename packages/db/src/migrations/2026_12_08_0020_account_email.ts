import { type Kysely, sql } from 'kysely';

/** Expand-only: new nullable columns, a new table and indexes; the release before never names them. */
export const backwardCompatible = true;

/**
 * An email address per account, and the links that prove it.
 *
 * - `users.email` is only ever an address its owner proved (verified at `email_verified_at`):
 *   password-reset mail and notification mail go there and nowhere else. It is unique whatever
 *   its letter case (a unique index on `lower(email)`).
 * - `users.pending_email` is an address given but not yet confirmed. A change keeps the old,
 *   proved address in `email` until the new one is confirmed, so a typo (or someone at an
 *   unlocked computer) never leaves the account without its recovery address.
 * - `email_verification_tokens` holds the links' tokens, hashed (SHA-256), each for one address,
 *   single use, with an expiry.
 *
 * Addresses people gave for notification mail (`notification_preferences.email`, never proved)
 * become their account's pending address: their notification mail waits until they confirm it
 * (the Account page offers to send the link). That column is no longer read or written; a later
 * contract migration drops it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('email', 'text').addColumn('email_verified_at', 'timestamptz').addColumn('pending_email', 'text').execute();
  await sql`create unique index users_email_lower_key on users (lower(email))`.execute(db);

  await db.schema
    .createTable('email_verification_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('email_verification_tokens_user_idx').on('email_verification_tokens').column('user_id').execute();

  await sql`
    update users u set pending_email = p.email
    from notification_preferences p
    where p.user_id = u.id and p.email is not null and u.pending_email is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('email_verification_tokens').execute();
  await sql`drop index users_email_lower_key`.execute(db);
  await db.schema.alterTable('users').dropColumn('pending_email').dropColumn('email_verified_at').dropColumn('email').execute();
}
