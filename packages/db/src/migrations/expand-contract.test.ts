import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateTo, migrationNames } from '../migrate';
import { createTestDatabase, type TestDatabase } from '../testing';
import { migrations } from './index';

/**
 * The rule of MIGRATIONS.md, checked on the schema itself: a migration that says the previous
 * release runs on its schema only adds. Nothing the previous release reads or writes is dropped,
 * renamed or retyped, and nothing it inserts can be refused by a new column without a default.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
});
afterAll(() => database.close());

interface Column {
  type: string;
  nullable: boolean;
  hasDefault: boolean;
}

async function columns(): Promise<Map<string, Column>> {
  const { rows } = await sql<{ table: string; column: string; type: string; nullable: string; default: string | null; generated: string }>`
    select table_name as table, column_name as column, data_type as type, is_nullable as nullable,
      column_default as default, is_generated as generated
    from information_schema.columns where table_schema = 'public'`.execute(database.db);
  return new Map(
    rows.map((row) => [
      `${row.table}.${row.column}`,
      { type: row.type, nullable: row.nullable === 'YES', hasDefault: row.default !== null || row.generated !== 'NEVER' },
    ]),
  );
}

const names = migrationNames();
const compatible = names.filter((name, index) => index > 0 && migrations[name]?.backwardCompatible);

describe('a migration marked backward-compatible', () => {
  it('is every one but the first schema and the shared-work move (which is why they say so)', () => {
    expect(names.filter((name) => !migrations[name]?.backwardCompatible)).toEqual(['2026_11_25_0001_accounts', '2026_12_05_0004_shared_work']);
  });

  it.each(compatible)('%s only adds to the schema the previous release uses', async (name) => {
    const previous = names[names.indexOf(name) - 1] as string;
    await migrateTo(database.db, previous);
    const before = await columns();
    await migrateTo(database.db, name);
    const after = await columns();
    const previousTables = new Set([...before.keys()].map((key) => key.split('.')[0]));
    for (const [key, column] of before) {
      expect(after.get(key), `${key} is kept as it was`).toEqual(column);
    }
    for (const [key, column] of after) {
      if (before.has(key) || !previousTables.has(key.split('.')[0])) continue;
      // A new column of an existing table: the previous release's inserts do not name it.
      expect(column.nullable || column.hasDefault, `${key} is nullable or has a default`).toBe(true);
    }
  });
});
