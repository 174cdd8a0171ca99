/**
 * The portable backup: every row of every table as JSON lines, gzipped, written and read through
 * plain SQL on either driver. PostgreSQL itself turns rows into JSON (`row_to_json`) and back
 * (`json_populate_recordset`), so no value passes through a JavaScript type on the way: timestamps
 * keep their microseconds, big integers their digits, JSON documents their content.
 *
 * Layout, one JSON value per line:
 *   {"format":"stm-portable-backup","version":1,"createdAt":…,"source":…,"migrations":[…]}
 *   {"table":"users","columns":[…],"rows":N}   then exactly N lines, one row each
 *   … one such block per table, parents before children …
 *   {"sequences":[{"name":…,"lastValue":…,"isCalled":…}]}
 *   {"end":true,"tables":T,"rows":R}
 * The closing line is what proves the file whole: a file cut short is refused, not half-loaded.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { type Kysely, sql } from 'kysely';
import type { DbDriver } from '../client';
import { listTables, qualified, quoteIdent, readSequences, type SequenceState, type TableInfo, writeSequence } from './catalog';
import { BackupError } from './errors';

export const PORTABLE_FORMAT = 'stm-portable-backup';
const PORTABLE_VERSION = 1;
/** Rows read per round trip when writing, and most rows per insert when loading. */
const ROWS_PER_BATCH = 500;
/** Keeps one insert's parameter small whatever the rows hold. */
const BYTES_PER_BATCH = 4 * 1024 * 1024;

export interface AppliedMigration {
  name: string;
  timestamp: string;
}

export interface PortableHeader {
  format: typeof PORTABLE_FORMAT;
  version: number;
  createdAt: string;
  source: DbDriver;
  migrations: AppliedMigration[];
}

export interface TableCount {
  name: string;
  rows: number;
}

/** Writes the whole database, as one consistent snapshot, to `file` (gzipped JSON lines). */
export async function writePortableBackup(db: Kysely<any>, driver: DbDriver, file: string): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  await db.transaction().execute(async (trx) => {
    // Every table as of one moment, even while the server keeps writing (PostgreSQL).
    await sql`set transaction isolation level repeatable read, read only`.execute(trx);
    await sql`set local time zone 'UTC'`.execute(trx);
    const lines = exportLines(trx, driver, counts);
    await pipeline(Readable.from(lines), createGzip(), createWriteStream(file, { mode: 0o600 }));
  });
  return counts;
}

async function* exportLines(db: Kysely<any>, driver: DbDriver, counts: TableCount[]): AsyncGenerator<string> {
  const migrations = await readAppliedMigrations(db);
  const header: PortableHeader = { format: PORTABLE_FORMAT, version: PORTABLE_VERSION, createdAt: new Date().toISOString(), source: driver, migrations };
  yield `${JSON.stringify(header)}\n`;
  const tables = await listTables(db);
  let total = 0;
  for (const table of tables) {
    const { rows } = await sql<{ count: string }>`select count(*)::text as count from ${sql.raw(qualified(table.name))}`.execute(db);
    const count = Number(rows[0]?.count ?? 0);
    yield `${JSON.stringify({ table: table.name, columns: table.columns, rows: count })}\n`;
    let written = 0;
    for await (const batch of tableRows(db, table)) {
      written += batch.length;
      yield `${batch.join('\n')}\n`;
    }
    // The snapshot makes these equal; a difference would be a bug, and the file would be wrong.
    if (written !== count) throw new BackupError(`Table ${table.name} changed while it was read (${count} rows counted, ${written} read)`);
    counts.push({ name: table.name, rows: count });
    total += count;
  }
  yield `${JSON.stringify({ sequences: await readSequences(db) })}\n`;
  yield `${JSON.stringify({ end: true, tables: tables.length, rows: total })}\n`;
}

/** A cursor, so a large table is never held in memory at once; in primary key order, so backups compare. */
async function* tableRows(db: Kysely<any>, table: TableInfo): AsyncGenerator<string[]> {
  const order = table.primaryKey.length > 0 ? `order by ${table.primaryKey.map((c) => `stm_row.${quoteIdent(c)}`).join(', ')}` : '';
  await sql
    .raw(`declare stm_backup_rows no scroll cursor for select row_to_json(stm_row)::text as row from ${qualified(table.name)} as stm_row ${order}`)
    .execute(db);
  for (;;) {
    const { rows } = await sql<{ row: string }>`fetch forward ${sql.raw(String(ROWS_PER_BATCH))} from stm_backup_rows`.execute(db);
    if (rows.length > 0) yield rows.map((r) => r.row);
    if (rows.length < ROWS_PER_BATCH) break;
  }
  // Not in a `finally`: after a failure the transaction is aborted and rolls the cursor back.
  await sql`close stm_backup_rows`.execute(db);
}

export async function readAppliedMigrations(db: Kysely<any>): Promise<AppliedMigration[]> {
  const { rows: exists } = await sql<{ found: boolean }>`select to_regclass('public.kysely_migration') is not null as found`.execute(db);
  const rows = exists[0]?.found ? (await sql<AppliedMigration>`select name, timestamp from kysely_migration order by name`.execute(db)).rows : [];
  if (rows.length === 0) throw new BackupError('The database holds no schema of this application (no migration has run): there is nothing to back up');
  return rows;
}

export type PortableRecord =
  | { kind: 'header'; header: PortableHeader }
  | { kind: 'table'; name: string; columns: string[]; rows: number }
  /** Row lines as written: JSON objects, left as text for the database to read. */
  | { kind: 'rows'; table: string; rows: string[] }
  | { kind: 'sequences'; sequences: SequenceState[] }
  | { kind: 'end'; tables: number; rows: number };

