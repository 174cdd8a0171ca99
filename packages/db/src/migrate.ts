import { type Kysely, sql } from 'kysely';
import { DEFAULT_MIGRATION_TABLE as MIGRATION_TABLE, type MigrationResult, Migrator } from 'kysely/migration';
import { migrations } from './migrations';

export interface MigrationReport {
  applied: string[];
}

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
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
  const migrated = report(error, results);
  await recordNotes(db);
  return migrated;
}

/** Where the schema stands against this build's migrations. */
export interface SchemaState {
  /** Migrations this build knows that the database has not had. */
  pending: { name: string; backwardCompatible: boolean }[];
  /** Migrations the database has had that this build does not know (a newer release ran them). */
  unknown: { name: string; backwardCompatible: boolean }[];
}

export async function schemaState(db: Kysely<any>): Promise<SchemaState> {
  const applied = new Set(await appliedNames(db));
  const known = migrationNames();
  const pending = known.filter((name) => !applied.has(name)).map((name) => ({ name, backwardCompatible: migrations[name]?.backwardCompatible ?? false }));
  const unknownNames = [...applied].filter((name) => !known.includes(name)).sort();
  const notes = unknownNames.length > 0 ? await readNotes(db) : new Map<string, boolean>();
  return { pending, unknown: unknownNames.map((name) => ({ name, backwardCompatible: notes.get(name) ?? false })) };
}

/** What the schema's migrations promise, for an older build to read (see the migration_notes migration). */
async function recordNotes(db: Kysely<any>): Promise<void> {
  if (!(await tableExists(db, 'migration_notes'))) return;
  const rows = migrationNames().map((name) => ({ name, backward_compatible: migrations[name]?.backwardCompatible ?? false }));
  await db
    .insertInto('migration_notes')
    .values(rows)
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ backward_compatible: sql`excluded.backward_compatible` }))
    .execute();
}

async function readNotes(db: Kysely<any>): Promise<Map<string, boolean>> {
  if (!(await tableExists(db, 'migration_notes'))) return new Map();
  const rows = await db.selectFrom('migration_notes').select(['name', 'backward_compatible']).execute();
  return new Map(rows.map((row: { name: string; backward_compatible: boolean }) => [row.name, row.backward_compatible]));
}

async function tableExists(db: Kysely<any>, table: string): Promise<boolean> {
  const { rows } = await sql<{ exists: boolean }>`select to_regclass(${table}) is not null as exists`.execute(db);
  return rows[0]?.exists === true;
}

async function appliedNames(db: Kysely<any>): Promise<string[]> {
  if (!(await tableExists(db, MIGRATION_TABLE))) return [];
  const rows = await db.selectFrom(MIGRATION_TABLE).select('name').execute();
  return rows.map((row: { name: string }) => row.name);
}

/** A key of our own for `pg_advisory_lock`: one migration run at a time, across every instance and operator. */
const MIGRATION_LOCK_KEY = 0x53544d30; // "STM0"

/**
 * `migrateToLatest` under a session-level advisory lock on one connection, so an operator's run
 * and instances starting at the same time wait for each other instead of racing; `plan` is
 * called with what will be applied once the lock is held (nothing changes if it throws).
 */
export async function migrateToLatestLocked(db: Kysely<any>, plan?: (state: SchemaState) => void | Promise<void>): Promise<MigrationReport> {
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    try {
      await plan?.(await schemaState(connection));
      return await migrateToLatest(connection);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
    }
  });
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
  if (!(await tableExists(db, MIGRATION_TABLE))) return false;
  const applied = await appliedNames(db);
  const known = new Set(names);
  return applied.length === known.size && applied.every((name) => known.has(name));
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
  const message = error instanceof Error ? error.message : String(error);
  if (error) {
    const name = failed ? ` (${failed.migrationName})` : '';
    throw new Error(`Migration failed${name}: ${message}`, {
      cause: error,
    });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
