import { type Kysely, sql } from 'kysely';

/** Expand-only: the release before it never reads or writes this table. */
export const backwardCompatible = true;

/**
 * The change log that live subscriptions (and later webhooks) read: one row per change to a
 * project's tasks, comments, members or the project itself, or per event addressed to one user,
 * written in the transaction of the change (a transactional outbox), so a change that rolls back
 * leaves no event and one that commits always has one.
 *
 * No foreign keys: the event of a project's deletion outlives the project, and the log is pruned
 * by age, not by what it refers to.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('change_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer')
    .addColumn('user_id', 'integer')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'bigint')
    .addColumn('actor_id', 'integer')
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('change_events_scope', sql`project_id is not null or user_id is not null`)
    .execute();
  await db.schema.createIndex('change_events_project').on('change_events').columns(['project_id', 'id']).where('project_id', 'is not', null).execute();
  await db.schema.createIndex('change_events_user').on('change_events').columns(['user_id', 'id']).where('user_id', 'is not', null).execute();
  await db.schema.createIndex('change_events_created').on('change_events').column('created_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('change_events').execute();
}
