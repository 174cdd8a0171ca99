import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import { seedTasks, seedUsers } from './seed';
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
  it('creates users that cannot sign in, named by prefix and number', async () => {
    const ids = await seedUsers(database.db, { count: 3, prefix: 'bench_' });
    expect(ids).toHaveLength(3);
    const rows = await database.db.selectFrom('users').select(['id', 'username', 'role', 'password_hash']).where('id', 'in', ids).orderBy('id').execute();
    expect(rows.map((row) => row.username)).toEqual(['bench_000001', 'bench_000002', 'bench_000003']);
    expect(rows.every((row) => row.role === 'user' && !row.password_hash.startsWith('$2'))).toBe(true);
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
      .select(['owner_id', sql<number>`count(*)`.as('count')])
      .where('owner_id', 'in', owners)
      .groupBy('owner_id')
      .execute();
    expect(perOwner.map((row) => row.count)).toEqual([250, 250, 250, 250]);

    const spread = await sql<{ statuses: number; priorities: number; undated: number; overdue: number; done_without_completion: number; future_rows: number; fractional: number }>`
      select count(distinct status)::int as statuses,
             count(distinct priority)::int as priorities,
             count(*) filter (where due_at is null)::int as undated,
             count(*) filter (where status <> 'done' and due_at < ${now})::int as overdue,
             count(*) filter (where (status = 'done') <> (completed_at is not null))::int as done_without_completion,
             count(*) filter (where created_at > ${now} or updated_at > ${now} or updated_at < created_at)::int as future_rows,
             count(*) filter (where extract(microseconds from created_at)::int % 1000 <> 0)::int as fractional
      from tasks where owner_id in (${sql.join(owners)})`.execute(database.db);
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
      .where('owner_id', '=', owner!)
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(40);
    expect(rows.slice(20)).toEqual(rows.slice(0, 20));
  });

  it('refuses to seed tasks without an owner', async () => {
    await expect(seedTasks(database.db, { ownerIds: [], count: 1 })).rejects.toThrow(/owner/);
  });
});
