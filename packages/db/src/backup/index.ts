/**
 * Backups and restores of the whole database, in one of two formats:
 *
 * - `pg_dump`: PostgreSQL's custom-format archive, made and restored by PostgreSQL's own programs;
 *   what a PostgreSQL operator expects, readable by pg_restore without this application.
 * - `portable`: every row as JSON, read and written through SQL on either driver; the embedded
 *   database's backup, and the way from it (or to it) across drivers and major versions.
 *
 * A restore goes into an empty database (or replaces one, when forced), rebuilds the schema of the
 * backup's own version, loads it, then migrates on to this version's schema.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseHandle, DbDriver } from '../client';
import { migrateTo, migrateToLatest, migrationNames } from '../migrate';
import { dropEverything, tablesWithRows } from './catalog';
import { BackupError } from './errors';
import { dumpDatabase, listArchive, type PgToolsOptions, readArchiveRows, restoreArchive, verifyArchive } from './pg-tools';
import { loadPortableBackup, readAppliedMigrations, readPortableBackup, type TableCount, writePortableBackup } from './portable';

export { BackupError } from './errors';
export type { PgToolsOptions } from './pg-tools';
export type { TableCount } from './portable';

export const backupFormats = ['pg_dump', 'portable'] as const;
export type BackupFormat = (typeof backupFormats)[number];

/** The database to back up or restore into. */
export interface BackupTarget {
  database: DatabaseHandle;
  /** The same database's postgres:// URL, for pg_dump and pg_restore; absent for the embedded one. */
  databaseUrl?: string | undefined;
  tools: PgToolsOptions;
}

export interface BackupSummary {
  format: BackupFormat;
  file: string;
  bytes: number;
  /** Rows per table (the portable format counts them as it writes). */
  tables: TableCount[] | undefined;
}

/** The format a driver's backups take unless another is asked for. */
export function defaultBackupFormat(driver: DbDriver): BackupFormat {
  return driver === 'postgres' ? 'pg_dump' : 'portable';
}

/**
 * Writes a backup to `file`, mode 0600 (it holds password hashes and sealed keys). It appears only
 * once complete: a failed backup leaves no file, and never a damaged one over a good one.
 */
