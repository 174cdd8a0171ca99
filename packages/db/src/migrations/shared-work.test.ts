import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateDown, migrateTo } from '../migrate';
import { createTestDatabase, type TestDatabase } from '../testing';

/**
 * The upgrade to shared work, on a database as the previous release wrote it: accounts, sessions,
 * refresh tokens, a password reset, the audit log, settings and tasks in every state, with
 * microsecond timestamps. Every row is compared as the database holds it (JSON text, so no
 * precision is lost on the way).
 */
const PREVIOUS_RELEASE = '2026_11_25_0003_tasks';
const SHARED_WORK = '2026_12_05_0004_shared_work';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
  await migrateTo(database.db, PREVIOUS_RELEASE);
});
afterAll(() => database.close());

type Row = Record<string, unknown>;

/** Every row of a table, ordered by its key, as JSON. */
async function rowsOf(table: string, orderBy: string): Promise<Row[]> {
  const { rows } = await sql<{ row: Row }>`select to_jsonb(t) as row from ${sql.table(table)} t order by ${sql.raw(orderBy)}`.execute(database.db);
  return rows.map((r) => r.row);
}

const UNTOUCHED = {
  users: 'id',
  sessions: 'id',
  refresh_tokens: 'token_hash',
  signing_keys: 'kid',
  password_reset_tokens: 'token_hash',
  settings: 'id',
  audit_events: 'id',
} as const;

async function writeAsThePreviousRelease() {
  const db = database.db;
  await sql`
    insert into users (username, password_hash, role, is_active, created_at, updated_at) values
      ('alice', '$2b$04$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'admin', true, '2026-01-01 10:00:00.123456+00', '2026-02-01 10:00:00.654321+00'),
      ('Bob', '$2b$04$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'user', true, '2026-01-02 10:00:00.000001+00', '2026-01-02 10:00:00.000001+00'),
      ('carol', '$2b$04$cccccccccccccccccccccccccccccccccccccccccccccccccccc', 'user', true, '2026-01-03 10:00:00+00', '2026-01-03 10:00:00+00'),
      ('dave', '$2b$04$dddddddddddddddddddddddddddddddddddddddddddddddddddd', 'user', false, '2026-01-04 10:00:00+00', '2026-03-04 10:00:00+00')`.execute(db);
  const ids = Object.fromEntries(
    (await sql<{ id: number; username: string }>`select id, username from users`.execute(db)).rows.map((row) => [row.username, row.id]),
  ) as Record<'alice' | 'Bob' | 'carol' | 'dave', number>;
  await sql`
    insert into sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at, revoke_reason, user_agent, ip) values
      ('00000000-0000-4000-8000-000000000001', ${ids.alice}, '2026-03-01 08:00:00.5+00', '2026-03-01 09:00:00.25+00', '2026-03-31 08:00:00+00', null, null, 'Firefox', '127.0.0.1'),
      ('00000000-0000-4000-8000-000000000002', ${ids.Bob}, '2026-03-02 08:00:00+00', '2026-03-02 08:00:00+00', '2026-04-01 08:00:00+00', '2026-03-03 08:00:00+00', 'logout', null, '::1')`.execute(
    db,
  );
  await sql`
    insert into refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at) values
      ('hash-1', '00000000-0000-4000-8000-000000000001', '2026-03-01 08:00:00+00', '2026-03-31 08:00:00+00', '2026-03-01 09:00:00+00'),
      ('hash-2', '00000000-0000-4000-8000-000000000001', '2026-03-01 09:00:00+00', '2026-03-31 08:00:00+00', null)`.execute(db);
  await sql`
    insert into password_reset_tokens (token_hash, user_id, created_by, created_at, expires_at, used_at) values
      ('reset-1', ${ids.Bob}, ${ids.alice}, '2026-03-05 08:00:00+00', '2026-03-05 09:00:00+00', null)`.execute(db);
  await sql`insert into settings (id, value, version, updated_by) values (1, '{"registrationOpen": false}', 3, ${ids.alice})`.execute(db);
  await sql`
    insert into audit_events (occurred_at, action, actor_id, actor_username, target_type, target_id, target_label, ip, user_agent, details) values
      ('2026-03-01 08:00:00.000007+00', 'auth.login_succeeded', ${ids.alice}, 'alice', 'user', ${String(ids.alice)}, 'alice', '127.0.0.1', 'Firefox', '{"sessionId": "00000000-0000-4000-8000-000000000001"}'),
      ('2026-03-04 10:00:00+00', 'user.deactivated', ${ids.alice}, 'alice', 'user', ${String(ids.dave)}, 'dave', null, null, '{"endedSessions": 0}')`.execute(
    db,
  );
  // Tasks in every state: done ones keep their completion time, changed ones their version.
  await sql`
    insert into tasks (owner_id, title, description, status, priority, due_at, completed_at, created_at, updated_at, version) values
      (${ids.alice}, 'Plain', '', 'todo', 'medium', null, null, '2026-02-01 00:00:00.000001+00', '2026-02-01 00:00:00.000001+00', 1),
      (${ids.alice}, 'Ünïcode ✓ 😀 "quoted"', 'two\nlines, back\\slash', 'in_progress', 'high', '2031-04-05 06:07:08.009+00', null, '2026-02-02 00:00:00+00', '2026-02-05 00:00:00.5+00', 4),
      (${ids.alice}, 'Done long ago', 'with notes', 'done', 'low', '2026-01-01 00:00:00+00', '2026-02-03 12:34:56.789012+00', '2026-02-03 00:00:00+00', '2026-02-03 12:34:56.789012+00', 2),
      (${ids.alice}, 'Second todo', '', 'todo', 'low', null, null, '2026-02-04 00:00:00+00', '2026-02-04 00:00:00+00', 1),
      (${ids.Bob}, 'Bob''s task', '', 'todo', 'medium', '2026-12-24 18:00:00+00', null, '2026-02-10 00:00:00+00', '2026-02-11 00:00:00+00', 7),
      (${ids.Bob}, 'Same instant A', '', 'done', 'high', null, '2026-02-12 00:00:00+00', '2026-02-12 00:00:00+00', '2026-02-12 00:00:00+00', 1),
      (${ids.Bob}, 'Same instant B', '', 'done', 'high', null, '2026-02-12 00:00:00+00', '2026-02-12 00:00:00+00', '2026-02-12 00:00:00+00', 1),
      (${ids.dave}, 'From a deactivated account', '', 'todo', 'medium', null, null, '2026-01-05 00:00:00+00', '2026-01-05 00:00:00+00', 1)`.execute(db);
  // A gap in the ids, as a deleted task leaves.
  await sql`delete from tasks where title = 'Second todo'`.execute(db);
  return ids;
}

