import { migrationNames, schemaState, sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { SchemaMismatchError } from '../src/schema-check';
import { testConfig } from './helpers';
import { type Place, pglitePlace, postgresPlace, usingDatabase } from './places';
import { runCli } from './processes';

const driver = process.env.STM_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
const FUTURE = '2099_01_01_0001_future';

/** Migrations as a deploy step: a plan, a lock, and starts that refuse a schema they cannot serve. */
describe(`migrations as a deploy step on ${driver}`, { timeout: 120_000 }, () => {
  let place: Place;
  beforeAll(async () => {
    place = driver === 'postgres' ? await postgresPlace() : await pglitePlace();
  }, 60_000);
  afterAll(() => place?.dispose());

  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...place.env, ...env } });

  /** Starts the API on the place's database as a deployment would, and stops it again. */
  async function start(env: Record<string, string>): Promise<void> {
    const app = await buildApp({ config: testConfig({ ...place.env, ...env }) });
    try {
      const me = await app.inject({ method: 'GET', url: '/api/auth/me' });
      expect(me.statusCode).toBe(401);
    } finally {
      await app.close();
    }
  }

  it('db:migrate --dry-run prints the plan, each migration with its promise, and changes nothing', async () => {
    const result = await cli(['db:migrate', '--dry-run']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    const names = migrationNames();
    expect(result.stdout).toContain(`Plan: ${names.length} migration(s) to apply, in this order:`);
    expect(result.stdout).toContain('2026_12_05_0004_shared_work  NOT backward-compatible: stop the previous release first');
    expect(result.stdout).toContain('2026_12_06_0006_user_usage  backward-compatible: the previous release keeps running on it');
    expect(result.stdout.trim().endsWith('Dry run: nothing was changed')).toBe(true);
    expect((await usingDatabase(place, (database) => schemaState(database.db))).pending).toHaveLength(names.length);
  });

  it('with MIGRATE_ON_START off, a start on a schema behind it refuses, naming the command to run', async () => {
    await expect(start({ MIGRATE_ON_START: 'false' })).rejects.toThrow(SchemaMismatchError);
    await expect(start({ MIGRATE_ON_START: 'false' })).rejects.toThrow(/schema is behind this release .* run `pnpm ops db:migrate` first/);
    const command = await cli(['keys:list'], { MIGRATE_ON_START: 'false' });
    expect(command.code).toBe(1);
    expect(command.stderr).toMatch(/run `pnpm ops db:migrate` first/);
    expect(command.stderr).not.toMatch(/\n\s+at /);
    expect((await usingDatabase(place, (database) => schemaState(database.db))).pending.length).toBeGreaterThan(0);
  });

  it('db:migrate run twice at once applies everything once, under its lock; then there is nothing to do', async () => {
    // The embedded database is opened by one process at a time: there the runs take turns.
    const [first, second] =
      driver === 'postgres' ? await Promise.all([cli(['db:migrate']), cli(['db:migrate'])]) : [await cli(['db:migrate']), await cli(['db:migrate'])];
    for (const run of [first, second]) expect(run, run?.stderr).toMatchObject({ code: 0 });
    const outputs = [first?.stdout ?? '', second?.stdout ?? ''];
    const applied = outputs.filter((out) => out.includes('Applied: '));
    expect(applied).toHaveLength(1);
    expect(applied[0]).toContain(`Applied: ${migrationNames().join(', ')}`);
    const again = await cli(['db:migrate']);
    expect(again.stdout.trim()).toBe(`The schema is up to date (${migrationNames().length} migrations)`);
    await start({ MIGRATE_ON_START: 'false' });
  });

  it('a build older than the schema serves it when every newer migration is backward-compatible, and refuses otherwise', async () => {
    await usingDatabase(place, async (database) => {
      await sql`insert into kysely_migration (name, timestamp) values (${FUTURE}, now())`.execute(database.db);
      await sql`insert into migration_notes (name, backward_compatible) values (${FUTURE}, true)`.execute(database.db);
    });
    await start({ MIGRATE_ON_START: 'true' });

    await usingDatabase(place, (database) => sql`update migration_notes set backward_compatible = false where name = ${FUTURE}`.execute(database.db));
    await expect(start({ MIGRATE_ON_START: 'true' })).rejects.toThrow(
      new RegExp(`migrated by a newer release \\(${FUTURE}\\), and ${FUTURE} is not backward-compatible: this release cannot run on it`),
    );
    const migrate = await cli(['db:migrate']);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`The database has migrations newer than this release (${FUTURE})`);
  });
});
