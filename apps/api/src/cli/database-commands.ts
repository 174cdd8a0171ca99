import path from 'node:path';
import { decryptPrivateKey, deriveKey } from '@stm/auth';
import {
  assertRestorable,
  type BackupFormat,
  type BackupInfo,
  type BackupTarget,
  backupDatabase,
  backupFormats,
  inspectBackup,
  type PgToolsOptions,
  restoreDatabase,
  type TableCount,
} from '@stm/db/backup';
import { migrateToLatestLocked, migrationNames, type SchemaState, schemaState } from '@stm/db';
import type { DatabaseCommand, DatabaseCommandTarget } from './command-types';
import { CliError } from './password-input';

function tools(target: DatabaseCommandTarget): PgToolsOptions {
  return { binDir: target.config.database.pgBinDir, environment: target.environment };
}

/**
 * What a backup is made from and a restore goes into: the open database, and for pg_dump and
 * pg_restore its URL and where PostgreSQL's programs are.
 */
async function openBackupTarget(target: DatabaseCommandTarget): Promise<BackupTarget> {
  return {
    database: await target.openDatabase(),
    databaseUrl: target.driver === 'postgres' ? target.config.database.url : undefined,
    tools: tools(target),
  };
}

/**
 * `pnpm ops` runs in apps/api; a relative path means the folder the operator typed it in, which
 * pnpm passes on as INIT_CWD.
 */
function operatorPath(target: DatabaseCommandTarget, file: string): string {
  return path.resolve(target.environment.INIT_CWD ?? process.cwd(), file);
}

const DRIVER_NAMES = { postgres: 'PostgreSQL', pglite: 'the embedded database' } as const;

function describePlan(state: SchemaState): string[] {
  if (state.pending.length === 0) return [`The schema is up to date (${migrationNames().length} migrations)`];
  return [
    `Plan: ${state.pending.length} migration(s) to apply, in this order:`,
    ...state.pending.map(
      (migration) =>
        `  ${migration.name}  ${migration.backwardCompatible ? 'backward-compatible: the previous release keeps running on it' : 'NOT backward-compatible: stop the previous release first'}`,
    ),
  ];
}

export const databaseCommands: Record<string, DatabaseCommand> = {
  'db:migrate': {
    rawDatabase: true,
    usage: 'db:migrate [--dry-run]',
    summary: 'Bring the database schema up to date, printing the plan first, under a lock (--dry-run: the plan only)',
    positionals: 0,
    options: { 'dry-run': { type: 'boolean' } },
    async run(target, { options }, io) {
      const { db } = await target.openDatabase();
      const check = (state: SchemaState) => {
        if (state.unknown.length > 0) {
          throw new CliError(
            `The database has migrations newer than this release (${state.unknown.map((m) => m.name).join(', ')}): it cannot be migrated from here. Use that release's db:migrate.`,
          );
        }
        for (const line of describePlan(state)) io.out(line);
      };
      if (options['dry-run']) {
        check(await schemaState(db));
        io.out('Dry run: nothing was changed');
        return;
      }
      const { applied } = await migrateToLatestLocked(db, check);
      if (applied.length > 0) io.out(`Applied: ${applied.join(', ')}`);
    },
  },

  'db:backup': {
    usage: 'db:backup <file> [--format pg_dump|portable]',
    summary: 'Save the whole database to a file (PostgreSQL: pg_dump custom format; embedded: portable)',
    positionals: 1,
    options: { format: { type: 'string' } },
    rawDatabase: true,
    check({ options }) {
      if (options.format !== undefined && !backupFormats.includes(options.format as BackupFormat)) {
        throw new CliError(`--format must be one of: ${backupFormats.join(', ')}`, 2);
      }
    },
    async run(target, { positionals, options }, io) {
      const format = options.format;
      const summary = await backupDatabase({
        ...(await openBackupTarget(target)),
        file: operatorPath(target, positionals[0] as string),
        ...(format ? { format: format as BackupFormat } : {}),
      });
      io.out(`Backed up ${DRIVER_NAMES[target.driver]} to ${summary.file} (${summary.format}, ${formatBytes(summary.bytes)})${rowCounts(summary.tables)}`);
    },
  },

  'db:restore': {
    usage: 'db:restore <file> [--force]',
    summary: 'Load a backup into an empty database, then migrate it to this version (--force replaces a non-empty one)',
    positionals: 1,
    options: { force: { type: 'boolean' } },
    rawDatabase: true,
    async run(target, { positionals, options }, io) {
      const file = operatorPath(target, positionals[0] as string);
      // Everything that can refuse the file does so before the target is opened, let alone changed.
      const backup = await inspectBackup(file, tools(target), ['signing_keys']);
      assertRestorable(backup, target.driver);
      requireUnsealableSigningKey(backup, target.config.secretKey);
      const summary = await restoreDatabase({
        ...(await openBackupTarget(target)),
        backup,
        force: options.force === true,
      });
      const { info } = summary;
      const made = info.createdAt ? `, made ${info.createdAt}` : '';
      io.out(`Restored ${file} (${info.format} backup of ${DRIVER_NAMES[info.source]}${made}) into ${DRIVER_NAMES[target.driver]}${rowCounts(summary.tables)}`);
      io.out(summary.applied.length > 0 ? `Migrated on: ${summary.applied.join(', ')}` : 'The schema is up to date');
    },
  },
};

/**
 * The signing keys travel sealed with SECRET_KEY, and the secret never travels with them. A
 * server with another secret could not sign a token, so the restore stops before touching the
 * target and says which secret it needs.
 */
function requireUnsealableSigningKey(info: BackupInfo, secretKey: string): void {
  const encryptionKey = deriveKey(secretKey, 'signing-keys');
  // Only the current key is ever decrypted; retired and revoked ones only verify or refuse.
  const current = (info.rows.signing_keys ?? []).filter((row) => row.retired_at == null && row.revoked_at == null);
  for (const key of current) {
    try {
      decryptPrivateKey(String(key.private_key), String(key.kid), encryptionKey);
    } catch {
      throw new CliError(
        'The signing keys in this backup were sealed with a different SECRET_KEY. Set SECRET_KEY to the secret of the ' +
          'server that made the backup (for the embedded database without SECRET_KEY: the file secret_key in its DATA_DIR) ' +
          'and run the restore again. Nothing was changed.',
      );
    }
  }
}

/** ": 42 row(s) in 8 tables" where the format counts rows as it goes (portable); nothing otherwise. */
function rowCounts(tables: TableCount[] | undefined): string {
  if (!tables) return '';
  const rows = tables.reduce((sum, table) => sum + table.rows, 0);
  return `: ${rows} row(s) in ${tables.length} tables`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