describe(`the upgrade to ${SHARED_WORK}`, () => {
  it("moves every task into its owner's inbox as it was, and changes nothing else", async () => {
    const ids = await writeAsThePreviousRelease();
    const before: Record<string, Row[]> = {};
    for (const [table, key] of Object.entries(UNTOUCHED)) before[table] = await rowsOf(table, key);
    const tasksBefore = await rowsOf('tasks', 'id');
    const { rows: sequence } = await sql<{ last: string }>`select last_value::text as last from tasks_id_seq`.execute(database.db);

    expect(await migrateTo(database.db, SHARED_WORK)).toEqual({ applied: [SHARED_WORK] });

    for (const [table, key] of Object.entries(UNTOUCHED)) expect(await rowsOf(table, key), table).toEqual(before[table]);

    const inboxes = await rowsOf('projects', 'id');
    expect(inboxes.map((project) => [project.inbox_owner_id, project.name, project.archived_at, project.created_by])).toEqual(
      Object.values(ids)
        .sort((a, b) => a - b)
        .map((id) => [id, 'Inbox', null, id]),
    );
    const inboxOf = new Map(inboxes.map((project) => [project.inbox_owner_id as number, project.id as number]));
    expect((await rowsOf('project_members', 'project_id')).map((member) => [member.project_id, member.user_id, member.role])).toEqual(
      [...inboxOf].sort(([a], [b]) => a - b).map(([user, project]) => [project, user, 'owner']),
    );

    const tasksAfter = await rowsOf('tasks', 'id');
    expect(tasksAfter.map((task) => task.id)).toEqual(tasksBefore.map((task) => task.id));
    for (const [index, old] of tasksBefore.entries()) {
      const { owner_id: ownerId, ...kept } = old;
      const now = tasksAfter[index] as Row;
      expect(now, String(old.title)).toEqual({
        ...kept,
        project_id: inboxOf.get(ownerId as number),
        created_by: ownerId,
        assignee_id: null,
        position: expect.any(Number),
      });
    }
    // Each status column of an inbox in the order the list showed: newest first.
    const { rows: columns } = await sql<{ ordered: boolean }>`
      select (array_agg(id order by position) = array_agg(id order by created_at desc, id desc)) as ordered
      from tasks group by project_id, status`.execute(database.db);
    expect(columns.length).toBeGreaterThan(3);
    expect(columns.every((column) => column.ordered)).toBe(true);
    // New tasks continue after the highest id ever handed out.
    expect((await sql<{ last: string }>`select last_value::text as last from tasks_id_seq`.execute(database.db)).rows).toEqual(sequence);
    expect(await rowsOf('task_events', 'id')).toEqual([]);
  });

  it('goes back down to the previous schema with every task where it was, and up again', async () => {
    const tasksBefore = (await rowsOf('tasks', 'id')).map(({ project_id, created_by, assignee_id, position, ...rest }) => ({ ...rest, owner_id: created_by }));
    await migrateDown(database.db);
    expect(await rowsOf('tasks', 'id')).toEqual(tasksBefore);
    expect((await migrateTo(database.db, SHARED_WORK)).applied).toEqual([SHARED_WORK]);
  });
});
