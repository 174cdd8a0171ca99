import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateDown, migrateTo } from '../migrate';
import { seedProject, seedTasks, seedUsers } from '../seed';
import { createTestDatabase, type TestDatabase } from '../testing';

const PREVIOUS_RELEASE = '2026_12_06_0005_session_lifetimes';
const USER_USAGE = '2026_12_06_0006_user_usage';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
  await migrateTo(database.db, PREVIOUS_RELEASE);
});
afterAll(() => database.close());

async function usage(): Promise<string[]> {
  const { rows } = await sql<{ row: string }>`
    select u.username || ' ' || x.tasks || ' ' || x.projects || ' ' || x.comments as row
    from user_usage x join users u on u.id = x.user_id order by u.username`.execute(database.db);
  return rows.map((row) => row.row);
}

describe('the usage counts', () => {
  it('start from what exists at the upgrade, and follow every insert and delete, in bulk and by cascade', async () => {
    const [ana, ben, cleo] = (await seedUsers(database.db, { count: 3, prefix: 'usage_' })) as [number, number, number];
    const shared = await seedProject(database.db, { name: 'Shared', ownerId: ana, members: [{ userId: ben, role: 'editor' }] });
    await seedTasks(database.db, { project: { id: shared, creatorIds: [ana, ben] }, count: 10 });
    await seedTasks(database.db, { ownerIds: [ben], count: 3, firstRow: 100 });
    await sql`insert into task_comments (task_id, author_id, body) select id, ${ben}, 'hi' from tasks where project_id = ${shared} limit 4`.execute(
      database.db,
    );

    await migrateTo(database.db, USER_USAGE);
    // Inboxes are not counted; an account that made nothing has no row.
    expect(await usage()).toEqual(['usage_000001 5 1 0', 'usage_000002 8 0 4']);

    // The previous release, still running during a rolling upgrade, is counted by the triggers.
    await seedTasks(database.db, { ownerIds: [cleo], count: 2, firstRow: 200 });
    expect(await usage()).toContain('usage_000003 2 0 0');

    // Deleting the project takes its tasks and their comments, and the counts with them.
    await sql`delete from projects where id = ${shared}`.execute(database.db);
    expect(await usage()).toEqual(['usage_000002 3 0 0', 'usage_000003 2 0 0']);

    // A deleted account's row goes with it; what it made stays, counted by no one.
    await sql`delete from users where id = ${cleo}`.execute(database.db);
    expect(await usage()).toEqual(['usage_000002 3 0 0']);
  });

  it('goes back down, and up again with the counts rebuilt', async () => {
    await migrateDown(database.db);
    const { rows } = await sql<{ name: string }>`select to_regclass('user_usage')::text as name`.execute(database.db);
    expect(rows[0]?.name).toBeNull();
    expect((await migrateTo(database.db, USER_USAGE)).applied).toEqual([USER_USAGE]);
    expect(await usage()).toEqual(['usage_000002 3 0 0']);
  });
});
