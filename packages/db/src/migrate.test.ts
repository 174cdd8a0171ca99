import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateDown, migrateToLatest, migrationNames } from './migrate';
import { createTestDatabase, type TestDatabase } from './testing';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
});
afterAll(() => database.close());

const recorded = async () =>
  (
    await database.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .orderBy('name' as never)
      .execute()
  ).map((row) => (row as { name: string }).name);

describe('migrateToLatest', () => {
  it('leaves a schema that is already up to date as it is', async () => {
    expect(await recorded()).toEqual(migrationNames());
    expect(await migrateToLatest(database.db)).toEqual({ applied: [] });
    expect(await recorded()).toEqual(migrationNames());
  });

  it('applies what is missing', async () => {
    const last = migrationNames().at(-1) as string;
    await migrateDown(database.db);
    expect(await recorded()).not.toContain(last);
    expect(await migrateToLatest(database.db)).toEqual({ applied: [last] });
    expect(await recorded()).toEqual(migrationNames());
  });

  it('refuses a database migrated by a version this one does not know, rather than calling it up to date', async () => {
    await sql`insert into kysely_migration (name, timestamp) values ('9999_99_99_0001_from_the_future', now()::text)`.execute(database.db);
    try {
      await expect(migrateToLatest(database.db)).rejects.toThrow(/9999_99_99_0001_from_the_future/);
    } finally {
      await sql`delete from kysely_migration where name = '9999_99_99_0001_from_the_future'`.execute(database.db);
    }
  });
});