export async function backupDatabase(target: BackupTarget & { file: string; format?: BackupFormat }): Promise<BackupSummary> {
  const { database } = target;
  const format = target.format ?? defaultBackupFormat(database.driver);
  if (format === 'pg_dump' && (database.driver !== 'postgres' || !target.databaseUrl)) {
    throw new BackupError('The pg_dump format needs PostgreSQL: back the embedded database up in the portable format (its default)');
  }
  const file = path.resolve(target.file);
  await requireFolder(path.dirname(file));
  const partial = `${file}.partial-${process.pid}`;
  try {
    let tables: TableCount[] | undefined;
    if (format === 'pg_dump') {
      // Any database can be dumped; one without this application's schema is a mistaken URL.
      await readAppliedMigrations(database.db);
      // pg_dump writes into the file it is given, keeping its mode: created private first.
      await (await open(partial, 'w', 0o600)).close();
      await dumpDatabase(target.databaseUrl as string, partial, target.tools);
    } else {
      tables = await writePortableBackup(database.db, database.driver, partial);
    }
    const written = await open(partial, 'r+');
    try {
      await written.sync();
    } finally {
      await written.close();
    }
    await rename(partial, file);
    return { format, file, bytes: (await stat(file)).size, tables };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export interface BackupInfo {
  file: string;
  format: BackupFormat;
  /** When the backup was made, as the file says. */
  createdAt: string | undefined;
  /** The driver it was made from. */
  source: DbDriver;
  /** Migrations the backed-up schema had, in order. */
  migrations: string[];
  /** Rows per table (portable backups declare them). */
  tables: TableCount[] | undefined;
  /** Rows of the tables asked for with `readTables`, as plain values (text or JSON). */
  rows: Record<string, Record<string, unknown>[]>;
}

/**
 * Reads a backup without restoring it: which format, which schema version, and (for a portable
 * one) that it is whole. Fails with a BackupError for anything db:backup did not write.
 */
export async function inspectBackup(file: string, tools: PgToolsOptions, readTables: string[] = []): Promise<BackupInfo> {
  const format = await detectFormat(file);
  if (format === 'pg_dump') {
    const contents = await listArchive(file, tools);
    if (!/ TABLE DATA public kysely_migration /.test(contents)) {
      throw new BackupError(`${file} is a pg_dump archive, but not of this application's database (it has no migration history)`);
    }
    const data = await readArchiveRows(file, ['kysely_migration', ...readTables], tools);
    const migrations = (data.get('kysely_migration') ?? []).map((row) => String(row.name)).sort();
    const rows = Object.fromEntries(readTables.map((table) => [table, data.get(table) ?? []]));
    const createdAt = /^;\s+Archive created at (.+)$/m.exec(contents)?.[1]?.trim();
    return { file, format, createdAt, source: 'postgres', migrations, tables: undefined, rows };
  }

  const info: BackupInfo = { file, format, createdAt: undefined, source: 'pglite', migrations: [], tables: [], rows: {} };
  for (const table of readTables) info.rows[table] = [];
  for await (const record of readPortableBackup(file)) {
    if (record.kind === 'header') {
      info.createdAt = record.header.createdAt;
      info.source = record.header.source;
      info.migrations = record.header.migrations.map((migration) => migration.name);
    } else if (record.kind === 'table') {
      info.tables?.push({ name: record.name, rows: record.rows });
    } else if (record.kind === 'rows' && readTables.includes(record.table)) {
      info.rows[record.table]?.push(...record.rows.map((row) => JSON.parse(row) as Record<string, unknown>));
    }
  }
  return info;
}

export interface RestoreSummary {
  info: BackupInfo;
  /** Rows loaded per table (portable backups). */
  tables: TableCount[] | undefined;
  /** Migrations run after loading, to bring an older backup up to this version. */
  applied: string[];
}

/**
 * Whether this version can restore the backup into a database of this driver: its schema must be
 * this version's or an older one, and a pg_dump archive needs PostgreSQL.
 */
export function assertRestorable(backup: BackupInfo, driver: DbDriver): void {
  requireKnownMigrations(backup.migrations);
  if (backup.format === 'pg_dump' && driver !== 'postgres') {
    throw new BackupError(
      `${backup.file} is a pg_dump archive, which only PostgreSQL can restore. To move data into the embedded database, ` +
        'back PostgreSQL up with --format portable',
    );
  }
}

/**
 * Restores an inspected backup into the target. A target holding any row is refused unless
 * `force`, which replaces everything in it.
 */
export async function restoreDatabase(target: BackupTarget & { backup: BackupInfo; force?: boolean }): Promise<RestoreSummary> {
  const { database, backup: info } = target;
  const { file } = info;
  assertRestorable(info, database.driver);
  if (info.format === 'pg_dump' && !target.databaseUrl) throw new BackupError('Restoring a pg_dump archive needs the database URL');

  const occupied = await tablesWithRows(database.db);
  if (occupied.length > 0 && !target.force) {
    throw new BackupError(
      `The target database is not empty (${occupied.join(', ')} hold rows). Restore into a new, empty database, ` +
        'or add --force to replace everything it holds',
    );
  }

  if (info.format === 'pg_dump') {
    // pg_restore runs in a transaction of its own, so the old contents go first: only after the
    // whole archive has been read back, so that a damaged file cannot cost them.
    await verifyArchive(file, target.tools);
    const dropped = await database.db.transaction().execute((trx) => dropEverything(trx));
    try {
      await restoreArchive(target.databaseUrl as string, file, target.tools);
    } catch (error) {
      if (dropped === 0 || !(error instanceof BackupError)) throw error;
      throw new BackupError(`${error.message}\nWhat the target held had been dropped before pg_restore ran: it is now empty.`, { cause: error });
    }
    const { applied } = await migrateToLatest(database.db);
    return { info, tables: undefined, applied };
  }

  const last = info.migrations.at(-1) as string;
  try {
    return await database.db.transaction().execute(async (trx) => {
      await dropEverything(trx);
      await migrateTo(trx, last);
      const tables = await loadPortableBackup(trx, file);
      const { applied } = await migrateToLatest(trx);
      return { info, tables, applied };
    });
  } catch (error) {
    if (error instanceof BackupError) throw error;
    // A row the schema refused, a sequence it lacks: the transaction took everything back.
    throw new BackupError(`${file} could not be loaded, and nothing was changed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** The backup's migrations must be this version's first ones: an older schema migrates on, a newer one cannot go back. */
function requireKnownMigrations(migrations: string[]): void {
  const known = migrationNames();
  const unknown = migrations.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new BackupError(
      `The backup comes from a newer version of the application (its migrations ${unknown.join(', ')} are unknown here): ` +
        'restore it with that version or a newer one',
    );
  }
  if (migrations.length === 0 || migrations.some((name, index) => known[index] !== name)) {
    throw new BackupError(`The backup's migration history (${migrations.join(', ') || 'empty'}) does not match this version's`);
  }
}

async function detectFormat(file: string): Promise<BackupFormat> {
  let head: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(5), 0, 5, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BackupError(`${file} does not exist`);
    if (code === 'EISDIR') throw new BackupError(`${file} is a folder, not a backup file`);
    throw error;
  }
  if (head.toString('latin1') === 'PGDMP') return 'pg_dump';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'portable';
  throw new BackupError(`${file} is not a backup made by db:backup (neither a pg_dump archive nor a portable backup)`);
}

async function requireFolder(folder: string): Promise<void> {
  const found = await stat(folder).catch(() => undefined);
  if (!found?.isDirectory()) throw new BackupError(`The folder ${folder} does not exist`);
}
