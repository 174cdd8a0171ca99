import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compiler } from '../fastpath/prepared';
import { seedProject, seedTasks, seedUsers } from '../seed';
import { createTestDatabase, type TestDatabase } from '../testing';
import { listTasksPage, pageSegment, pageStatement, type TaskPageQuery, type TaskSortColumn } from './tasks';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
});
afterAll(() => database.close());

const SORTS: TaskSortColumn[] = ['created_at', 'updated_at', 'due_at', 'priority_rank', 'position'];
const ORDERS = ['asc', 'desc'] as const;

type PageSql = Parameters<typeof pageStatement>[0];

/** Two queries of each shape, differing in every value, so the second must reuse the first's template. */
function shapes(): [PageSql, PageSql][] {
  const pairs: [PageSql, PageSql][] = [];
  const filterPairs: [PageSql['filters'], PageSql['filters']][] = [
    [{}, {}],
    [{ statuses: ['todo'] }, { statuses: ['done'] }],
    [
      { statuses: ['todo', 'done'], priorities: ['high'] },
      { statuses: ['in_progress', 'todo'], priorities: ['low'] },
    ],
    [{ searchPattern: '%milk%' }, { searchPattern: '%50\\%%' }],
    [
      { dueBefore: new Date('2026-01-01T00:00:00Z'), dueAfter: new Date('2025-01-01T00:00:00Z') },
      { dueBefore: new Date('2027-03-04T05:06:07Z'), dueAfter: new Date('2024-02-02T00:00:00Z') },
    ],
    [{ overdue: true }, { overdue: true }],
    [
      { overdue: false, priorities: ['medium', 'low', 'high'] },
      { overdue: false, priorities: ['high', 'medium', 'low'] },
    ],
    [{ assignee: 3 }, { assignee: 9 }],
    [
      { assignee: 'none', labelIds: [1, 2] },
      { assignee: 'none', labelIds: [7, 5] },
    ],
    [
      { createdBy: 4, searchPattern: '%a%' },
      { createdBy: 6, searchPattern: '%b%' },
    ],
  ];
  for (const sort of SORTS) {
    const keys: [string | number, string | number] =
      sort === 'priority_rank'
        ? [1, 3]
        : sort === 'position'
          ? ['-1024', '3.1415926535897932384626']
          : ['2026-05-01T10:00:00.123456Z', '2025-11-30T23:59:59.000001Z'];
    for (const order of ORDERS) {
      for (const [filtersA, filtersB] of filterPairs) {
        for (const [scopeA, scopeB] of [
          [
            { project: 7, viewer: { userId: 3, isAdmin: false } },
            { project: 8, viewer: { userId: 4, isAdmin: false } },
          ],
          [
            { project: 7, viewer: { userId: 3, isAdmin: true } },
            { project: 9, viewer: { userId: 5, isAdmin: true } },
          ],
          [{ memberOf: 3 }, { memberOf: 4 }],
          [{ allProjects: true }, { allProjects: true }],
        ] as const) {
          const afters: [PageSql['after'], PageSql['after']][] = [
            [undefined, undefined],
            [
              { key: keys[0], id: 11 },
              { key: keys[1], id: 12 },
            ],
            [
              { key: null, id: 13 },
              { key: null, id: 14 },
            ],
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
          const built = pageSegment(query, segment).compile(compiler);
          expect({ sql: cached.sql, parameters: cached.parameters }).toEqual({ sql: built.sql, parameters: built.parameters });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(3_000);
  });

  it('refuse a builder that computes with a placeholder instead of passing it on', async () => {
    const { compileTemplate, placeholder } = await import('../fastpath/prepared');
    const query = compiler
      .selectFrom('tasks')
      .select('id')
      .where('title', 'like', `%${placeholder('search')}%`);
    expect(() => compileTemplate(query)).toThrow(/transformed/);
  });
});

describe('task pages', () => {
  let people: number[];
  let shared: number;
  let strangers: number;
  const projectTasks = async (projectIds: number[]) =>
    (await database.db.selectFrom('tasks').select('id').where('project_id', 'in', projectIds).execute()).map((row) => row.id).sort((a, b) => a - b);
  const inboxOf = async (userId: number) =>
    (await database.db.selectFrom('projects').select('id').where('inbox_owner_id', '=', userId).executeTakeFirstOrThrow()).id;

  beforeAll(async () => {
    people = await seedUsers(database.db, { count: 3, prefix: 'pages_' });
    const [ana, ben, cleo] = people as [number, number, number];
    const now = new Date('2026-06-01T12:00:00Z');
    await seedTasks(database.db, { ownerIds: [ana, ben, cleo], count: 90, now });
    shared = await seedProject(database.db, { name: 'Shared', ownerId: ana, members: [{ userId: ben, role: 'viewer' }] });
    await seedTasks(database.db, { project: { id: shared, creatorIds: [ana, ben], assigneeIds: [ana, ben] }, count: 60, now, firstRow: 1_000 });
    strangers = await seedProject(database.db, { name: 'Strangers', ownerId: cleo });
    await seedTasks(database.db, { project: { id: strangers, creatorIds: [cleo] }, count: 20, now, firstRow: 2_000 });
  });

  /** Every page of a scope, following each page's last row as the cursor. */
  async function walk(scope: TaskPageQuery['scope'], sort: TaskSortColumn, order: 'asc' | 'desc', filters: TaskPageQuery['filters'] = {}) {
    const seen: { id: number; sort_key: string | number | null }[] = [];
    let after: TaskPageQuery['after'];
    for (let pages = 0; pages < 100; pages++) {
      const page = await listTasksPage(database.db, { scope, filters, sort, order, limit: 7, ...(after ? { after } : {}) });
      seen.push(...page);
      const last = page.at(-1);
      if (page.length < 7 || !last) return seen;
      after = { key: last.sort_key, id: last.id };
    }
    throw new Error('more pages than tasks');
  }

  function expectOrdered(rows: { id: number; sort_key: string | number | null }[], sort: TaskSortColumn, order: 'asc' | 'desc') {
    const keyed = rows.filter((row) => row.sort_key !== null);
    // Tasks without a due date come after every dated one, in both directions.
    expect(rows.slice(0, keyed.length)).toEqual(keyed);
    const compare = (a: string | number, b: string | number) => (sort === 'position' ? Number(a) - Number(b) : a === b ? 0 : a < b ? -1 : 1);
    for (let i = 1; i < keyed.length; i++) {
      const [before, current] = [keyed[i - 1]!, keyed[i]!];
      const byKey = compare(before.sort_key!, current.sort_key!);
      const step = byKey === 0 ? before.id - current.id : byKey;
      expect(order === 'asc' ? step < 0 : step > 0).toBe(true);
    }
  }

  it.each(SORTS.flatMap((sort) => ORDERS.map((order) => [sort, order] as const)))(
    'by %s %s: a project gets exactly its own tasks, each once, in order; a member all of theirs',
    async (sort, order) => {
      const [ana, ben] = people as [number, number];
      for (const [projectId, viewer] of [
        [await inboxOf(ana), ana],
        [shared, ben],
      ] as const) {
        const rows = await walk({ project: projectId, viewer: { userId: viewer, isAdmin: false } }, sort, order);
        expect(rows.map((row) => row.id).sort((a, b) => a - b)).toEqual(await projectTasks([projectId]));
        expectOrdered(rows, sort, order);
      }
      const all = await walk({ memberOf: ben }, sort, order);
      expect(all.map((row) => row.id).sort((a, b) => a - b)).toEqual(await projectTasks([await inboxOf(ben), shared]));
      expectOrdered(all, sort, order);
    },
  );

  it('reads nothing of a project the viewer is not a member of, unless an administrator', async () => {
    const [ana] = people as [number];
    expect(await walk({ project: strangers, viewer: { userId: ana, isAdmin: false } }, 'created_at', 'desc')).toEqual([]);
    const asAdmin = await walk({ project: strangers, viewer: { userId: ana, isAdmin: true } }, 'created_at', 'desc');
    expect(asAdmin.map((row) => row.id).sort((a, b) => a - b)).toEqual(await projectTasks([strangers]));
  });

  it("finds one assignee's tasks across the member's projects, and unassigned ones", async () => {
    const [ana, ben] = people as [number, number];
    const assigned = await walk({ memberOf: ben }, 'due_at', 'asc', { assignee: ana });
    const expected = await database.db.selectFrom('tasks').select('id').where('assignee_id', '=', ana).where('project_id', 'in', [shared]).execute();
    expect(assigned.map((row) => row.id).sort((a, b) => a - b)).toEqual(expected.map((row) => row.id).sort((a, b) => a - b));
    const unassigned = await walk({ memberOf: ben }, 'created_at', 'desc', { assignee: 'none' });
    const none = await database.db
      .selectFrom('tasks')
      .select('id')
      .where('assignee_id', 'is', null)
      .where('project_id', 'in', [shared, await inboxOf(ben)])
      .execute();
    expect(unassigned.map((row) => row.id).sort((a, b) => a - b)).toEqual(none.map((row) => row.id).sort((a, b) => a - b));
  });
});
