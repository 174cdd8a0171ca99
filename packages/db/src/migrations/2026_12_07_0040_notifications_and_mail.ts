import { type Kysely, sql } from 'kysely';

/** Expand-only: new tables the release before never names. */
export const backwardCompatible = true;

/**
 * Notifications per user, each person's choices about them, and the mail outbox.
 *
 * - `notifications.dedupe_key` is unique per user: the scheduler's time-based notifications
 *   (`due_soon:<task>:<due time>`) are written with it, so a second run, on this instance or on
 *   another, finds the row there and adds nothing.
 * - `in_app` and `mail_wanted` are the person's preferences when the notification was made; a
 *   row with both off still exists, as the record that the event was handled.
 * - `mail_outbox` is written in the transaction that decides to send, and delivered after it by
 *   a worker with retries, so a request never waits on a mail server and a message is never lost
 *   or sent for a change that rolled back.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('assigned', 'mentioned', 'commented', 'due_soon', 'overdue')`))
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('actor_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('comment_id', 'integer', (c) => c.references('task_comments.id').onDelete('set null'))
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('dedupe_key', 'text')
    .addColumn('in_app', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('mail_wanted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('mailed_at', 'timestamptz')
    .addColumn('read_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('notifications_user_dedupe_key', ['user_id', 'dedupe_key'])
    .execute();
  await db.schema.createIndex('notifications_user_id_idx').on('notifications').columns(['user_id', 'id']).execute();
  await sql`create index notifications_unread_idx on notifications (user_id) where in_app and read_at is null`.execute(db);
  await sql`create index notifications_mail_pending_idx on notifications (user_id) where mail_wanted and mailed_at is null`.execute(db);
  await db.schema.createIndex('notifications_task_idx').on('notifications').column('task_id').execute();

  await db.schema
    .createTable('notification_preferences')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // { "<kind>": { "inApp": boolean, "mail": boolean } }; a kind missing takes the default.
    .addColumn('kinds', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('email', 'text')
    .addColumn('language', 'text', (c) => c.check(sql`language in ('en', 'es')`))
    .addColumn('last_digest_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('text_body', 'text', (c) => c.notNull())
    .addColumn('html_body', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('failed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index mail_outbox_due_idx on mail_outbox (next_attempt_at) where sent_at is null and failed_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('mail_outbox').execute();
  await db.schema.dropTable('notification_preferences').execute();
  await db.schema.dropTable('notifications').execute();
}
