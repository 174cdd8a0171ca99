import type { Kysely } from 'kysely';

/** Expand-only: the release before it runs on the schema it leaves. */
export const backwardCompatible = true;

/**
 * What each applied migration promised: whether the release before it runs on its schema. An
 * older build that finds migrations newer than it knows reads this to decide whether it may
 * serve (a rollback during a rolling upgrade) or must refuse to start.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('migration_notes')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('backward_compatible', 'boolean', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('migration_notes').execute();
}
