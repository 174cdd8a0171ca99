import { type Database, type Kysely, migrateToLatestLocked, schemaState } from '@stm/db';
import type { Logger } from './logger';
import { opsCommand } from './ops-command';

/** The schema is not one this build can serve; the message says what to do. */
export class SchemaMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaMismatchError';
  }
}

/**
 * Makes sure this build can serve the database before anything else touches it:
 * - migrations newer than this build (a rollback, or an old instance during a rolling upgrade)
 *   are served only if every one of them promised the previous release could run on it;
 * - migrations this build has and the database lacks are applied when `migrateOnStart` (under
 *   the advisory lock `db:migrate` takes), and refused otherwise, naming the command to run.
 */
export async function prepareSchema(db: Kysely<Database>, options: { migrateOnStart: boolean; log: Logger; who: string }): Promise<string[]> {
  const state = await schemaState(db);
  if (state.unknown.length > 0) {
    const names = state.unknown.map((migration) => migration.name).join(', ');
    const breaking = state.unknown.filter((migration) => !migration.backwardCompatible);
    if (breaking.length > 0) {
      throw new SchemaMismatchError(
        `The database was migrated by a newer release (${names}), and ${breaking.map((m) => m.name).join(', ')} is not backward-compatible: ` +
          `${options.who} cannot run on it. Deploy that release or a newer one.`,
      );
    }
    options.log.warn(
      { newerMigrations: state.unknown.map((m) => m.name) },
      'the database has migrations newer than this release, all backward-compatible: serving on it',
    );
    return [];
  }
  if (state.pending.length === 0) return [];
  if (!options.migrateOnStart) {
    throw new SchemaMismatchError(
      `The database schema is behind this release (${state.pending.map((m) => m.name).join(', ')} not applied) and MIGRATE_ON_START is off: ` +
        `run \`${opsCommand()} db:migrate\` first (it prints its plan and takes a lock).`,
    );
  }
  const { applied } = await migrateToLatestLocked(db);
  if (applied.length > 0) options.log.info({ applied }, 'migrations applied');
  return applied;
}
