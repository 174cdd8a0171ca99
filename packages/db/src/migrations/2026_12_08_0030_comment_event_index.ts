import { sql, type Kysely } from 'kysely';

/** Expand-only: an index; the release before never relies on it. */
export const backwardCompatible = true;

/**
 * The change log's events that carry a comment's text, by comment: an edit or a deletion takes
 * the text out of the comment's earlier events (the log keeps no words their author took back),
 * which without this index would read every event of the project still kept.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index change_events_comment on change_events (entity_id) where kind in ('comment.created', 'comment.updated')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('change_events_comment').execute();
}
