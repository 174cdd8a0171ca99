import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compiler } from '../prepared';
import { seedTasks, seedUsers } from '../seed';
import { createTestDatabase, type TestDatabase } from '../testing';
import { listTasksPage, pageSegment, pageStatement, type TaskPageQuery, type TaskSortColumn } from './tasks';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
});
afterAll(() => database.close());

const SORTS: TaskSortColumn[] = ['created_at', 'updated_at', 'due_at', 'priority_rank'];
const ORDERS = ['asc', 'desc'] as const;

type PageSql = Parameters<typeof pageStatement>[0];

/** Two queries of each shape, differing in every value, so the second must reuse the first's template. */
function shapes(): [PageSql, PageSql][] {
  const pairs: [PageSql, PageSql][] = [];
  const filterPairs: [PageSql['filters'], PageSql['filters']][] = [
    [{}, {}],
    [{ statuses: ['todo'] }, { statuses: ['done'] }],
    [{ statuses: ['todo', 'done'], priorities: ['high'] }, { statuses: ['in_progress', 'todo'], priorities: ['low'] }],
    [{ searchPattern: '%milk%' }, { searchPattern: '%50\\%%' }],
    [
      { dueBefore: new Date('2026-01-01T00:00:00Z'), dueAfter: new Date('2025-01-01T00:00:00Z') },
      { dueBefore: new Date('2027-03-04T05:06:07Z'), dueAfter: new Date('2024-02-02T00:00:00Z') },
    ],
    [{ overdue: true }, { overdue: true }],
    [{ overdue: false, priorities: ['medium', 'low', 'high'] }, { overdue: false, priorities: ['high', 'medium', 'low'] }],
  ];
  for (const sort of SORTS) {
    const keys: [string | number, string | number] =
      sort === 'priority_rank' ? [1, 3] : ['2026-05-01T10:00:00.123456Z', '2025-11-30T23:59:59.000001Z'];
    for (const order of ORDERS) {
      for (const [filtersA, filtersB] of filterPairs) {
        for (const [scopeA, scopeB] of [
          [{ ownerId: 7 }, { ownerId: 8 }],
          [{ allOwners: true }, { allOwners: true }],
        ] as const) {
          const afters: [PageSql['after'], PageSql['after']][] = [
            [undefined, undefined],
            [{ key: keys[0], id: 11 }, { key: keys[1], id: 12 }],
            [{ key: null, id: 13 }, { key: null, id: 14 }],
          ];
          for (const [afterA, afterB] of afters) {
            const base = { sort, order } as const;
            pairs.push([
              { ...base, scope: scopeA, filters: filtersA, limit: 21, ...(afterA ? { after: afterA } : {}) },
              { ...base, scope: scopeB, filters: filtersB, limit: 5, ...(afterB ? { after: afterB } : {}) },
            ]);
          }
        }
      }
    }
  }
  return pairs;
}

describe('task page statements', () => {
  it('are the statements Kysely builds for the same query, with any values, after a template is cached', () => {
    let compared = 0;
    for (const [first, second] of shapes()) {
      for (const segment of ['keyed', 'no-due-date'] as const) {
        pageStatement(first, segment);
        for (const query of [first, second]) {
          const cached = pageStatement(query, segment);
          const built = pageSegment(compiler, query, segment).compile();
          expect({ sql: cached.sql, parameters: cached.parameters }).toEqual({ sql: built.sql, parameters: built.parameters });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1_000);
  });

  it('refuse a builder that computes with a placeholder instead of passing it on', async () => {
    const { compileTemplate, placeholder } = await import('../prepared');
    const query = compiler.selectFrom('tasks').select('id').where('title', 'like', `%${placeholder('search')}%`);
    expect(() => compileTemplate(query)).toThrow(/transformed/);
  });
});

describe('task pages', () => {
  let owners: number[];
  beforeAll(async () => {
    owners = await seedUsers(database.db, { count: 2, prefix: 'pages_' });
    await seedTasks(database.db, { ownerIds: owners, count: 120, now: new Date('2026-06-01T12:00:00Z') });
  });

  /** Every page of one owner's tasks, following each page's last row as the cursor. */
  async function walk(ownerId: number, sort: TaskSortColumn, order: 'asc' | 'desc') {
    const seen: { id: number; owner_id: number; sort_key: string | number | null }[] = [];
    let after: TaskPageQuery['after'];
    for (let pages = 0; pages < 100; pages++) {
      const page = await listTasksPage(database.db, { scope: { ownerId }, filters: {}, sort, order, limit: 7, ...(after ? { after } : {}) });
      seen.push(...page);
      const last = page.at(-1);
      if (page.length < 7 || !last) return seen;
      after = { key: last.sort_key, id: last.id };
    }
    throw new Error('more pages than tasks');
  }

  it.each(SORTS.flatMap((sort) => ORDERS.map((order) => [sort, order] as const)))(
    'by %s %s: one owner after another gets exactly their own tasks, each once, in order',
    async (sort, order) => {
      for (const ownerId of owners) {
        const rows = await walk(ownerId, sort, order);
        const own = await database.db.selectFrom('tasks').select('id').where('owner_id', '=', ownerId).execute();
        expect(rows.every((row) => row.owner_id === ownerId)).toBe(true);
        expect(rows.map((row) => row.id).sort((a, b) => a - b)).toEqual(own.map((row) => row.id).sort((a, b) => a - b));
        const keyed = rows.filter((row) => row.sort_key !== null);
        // Tasks without a due date come after every dated one, in both directions.
        expect(rows.slice(0, keyed.length)).toEqual(keyed);
        for (let i = 1; i < keyed.length; i++) {
          const [before, current] = [keyed[i - 1]!, keyed[i]!];
          const step = before.sort_key === current.sort_key ? before.id - current.id : before.sort_key! < current.sort_key! ? -1 : 1;
          expect(order === 'asc' ? step < 0 : step > 0).toBe(true);
        }
      }
    },
  );
});
