import { type Kysely, sql } from 'kysely';

/** Expand-only: new tables, and a column the release before neither reads nor writes. */
export const backwardCompatible = true;

/**
 * Webhooks: endpoints (a project's, or global when `project_id` is null) and the log of every
 * delivery attempt.
 *
 * - Each endpoint keeps its own cursors into the outboxes it reads: `change_cursor`, the last
 *   `change_events.id` it is done with (ids follow commit order, see `appendChangeEvents`), and
 *   for global endpoints `audit_cursor_tx`/`audit_cursor_id` into the audit log.
 * - `locked_until`/`lease_token`: the one worker delivering to an endpoint now (claimed with
 *   `FOR UPDATE SKIP LOCKED`), so its messages go out in order, one at a time.
 * - `audit_events.tx`: the transaction that wrote the row. Audit ids come from a sequence and do
 *   not follow commit order (a row with a lower id may commit later), so a reader takes only rows
 *   of transactions older than every one still running (`pg_snapshot_xmin`), in (tx, id) order:
 *   no transaction can add a row below that horizon any more, and nothing is skipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('event_types', sql`text[]`, (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_reason', 'text')
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('previous_secret_sealed', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .addColumn('change_cursor', 'bigint', (c) => c.notNull())
    .addColumn('audit_cursor_tx', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('audit_cursor_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failing_since', 'timestamptz')
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('lease_token', 'uuid')
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_endpoints_project').on('webhook_endpoints').columns(['project_id', 'id']).execute();
  await sql`create index webhook_endpoints_due on webhook_endpoints (next_attempt_at) where active`.execute(db);

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('endpoint_id', 'integer', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    // Exactly the bytes signed and sent, so a redelivery sends the same message.
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('manual', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('succeeded', 'boolean', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('response_excerpt', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_created').on('webhook_deliveries').column('created_at').execute();

  await sql`alter table audit_events add column tx xid8 not null default pg_current_xact_id()`.execute(db);
  await sql`create index audit_events_tx on audit_events (tx, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_events drop column tx`.execute(db);
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhook_endpoints').execute();
}
