import { type Kysely, sql } from 'kysely';
import { DEFAULT_MIGRATION_TABLE as MIGRATION_TABLE, type MigrationResult, Migrator } from 'kysely/migration';
import { migrations } from './migrations';

export interface MigrationReport {
  applied: string[];
}

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/**
 * Brings the schema to the newest migration; concurrent callers are serialized by Kysely's lock.
 * A schema already at exactly the migrations this version knows is left alone after one read:
 * the migrator's own check (introspecting the catalog, creating its tables if missing, taking
 * its lock) costs a noticeable share of every start, and it runs whenever anything differs.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  if (await appliesExactly(db, migrationNames())) return { applied: [] };
  const { error, results } = await createMigrator(db).migrateToLatest();
  return report(error, results);
}

/**
 * Brings the schema to exactly `name`, up or down; with a transaction as `db` it happens inside
 * it (a restore builds the schema of the backup's version, loads it, then migrates on).
 */
export async function migrateTo(db: Kysely<any>, name: string): Promise<MigrationReport> {
  const { error, results } = await createMigrator(db).migrateTo(name);
  return report(error, results);
}

/**
 * Whether the recorded migrations are exactly `names`. Reads without failing when the table does
 * not exist yet, so it is safe inside a transaction too (a failed statement would abort it).
 */
async function appliesExactly(db: Kysely<any>, names: string[]): Promise<boolean> {
  const { rows } = await sql<{ exists: boolean }>`select to_regclass(${MIGRATION_TABLE}) is not null as exists`.execute(db);
  if (!rows[0]?.exists) return false;
  const applied = await db.selectFrom(MIGRATION_TABLE).select('name').execute();
  const known = new Set(names);
  return applied.length === known.size && applied.every((row: { name: string }) => known.has(row.name));
}

/** Every migration this version knows, in the order they apply. */
export function migrationNames(): string[] {
  return Object.keys(migrations).sort();
}

export async function migrateDown(db: Kysely<any>): Promise<MigrationReport> {
  const { error, results } = await createMigrator(db).migrateDown();
  return report(error, results);
}

function report(error: unknown, results: MigrationResult[] | undefined): MigrationReport {
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const name = failed ? ` (${failed.migrationName})` : '';
    throw new Error(`Migration failed${name}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
