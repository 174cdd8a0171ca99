/**
 * Moving an installation from the embedded database to PostgreSQL (and back), the way an operator
 * does it: `db:backup` with DATA_DIR, `db:restore` with DATABASE_URL, then the server on it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrateToLatest } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_TABLES, cli, expectAppWorks, expectFilled, type Filled, fill, picture } from './backup-fixtures';
import { PASSWORD } from './helpers';
import { disposeAll, type Place, pglitePlace, postgresPlace, usingDatabase } from './places';
import { startServer } from './processes';

describe('moving from the embedded database to PostgreSQL', { timeout: 400_000 }, () => {
  let folder: string;
  let embedded: Place;
  let filled: Filled;
  let before: Record<string, string[]>;
  const places: Place[] = [];
  const track = (place: Place) => {
    places.push(place);
    return place;
  };

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'stm-move-'));
    embedded = track(await pglitePlace());
    await usingDatabase(embedded, (database) => migrateToLatest(database.db));
    filled = await fill(embedded);
    before = await usingDatabase(embedded, picture);
    expectFilled(before);
  }, 300_000);

  afterAll(async () => {
    await disposeAll(places);
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('the embedded database restores into PostgreSQL 15 with every row of every table, and a server on it works', async () => {
    const file = path.join(folder, 'embedded.backup');
    const made = await cli(embedded, ['db:backup', file]);
    expect(made, made.stderr).toMatchObject({ code: 0 });
    expect(made.stdout).toMatch(/^Backed up the embedded database to .* \(portable, /);

    const postgres = track(await postgresPlace());
    const restored = await cli(postgres, ['db:restore', file]);
    expect(restored, restored.stderr).toMatchObject({ code: 0 });
    expect(restored.stdout).toMatch(
      new RegExp(`portable backup of the embedded database, made .*\\) into PostgreSQL: \\d+ row\\(s\\) in ${APP_TABLES.length} tables`),
    );
    expect(await usingDatabase(postgres, picture)).toEqual(before);
    await expectAppWorks(postgres, filled);

    // The server itself, as the operator starts it after the move.
    const server = await startServer({ DATABASE_URL: postgres.env.DATABASE_URL as string });
    try {
      const login = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'alice_backup', password: PASSWORD }).toString(),
      });
      expect(login.status).toBe(200);
      const { access_token: token } = (await login.json()) as { access_token: string };
      const tasks = await fetch(`${server.url}/api/tasks?sort=createdAt&order=asc`, { headers: { authorization: `Bearer ${token}` } });
      expect(tasks.status).toBe(200);
      const { items } = (await tasks.json()) as { items: { title: string }[] };
      expect(items.map((task) => task.title)).toEqual(['Plain', 'Ünïcode ✓ 😀 "quoted"', 'Finished', 'Shared task', 'After the restore']);
      // Signed on the embedded database before the move, by a key retired since.
      const me = await fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${filled.alice.accessToken}` } });
      expect(me.status).toBe(200);
    } finally {
      await server.stop();
    }

    // And back: PostgreSQL's portable backup restores into a new embedded database.
    const moved = await usingDatabase(postgres, picture);
    const portable = path.join(folder, 'postgres.portable');
    const back = await cli(postgres, ['db:backup', portable, '--format', 'portable']);
    expect(back, back.stderr).toMatchObject({ code: 0 });
    const again = track(await pglitePlace());
    const returned = await cli(again, ['db:restore', portable]);
    expect(returned, returned.stderr).toMatchObject({ code: 0 });
    expect(await usingDatabase(again, picture)).toEqual(moved);
  });

  it('a pg_dump archive cannot go into the embedded database, and the refusal says what to do', async () => {
    const postgres = track(await postgresPlace());
    const restored = await cli(postgres, ['db:restore', path.join(folder, 'embedded.backup')]);
    expect(restored, restored.stderr).toMatchObject({ code: 0 });
    const archive = path.join(folder, 'postgres.dump');
    expect((await cli(postgres, ['db:backup', archive])).code).toBe(0);

    const embeddedTarget = track(await pglitePlace());
    const refused = await cli(embeddedTarget, ['db:restore', archive]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is a pg_dump archive, which only PostgreSQL can restore.*--format portable/);
  });
});
