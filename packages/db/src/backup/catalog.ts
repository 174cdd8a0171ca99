/**
 * What the database holds, read from the system catalogs rather than from our schema types, so a
 * table added by a later migration is backed up and restored without touching this code.
 */
import { type Kysely, sql } from 'kysely';
import { BackupError } from './errors';

const SCHEMA = 'public';
/** Kysely's bookkeeping: a backup carries the migration names, not these rows. */
export const MIGRATION_TABLES = ['kysely_migration', 'kysely_migration_lock'];
/**
 * Kept by triggers from the other tables' rows: a restore rebuilds them as it loads those rows,
 * so carrying them too would count everything twice.
 */
export const DERIVED_TABLES = ['user_usage'];

export interface TableInfo {
  name: string;
  /** Columns a row is written with: every one but the generated ones. */
  columns: string[];
  primaryKey: string[];
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualified(name: string): string {
  return `${quoteIdent(SCHEMA)}.${quoteIdent(name)}`;
}

/** The application's tables, parents before children, so rows load without breaking a foreign key. */
export async function listTables(db: Kysely<any>): Promise<TableInfo[]> {
  const { rows: tables } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${SCHEMA} and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname`.execute(db);
  const names = tables.map((table) => table.name).filter((name) => !MIGRATION_TABLES.includes(name) && !DERIVED_TABLES.includes(name));

  const { rows: columns } = await sql<{ table: string; column: string }>`
    select table_name as table, column_name as column from information_schema.columns
    where table_schema = ${SCHEMA} and is_generated = 'NEVER'
    order by table_name, ordinal_position`.execute(db);
  const { rows: keys } = await sql<{ table: string; column: string }>`
    select c.relname as table, a.attname as column
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    join lateral unnest(i.indkey) with ordinality as k(attnum, position) on true
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where n.nspname = ${SCHEMA} and i.indisprimary
    order by c.relname, k.position`.execute(db);
  const { rows: references } = await sql<{ child: string; parent: string }>`
    select distinct child.relname as child, parent.relname as parent
    from pg_constraint fk
    join pg_class child on child.oid = fk.conrelid
    join pg_class parent on parent.oid = fk.confrelid
    join pg_namespace n on n.oid = child.relnamespace
    where fk.contype = 'f' and n.nspname = ${SCHEMA}`.execute(db);

  const byName = new Map(
    names.map((name) => [
      name,
      {
        name,
        columns: columns.filter((c) => c.table === name).map((c) => c.column),
        primaryKey: keys.filter((k) => k.table === name).map((k) => k.column),
      },
    ]),
  );
  return dependencyOrder(
    [...byName.values()],
    references.filter((r) => r.child !== r.parent && byName.has(r.child) && byName.has(r.parent)),
  );
}

/** Kahn's algorithm, alphabetical among equals so every backup of the same schema lists tables alike. */
function dependencyOrder(tables: TableInfo[], references: { child: string; parent: string }[]): TableInfo[] {
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  let remaining = tables;
  while (remaining.length > 0) {
    const ready = remaining.filter((table) => references.every((reference) => reference.child !== table.name || placed.has(reference.parent)));
    if (ready.length === 0) {
      throw new BackupError(`The tables ${remaining.map((t) => t.name).join(', ')} reference each other in a cycle; they cannot be loaded in order`);
    }
    for (const table of ready) {
      ordered.push(table);
      placed.add(table.name);
    }
    remaining = remaining.filter((table) => !placed.has(table.name));
  }
  return ordered;
}

export interface SequenceState {
  name: string;
  /** Text: a sequence may pass 2^53. */
  lastValue: string;
  isCalled: boolean;
}

/**
 * Where every sequence stands (identity columns included). Kept exactly, not recomputed from the
 * largest id: ids of deleted rows are never handed out again, as before the backup.
 */
export async function readSequences(db: Kysely<any>): Promise<SequenceState[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${SCHEMA} and c.relkind = 'S' order by c.relname`.execute(db);
  const states: SequenceState[] = [];
  for (const { name } of rows) {
    const { rows: state } = await sql<{ last_value: string; is_called: boolean }>`
      select last_value::text as last_value, is_called from ${sql.raw(qualified(name))}`.execute(db);
    const row = state[0];
    if (row) states.push({ name, lastValue: row.last_value, isCalled: row.is_called });
  }
  return states;
}

export async function writeSequence(db: Kysely<any>, state: SequenceState): Promise<void> {
  await sql`select setval(${qualified(state.name)}::regclass, ${state.lastValue}::bigint, ${state.isCalled})`.execute(db);
}

/** Tables that hold at least one row: a restore into them would mix two databases. */
export async function tablesWithRows(db: Kysely<any>): Promise<string[]> {
  const occupied: string[] = [];
  for (const table of await listTables(db)) {
    const { rows } = await sql<{ found: boolean }>`
      select exists (select 1 from ${sql.raw(qualified(table.name))}) as found`.execute(db);
    if (rows[0]?.found) occupied.push(table.name);
  }
  return occupied;
}

const DROP_KEYWORD: Record<string, string> = { r: 'table', p: 'table', f: 'foreign table', v: 'view', m: 'materialized view', S: 'sequence' };

/**
 * Drops every table, view, sequence and function of the schema (with their indexes, constraints
 * and triggers), so a restore starts from nothing. The caller decides whether that is allowed.
 */
export async function dropEverything(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ name: string; kind: string }>`
    select c.relname as name, c.relkind as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${SCHEMA} and c.relkind in ('r', 'p', 'f', 'v', 'm', 'S')
    order by case c.relkind when 'S' then 1 else 0 end, c.relname`.execute(db);
  for (const { name, kind } of rows) {
    // `if exists`: an earlier cascade (a view, an owned sequence) may already have taken it.
    await sql.raw(`drop ${DROP_KEYWORD[kind]} if exists ${qualified(name)} cascade`).execute(db);
  }
  // Functions of our own (trigger functions); those of an extension stay with it.
  const { rows: functions } = await sql<{ signature: string }>`
    select p.oid::regprocedure::text as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = ${SCHEMA} and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`.execute(db);
  for (const { signature } of functions) await sql.raw(`drop function if exists ${signature} cascade`).execute(db);
  return rows.length + functions.length;
}
