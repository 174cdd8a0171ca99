import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import { seedProject, seedTasks, seedUsers } from './seed';
import { createTestDatabase, type TestDatabase, type TestTemplate } from './testing';

declare module 'vitest' {
  export interface ProvidedContext {
    dbTemplate: TestTemplate;
  }
}

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
});
afterAll(() => database.close());

describe('seed', () => {
  it('creates users that cannot sign in, named by prefix and number, each with their inbox', async () => {
    const ids = await seedUsers(database.db, { count: 3, prefix: 'bench_' });
    expect(ids).toHaveLength(3);
    const rows = await database.db.selectFrom('users').select(['id', 'username', 'role', 'password_hash']).where('id', 'in', ids).orderBy('id').execute();
    expect(rows.map((row) => row.username)).toEqual(['bench_000001', 'bench_000002', 'bench_000003']);
    expect(rows.every((row) => row.role === 'user' && !row.password_hash.startsWith('$2'))).toBe(true);
    const inboxes = await database.db
      .selectFrom('projects')
      .innerJoin('project_members', 'project_members.project_id', 'projects.id')
      .select(['projects.inbox_owner_id', 'project_members.user_id', 'project_members.role'])
      .where('projects.inbox_owner_id', 'in', ids)
      .orderBy('projects.inbox_owner_id')
      .execute();
    expect(inboxes).toEqual(ids.map((id) => ({ inbox_owner_id: id, user_id: id, role: 'owner' })));
  });

  it('deals tasks evenly to the owners, in batches, with a spread of every column', async () => {
    const owners = await seedUsers(database.db, { count: 4, prefix: 'owner_' });
    const progress: number[] = [];
    const now = new Date('2026-06-01T12:00:00Z');
    const inserted = await seedTasks(database.db, { ownerIds: owners, count: 1_000, batchSize: 300, now, onProgress: (n) => progress.push(n) });
    expect(inserted).toBe(1_000);
    expect(progress).toEqual([300, 600, 900, 1_000]);

    const perOwner = await database.db
      .selectFrom('tasks')
      .innerJoin('projects', 'projects.id', 'tasks.project_id')
      .select([
        'tasks.created_by',
        sql<number>`count(*)`.as('count'),
        sql<number>`count(*) filter (where projects.inbox_owner_id = tasks.created_by)`.as('inbox'),
      ])
      .where('tasks.created_by', 'in', owners)
      .groupBy('tasks.created_by')
      .execute();
    expect(perOwner.map((row) => [row.count, row.inbox])).toEqual([
      [250, 250],
      [250, 250],
      [250, 250],
      [250, 250],
    ]);

    const spread = await sql<{
      statuses: number;
      priorities: number;
      undated: number;
      overdue: number;
      done_without_completion: number;
      future_rows: number;
      fractional: number;
    }>`
      select count(distinct status)::int as statuses,
             count(distinct priority)::int as priorities,
             count(*) filter (where due_at is null)::int as undated,
             count(*) filter (where status <> 'done' and due_at < ${now})::int as overdue,
             count(*) filter (where (status = 'done') <> (completed_at is not null))::int as done_without_completion,
             count(*) filter (where created_at > ${now} or updated_at > ${now} or updated_at < created_at)::int as future_rows,
             count(*) filter (where extract(microseconds from created_at)::int % 1000 <> 0)::int as fractional
      from tasks where created_by in (${sql.join(owners)})`.execute(database.db);
    const stats = spread.rows[0]!;
    expect(stats.statuses).toBe(3);
    expect(stats.priorities).toBe(3);
    expect(stats.undated).toBeGreaterThan(100);
    expect(stats.undated).toBeLessThan(300);
    expect(stats.overdue).toBeGreaterThan(50);
    expect(stats.done_without_completion).toBe(0);
    expect(stats.future_rows).toBe(0);
    expect(stats.fractional).toBeGreaterThan(500);
  });

  it('seeds the same data twice from the same row numbers', async () => {
    const [owner] = await seedUsers(database.db, { count: 1, prefix: 'again_' });
    const now = new Date('2026-06-01T12:00:00Z');
    await seedTasks(database.db, { ownerIds: [owner!], count: 20, now, firstRow: 5_000 });
    await seedTasks(database.db, { ownerIds: [owner!], count: 20, now, firstRow: 5_000 });
    const rows = await database.db
      .selectFrom('tasks')
      .select(['title', 'status', 'priority', 'due_at', 'created_at'])
      .where('created_by', '=', owner!)
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(40);
    expect(rows.slice(20)).toEqual(rows.slice(0, 20));
  });

  it('puts tasks into one project, made by its members in turn and mostly assigned', async () => {
    const people = await seedUsers(database.db, { count: 3, prefix: 'team_' });
    const projectId = await seedProject(database.db, {
      name: 'Team',
      ownerId: people[0]!,
      members: [
        { userId: people[1]!, role: 'editor' },
        { userId: people[2]!, role: 'viewer' },
      ],
    });
    await seedTasks(database.db, { project: { id: projectId, creatorIds: people.slice(0, 2), assigneeIds: people }, count: 300 });
    const { rows } = await sql<{ count: number; creators: number; assigned: number; assignees: number; columns: number; positions: number }>`
      select count(*)::int as count, count(distinct created_by)::int as creators, count(assignee_id)::int as assigned,
        count(distinct assignee_id)::int as assignees, count(distinct status)::int as columns, count(distinct (status, position))::int as positions
      from tasks where project_id = ${projectId}`.execute(database.db);
    expect(rows[0]).toMatchObject({ count: 300, creators: 2, assignees: 3, columns: 3, positions: 300 });
    expect(rows[0]!.assigned).toBeGreaterThan(150);
    expect(rows[0]!.assigned).toBeLessThan(250);
  });

  it('refuses to seed tasks without an owner or a project', async () => {
    await expect(seedTasks(database.db, { ownerIds: [], count: 1 })).rejects.toThrow(/owner/);
  });
});
