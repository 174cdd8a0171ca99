import type { Kysely } from 'kysely';

/** Expand-only: the release before it runs on the schema it leaves. */
export const backwardCompatible = true;

/**
 * "Keep me signed in", remembered per session: it chooses which idle timeout and lifetime apply.
 * Expand-only: the previous release never names the column, and its sign-ins get the default.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Sessions opened before this release were promised the long lifetime: they keep it. New ones
  // are not remembered unless their sign-in asks.
  await db.schema
    .alterTable('sessions')
    .addColumn('remember', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();
  await db.schema
    .alterTable('sessions')
    .alterColumn('remember', (c) => c.setDefault(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('remember').execute();
}