/**
 * Reads a portable backup record by record, checking its shape as it goes: the header first,
 * each table's declared row count, the closing totals, nothing after them.
 */
export async function* readPortableBackup(file: string): AsyncGenerator<PortableRecord> {
  const lines = fileLines(file);
  const next = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new BackupError(`${file} ends early: the backup was cut short (an interrupted copy?) and cannot be restored`);
    return value;
  };
  const header = parseLine(await next(), file);
  if (header.format !== PORTABLE_FORMAT) throw new BackupError(`${file} is not a backup made by db:backup`);
  if (header.version !== PORTABLE_VERSION) {
    throw new BackupError(`${file} is a portable backup of version ${String(header.version)}, which this version of the application cannot read`);
  }
  if (typeof header.createdAt !== 'string' || !Array.isArray(header.migrations) || (header.source !== 'pglite' && header.source !== 'postgres')) {
    throw new BackupError(`${file} is damaged: its first line is not a whole header`);
  }
  yield { kind: 'header', header: header as unknown as PortableHeader };

  let tables = 0;
  let total = 0;
  for (;;) {
    const record = parseLine(await next(), file);
    if (typeof record.table === 'string' && Array.isArray(record.columns) && Number.isInteger(record.rows)) {
      const count = record.rows as number;
      yield { kind: 'table', name: record.table, columns: record.columns as string[], rows: count };
      let batch: string[] = [];
      let bytes = 0;
      for (let read = 0; read < count; read++) {
        const row = await next();
        if (!row.startsWith('{')) throw new BackupError(`${file} is damaged: row ${read + 1} of table ${record.table} is not a row`);
        batch.push(row);
        bytes += row.length;
        if (batch.length >= ROWS_PER_BATCH || bytes >= BYTES_PER_BATCH) {
          yield { kind: 'rows', table: record.table, rows: batch };
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length > 0) yield { kind: 'rows', table: record.table, rows: batch };
      tables += 1;
      total += count;
    } else if (Array.isArray(record.sequences)) {
      yield { kind: 'sequences', sequences: record.sequences as SequenceState[] };
    } else if (record.end === true) {
      if (record.tables !== tables || record.rows !== total) {
        throw new BackupError(
          `${file} is damaged: it closes with ${String(record.tables)} tables and ${String(record.rows)} rows, but holds ${tables} and ${total}`,
        );
      }
      if (!(await lines.next()).done) throw new BackupError(`${file} is damaged: there is data after its end`);
      yield { kind: 'end', tables, rows: total };
      return;
    } else {
      throw new BackupError(`${file} is damaged: unexpected line ${JSON.stringify(Object.keys(record))}`);
    }
  }
}

function parseLine(line: string, file: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below, as for any other line that is not an object.
  }
  throw new BackupError(`${file} is damaged or is not a backup made by db:backup`);
}

async function* fileLines(file: string): AsyncGenerator<string, void> {
  // The callback form destroys the last stream with any error on the way (a read error, a gzip
  // stream that is damaged or cut short), so reading it throws instead of ending quietly.
  const text = pipelineCallback(createReadStream(file), createGunzip(), () => {});
  text.setEncoding('utf8');
  let carry = '';
  try {
    for await (const chunk of text as AsyncIterable<string>) {
      const parts = (carry + chunk).split('\n');
      carry = parts.pop() ?? '';
      yield* parts;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR')
      throw new BackupError(`${file} ends early: the backup was cut short (an interrupted copy?) and cannot be restored`, { cause: error });
    if (code?.startsWith('Z_')) throw new BackupError(`${file} is damaged (${(error as Error).message})`, { cause: error });
    throw error;
  }
  if (carry !== '') yield carry;
}

/**
 * Loads a portable backup into a schema at the backup's own migration, inside the caller's
 * transaction. Tables and columns must match that schema exactly; a row that breaks a constraint
 * fails the whole load.
 */
export async function loadPortableBackup(trx: Kysely<any>, file: string): Promise<TableCount[]> {
  const targetTables = new Map((await listTables(trx)).map((table) => [table.name, table]));
  const loaded: TableCount[] = [];
  let insert: ((rows: string[]) => Promise<void>) | undefined;
  for await (const record of readPortableBackup(file)) {
    if (record.kind === 'header') {
      for (const migration of record.header.migrations) {
        // The history keeps the dates the migrations first ran, not the date of the restore.
        await sql`update kysely_migration set timestamp = ${migration.timestamp} where name = ${migration.name}`.execute(trx);
      }
    } else if (record.kind === 'table') {
      const table = targetTables.get(record.name);
      if (!table || [...table.columns].sort().join() !== [...record.columns].sort().join()) {
        throw new BackupError(`The backup's table ${record.name} does not match the schema of its migration here; the file was not made by db:backup`);
      }
      targetTables.delete(record.name);
      loaded.push({ name: record.name, rows: record.rows });
      insert = insertRows(trx, table);
    } else if (record.kind === 'rows') {
      await insert?.(record.rows);
    } else if (record.kind === 'sequences') {
      for (const sequence of record.sequences) await writeSequence(trx, sequence);
    } else if (targetTables.size > 0) {
      throw new BackupError(`The backup has no data for the table(s) ${[...targetTables.keys()].join(', ')}`);
    }
  }
  return loaded;
}

function insertRows(trx: Kysely<any>, table: TableInfo): (rows: string[]) => Promise<void> {
  const target = sql.raw(qualified(table.name));
  const columns = sql.raw(table.columns.map(quoteIdent).join(', '));
  // `overriding system value`: identity columns keep the ids the rows had.
  return async (rows) => {
    await sql`insert into ${target} (${columns}) overriding system value
      select ${columns} from json_populate_recordset(null::${target}, ${`[${rows.join(',')}]`}::json)`.execute(trx);
  };
}
