import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

export async function findSettings(db: Kysely<Database>) {
  return db.selectFrom('settings').select(['value', 'version', 'updated_at', 'updated_by']).where('id', '=', 1).executeTakeFirst();
}

/** The version alone: a cheap poll to learn whether another instance changed the settings. */
export async function findSettingsVersion(db: Kysely<Database>): Promise<number | undefined> {
  const row = await db.selectFrom('settings').select('version').where('id', '=', 1).executeTakeFirst();
  return row?.version;
}

/** Creates the settings row if there is none; a concurrent creator wins silently. */
export async function insertSettingsIfMissing(db: Kysely<Database>, value: Record<string, unknown>) {
  await db
    .insertInto('settings')
    .values({ id: 1, value: JSON.stringify(value) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Locks the settings row for a read-modify-write. */
export async function lockSettings(db: Kysely<Database>) {
  return db.selectFrom('settings').select(['value', 'version', 'updated_at', 'updated_by']).where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
}

export async function updateSettings(db: Kysely<Database>, value: Record<string, unknown>, updatedBy: number | null) {
  return db
    .updateTable('settings')
    .set({
      value: JSON.stringify(value),
      version: sql<number>`version + 1`,
      updated_at: sql<Date>`now()`,
      updated_by: updatedBy,
    })
    .where('id', '=', 1)
    .returning(['value', 'version', 'updated_at', 'updated_by'])
    .executeTakeFirstOrThrow();
}
