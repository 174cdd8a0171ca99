import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DatabaseHandle } from './client';
import { migrateToLatest, migrationNames } from './migrate';
import { SHORT_LIVED_SHARED_BUFFERS } from './pglite';
import { writePgliteTemplates } from './pglite-template';

// The embedded database only: these are about how a new data dir comes to be.
let scratch: string;
let template: string;
let emptyTemplate: string;
beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'stm-pglite-template-'));
  template = path.join(scratch, 'template.tar.gz');
  emptyTemplate = path.join(scratch, 'empty-template.tar.gz');
  await writePgliteTemplates({ migrated: template, empty: emptyTemplate });
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A new data dir's path; nothing is created there. */
let dirs = 0;
const newDataDir = () => path.join(scratch, `data-${++dirs}`);

async function appliedMigrations(dataDir: string, options: { template?: string; errors?: Error[] } = {}) {
  const handle = await createDb({ dataDir, pgliteTemplate: options.template, onBackgroundError: (error) => options.errors?.push(error) });
  try {
    const rows = await handle.db
      .selectFrom('kysely_migration' as never)
      .select(sql<string>`name`.as('name'))
      .execute();
    return rows.map((row) => row.name).sort();
  } finally {
    await handle.close();
  }
}

/** The tables of the database's public schema: none in one as initdb leaves it. */
async function publicTables(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(handle.db);
  return rows.map((row) => row.name);
}

describe('the embedded database template', () => {
  it('gives a new data dir every migration, and the folder is a database that lasts', async () => {
    const dataDir = newDataDir();
    const errors: Error[] = [];
    expect(await appliedMigrations(dataDir, { template, errors })).toEqual([...migrationNames()].sort());
    expect(errors).toEqual([]);
    // Nothing left over from unpacking, and the database folder is its owner's only.
    expect(readdirSync(dataDir).filter((name) => name.includes('unpacking'))).toEqual([]);

    const sharedBuffers = sql<{ shared_buffers: string }>`show shared_buffers`;
    // Opened as an operator's command opens it: a small buffer cache, for that start only.
    const first = await createDb({ dataDir, pgliteTemplate: template, pgliteSharedBuffers: SHORT_LIVED_SHARED_BUFFERS });
    expect((await sharedBuffers.execute(first.db)).rows).toEqual([{ shared_buffers: SHORT_LIVED_SHARED_BUFFERS }]);
    expect((await migrateToLatest(first.db)).applied).toEqual([]);
    await first.db.insertInto('users').values({ username: 'kept', password_hash: 'x', role: 'user' }).execute();
    await first.close();
    const again = await createDb({ dataDir, pgliteTemplate: template });
    const users = await again.db.selectFrom('users').select('username').execute();
    expect((await sharedBuffers.execute(again.db)).rows).toEqual([{ shared_buffers: '128MB' }]);
    await again.close();
    expect(users.map((user) => user.username)).toEqual(['kept']);
  }, 60_000);

  it('gives a new data dir, from the unmigrated one, a database as initdb leaves it, which migrates like one', async () => {
    const errors: Error[] = [];
    // initdb gives every cluster an identifier of its own: two folders sharing one came from the template.
    const identifiers: string[] = [];
    for (let n = 0; n < 2; n++) {
      const dataDir = newDataDir();
      const handle = await createDb({ dataDir, pgliteTemplate: emptyTemplate, onBackgroundError: (error) => errors.push(error) });
      try {
        const { rows } = await sql<{ id: string }>`select system_identifier::text as id from pg_control_system()`.execute(handle.db);
        identifiers.push(rows[0]?.id ?? '');
        expect(await publicTables(handle)).toEqual([]);
        expect((await migrateToLatest(handle.db)).applied).toEqual(migrationNames());
      } finally {
        await handle.close();
      }
      expect(readdirSync(dataDir).filter((name) => name.includes('unpacking'))).toEqual([]);
    }
    expect(errors).toEqual([]);
    expect(identifiers[0]).toMatch(/^\d+$/);
    expect(identifiers[1]).toBe(identifiers[0]);
  }, 60_000);

  it('never touches a data dir that already holds a database', async () => {
    const dataDir = newDataDir();
    // Any database will do: the unmigrated template's, which is initdb's without running it again.
    const first = await createDb({ dataDir, pgliteTemplate: emptyTemplate });
    await first.db.schema.createTable('mine').addColumn('id', 'integer').execute();
    await first.close();
    // Had the template been unpacked over it, the table would be gone and migrations present.
    const handle = await createDb({ dataDir, pgliteTemplate: template });
    const tables = await publicTables(handle);
    await handle.close();
    expect(tables).toEqual(['mine']);
  }, 60_000);

  it('falls back to initdb when the template is missing, damaged or of another PostgreSQL', async () => {
    const damaged = path.join(scratch, 'damaged.tar.gz');
    writeFileSync(damaged, 'not an archive at all');
    const foreign = path.join(scratch, 'foreign.tar');
    writeFileSync(foreign, tarOfOneFile('PG_VERSION', '9\n'));
    const cases = [
      { template: path.join(scratch, 'missing.tar.gz'), reported: false },
      { template: damaged, reported: true },
      { template: foreign, reported: true },
    ];
    for (const { template: candidate, reported } of cases) {
      const dataDir = newDataDir();
      const errors: Error[] = [];
      const handle = await createDb({ dataDir, pgliteTemplate: candidate, onBackgroundError: (error) => errors.push(error) });
      // A new, empty database (that one migrates like any other is shown above).
      const tables = await publicTables(handle);
      await handle.close();
      expect(tables).toEqual([]);
      expect(errors.length > 0, candidate).toBe(reported);
      expect(existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    }
  }, 120_000);
});

/** A ustar archive holding one file. */
function tarOfOneFile(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${Buffer.byteLength(content).toString(8).padStart(11, '0')}\0`, 124);
  header.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(content) / 512) * 512);
  body.write(content);
  return Buffer.concat([header, body, Buffer.alloc(1024)]);
}
