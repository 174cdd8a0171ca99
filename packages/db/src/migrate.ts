import type { Kysely } from 'kysely';
import { type MigrationResult, Migrator } from 'kysely/migration';
import { migrations } from './migrations';

export interface MigrationReport {
  applied: string[];
}

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/** Brings the schema to the newest migration; concurrent callers are serialized by Kysely's lock. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
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
