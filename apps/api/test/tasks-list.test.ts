import pg from 'pg';
import { sql } from '@stm/db';
import { seedTasks } from '@stm/db/seed';
import type { ListTasksInput } from '@stm/validators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rejection, rest, signUp, signUpAdmin, type TestApp } from './helpers';

let t: TestApp;
const db = () => t.app.services.database.db;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Page = { items: { id: number; ownerId: number; title: string }[]; nextCursor: string | null };

/** Every page of a list, following nextCursor; bounded so a cursor bug cannot loop forever. */
async function allPages(token: string, input: ListTasksInput, between?: () => Promise<void>): Promise<number[][]> {
  const pages: number[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 200; i++) {
    const page = await t.caller(token).tasks.list({ ...input, ...(cursor ? { cursor } : {}) });
    pages.push(page.items.map((item) => item.id));
    if (!page.nextCursor) return pages;
    cursor = page.nextCursor;
    await between?.();
  }
  throw new Error('pagination did not end');
}

describe('filters', () => {
  let token: string;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    ({ accessToken: token } = await signUp(t, 'filter_user'));
    const make = async (key: string, input: Parameters<ReturnType<TestApp['caller']>['tasks']['create']>[0]) => {
      ids[key] = (await t.caller(token).tasks.create(input)).id;
    };
    await make('overdueTodo', { title: 'Pay the INVOICE', priority: 'high', dueAt: '2020-03-01T00:00:00Z' });
    await make('overdueDone', { title: 'Old report', status: 'done', priority: 'low', dueAt: '2020-02-01T00:00:00Z' });
    await make('futureProgress', { title: 'Plan roadmap', description: 'see the invoice list', status: 'in_progress', dueAt: '2099-06-01T00:00:00Z' });
    await make('undated', { title: '100% done_ish \\ odd', description: 'wildcards' });
    await make('percentOnly', { title: '100 percent', description: 'done ish' });
  });

  const list = (input: ListTasksInput) =>
    t
      .caller(token)
      .tasks.list({ limit: 100, ...input })
      .then((page) => page.items.map((item) => item.id).sort((a, b) => a - b));
  const expectIds = (...keys: string[]) => keys.map((key) => ids[key]!).sort((a, b) => a - b);

  it('filters by one status or several', async () => {
    expect(await list({ status: 'done' })).toEqual(expectIds('overdueDone'));
    expect(await list({ status: ['todo', 'in_progress'] })).toEqual(expectIds('overdueTodo', 'futureProgress', 'undated', 'percentOnly'));
  });

  it('filters by priority', async () => {
    expect(await list({ priority: 'high' })).toEqual(expectIds('overdueTodo'));
    expect(await list({ priority: ['low', 'high'] })).toEqual(expectIds('overdueTodo', 'overdueDone'));
  });

  it('searches title and description as plain text, ignoring case', async () => {
    expect(await list({ search: 'invoice' })).toEqual(expectIds('overdueTodo', 'futureProgress'));
    expect(await list({ search: '  INVOICE ' })).toEqual(expectIds('overdueTodo', 'futureProgress'));
    expect(await list({ search: '100%' })).toEqual(expectIds('undated'));
    expect(await list({ search: 'done_' })).toEqual(expectIds('undated'));
    expect(await list({ search: '\\' })).toEqual(expectIds('undated'));
    expect(await list({ search: '%' })).toEqual(expectIds('undated'));
    expect(await list({ search: '_' })).toEqual(expectIds('undated'));
    expect(await list({ search: '' })).toHaveLength(5);
  });

  it.each(["' or '1'='1", "%' or 1=1 --", "'; drop table tasks; --", '") or true --'])('treats %s as text, not SQL', async (search) => {
    expect(await list({ search })).toEqual([]);
    const response = await rest(t.app, 'GET', `/api/tasks?search=${encodeURIComponent(search)}`, { token });
    expect(response.statusCode).toBe(200);
    expect(json<Page>(response).items).toEqual([]);
    expect(await list({})).toHaveLength(5);
  });

  it('filters by due date bounds (strict) and by overdue', async () => {
    expect(await list({ dueBefore: '2020-03-01T00:00:00Z' })).toEqual(expectIds('overdueDone'));
    expect(await list({ dueBefore: '2020-03-01T00:00:00.001Z' })).toEqual(expectIds('overdueTodo', 'overdueDone'));
    expect(await list({ dueAfter: '2020-03-01T00:00:00Z' })).toEqual(expectIds('futureProgress'));
    expect(await list({ dueAfter: '2020-01-01T00:00:00Z', dueBefore: '2030-01-01T00:00:00Z' })).toEqual(expectIds('overdueTodo', 'overdueDone'));
    expect(await list({ overdue: true })).toEqual(expectIds('overdueTodo'));
    expect(await list({ overdue: false })).toEqual(expectIds('overdueDone', 'futureProgress', 'undated', 'percentOnly'));
  });

  it('combines filters with AND', async () => {
    expect(await list({ status: ['todo', 'done'], search: 'o', dueBefore: '2021-01-01T00:00:00Z', overdue: false })).toEqual(expectIds('overdueDone'));
  });

  it('reads repeated keys as several values and "true"/"false" as booleans over REST', async () => {
    const get = async (query: string) => {
      const response = await rest(t.app, 'GET', `/api/tasks?limit=100&${query}`, { token });
      expect(response.statusCode, response.body).toBe(200);
      return json<Page>(response)
        .items.map((item) => item.id)
        .sort((a, b) => a - b);
    };
    expect(await get('status=done')).toEqual(expectIds('overdueDone'));
    expect(await get('status=done&status=in_progress')).toEqual(expectIds('overdueDone', 'futureProgress'));
    expect(await get('priority=low&priority=high&status=todo')).toEqual(expectIds('overdueTodo'));
    expect(await get('overdue=true')).toEqual(expectIds('overdueTodo'));
    expect(await get('overdue=false')).toEqual(expectIds('overdueDone', 'futureProgress', 'undated', 'percentOnly'));
    expect(await get(`search=${encodeURIComponent('100%')}`)).toEqual(expectIds('undated'));
    expect(await get(`dueBefore=${encodeURIComponent('2020-03-01T00:00:00+00:00')}`)).toEqual(expectIds('overdueDone'));
  });

  it('refuses values that are not one of the choices with 400 naming the field', async () => {
    for (const [query, field] of [
      ['status=open', 'status'],
      ['status=todo&status=bogus', 'status'],
      ['priority=urgent', 'priority'],
      ['overdue=yes', 'overdue'],
      ['overdue=1', 'overdue'],
      ['sort=title', 'sort'],
      ['order=up', 'order'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['dueBefore=tomorrow', 'dueBefore'],
      ['dueAfter=2020-13-01T00:00:00Z', 'dueAfter'],
      [`search=${'x'.repeat(201)}`, 'search'],
      ['search=%00', 'search'],
    ] as const) {
      const response = await rest(t.app, 'GET', `/api/tasks?${query}`, { token });
      expect(response.statusCode, query).toBe(400);
      expect(Object.keys(json(response).data.fieldErrors), query).toContain(field);
    }
  });
});

describe('sorting and pagination', () => {
  let token: string;
  let ownerId: number;

  beforeAll(async () => {
    const user = await signUp(t, 'pager');
    token = user.accessToken;
    ownerId = user.user.id;
    await seedTasks(db(), { ownerIds: [ownerId], count: 57, now: new Date('2026-06-01T00:00:00Z') });
    const rows = await db().selectFrom('tasks').select('id').where('created_by', '=', ownerId).orderBy('id').execute();
    const id = (n: number) => rows[n]!.id;
    // Ties that only the id can break, times that differ by microseconds within one millisecond,
    // and several tasks without a due date, so every edge of the keyset is crossed.
    // (created_at is never updated by the application, so its schema type forbids it: raw SQL.)
    const ties = [id(1), id(2), id(3), id(4)];
    await sql`update tasks set created_at = '2026-01-01T00:00:00Z', updated_at = '2026-02-01T00:00:00Z' where id in (${sql.join(ties)})`.execute(db());
    for (const [n, micros] of [
      [10, '000100'],
      [11, '000300'],
      [12, '000200'],
      [13, '000900'],
    ] as const) {
      const at = `2026-03-01T00:00:00.${micros}Z`;
      await sql`update tasks set created_at = ${at}, updated_at = ${at}, due_at = ${at} where id = ${id(n)}`.execute(db());
    }
    await db()
      .updateTable('tasks')
      .set({ due_at: null })
      .where('id', 'in', [id(20), id(21), id(22), id(23), id(24), id(25), id(26)])
      .execute();
    await db()
      .updateTable('tasks')
      .set({ due_at: '2027-01-01T00:00:00Z' })
      .where('id', 'in', [id(30), id(31), id(32)])
      .execute();
  });

  /** The order the database gives with a plain ORDER BY over all rows: the reference. */
  async function referenceOrder(sort: string, order: 'asc' | 'desc'): Promise<number[]> {
    const direction = sql.raw(order);
    const column = { createdAt: 'created_at', updatedAt: 'updated_at', dueAt: 'due_at', priority: 'priority_rank' }[sort]!;
    const nullsLast = sort === 'dueAt' ? sql`due_at is null,` : sql``;
    const { rows } = await sql<{ id: number }>`
      select id from tasks where created_by = ${ownerId}
      order by ${nullsLast} ${sql.ref(column)} ${direction}, id ${direction}`.execute(db());
    return rows.map((row) => row.id);
  }

  const combinations = (['createdAt', 'updatedAt', 'dueAt', 'priority'] as const).flatMap((sort) =>
    (['asc', 'desc'] as const).map((order) => ({ sort, order })),
  );

  it.each(combinations)('pages through every task once by $sort $order', async ({ sort, order }) => {
    const pages = await allPages(token, { sort, order, limit: 4 });
    expect(pages.flat()).toEqual(await referenceOrder(sort, order));
    expect(pages.slice(0, -1).every((page) => page.length === 4)).toBe(true);
    expect(pages.at(-1)!.length).toBe(57 % 4);
  });

  it('puts tasks without a due date last in both directions', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const page = await t.caller(token).tasks.list({ sort: 'dueAt', order, limit: 100 });
      const dueDates = page.items.map((item) => (item as unknown as { dueAt: string | null }).dueAt);
      const firstUndated = dueDates.indexOf(null);
      expect(firstUndated).toBeGreaterThan(0);
      expect(dueDates.slice(firstUndated).every((due) => due === null)).toBe(true);
      expect(dueDates.length - firstUndated).toBeGreaterThanOrEqual(7);
    }
  });

  it('sorts priority by rank: high, medium, low', async () => {
    const page = await t.caller(token).tasks.list({ sort: 'priority', order: 'desc', limit: 100 });
    const ranks = page.items.map((item) => ({ high: 3, medium: 2, low: 1 })[(item as unknown as { priority: 'low' | 'medium' | 'high' }).priority]);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(new Set(ranks).size).toBe(3);
  });

  it('pages through filtered lists too', async () => {
    const pages = await allPages(token, { sort: 'dueAt', order: 'desc', status: ['todo', 'in_progress'], limit: 3 });
    const expected = await db()
      .selectFrom('tasks')
      .select('id')
      .where('created_by', '=', ownerId)
      .where('status', 'in', ['todo', 'in_progress'])
      .orderBy(sql`due_at is null`)
      .orderBy('due_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(pages.flat()).toEqual(expected.map((row) => row.id));
  });

  it('ends with nextCursor null, also when the last page is exactly full', async () => {
    const exact = await t.caller(token).tasks.list({ limit: 57 });
    expect(exact.items).toHaveLength(57);
    expect(exact.nextCursor).toBeNull();
    const first = await t.caller(token).tasks.list({ limit: 56 });
    expect(first.nextCursor).not.toBeNull();
    const last = await t.caller(token).tasks.list({ limit: 56, cursor: first.nextCursor! });
    expect(last.items).toHaveLength(1);
    expect(last.nextCursor).toBeNull();
  });

  it('answers 20 items by default', async () => {
    expect((await t.caller(token).tasks.list({})).items).toHaveLength(20);
  });

  it('misses no task and repeats none while new tasks arrive between pages', async () => {
    const { accessToken, user } = await signUp(t, 'busy_pager');
    await seedTasks(db(), { ownerIds: [user.id], count: 30, now: new Date(Date.now() - 1000) });
    const before = (await db().selectFrom('tasks').select('id').where('created_by', '=', user.id).execute()).map((row) => row.id);
    for (const order of ['desc', 'asc'] as const) {
      let added = 0;
      const pages = await allPages(accessToken, { sort: 'createdAt', order, limit: 4 }, async () => {
        await t.caller(accessToken).tasks.create({ title: `Arrived ${order} ${added++}` });
      });
      const seen = pages.flat();
      expect(new Set(seen).size).toBe(seen.length);
      expect(before.every((id) => seen.filter((s) => s === id).length === 1)).toBe(true);
      // Newest first: the arrivals are ahead of the cursor and never show up mid-way.
      if (order === 'desc') expect(seen.sort((a, b) => a - b)).toEqual([...before].sort((a, b) => a - b));
    }
  });

  it('walks the same pages over REST', async () => {
    const seen: number[] = [];
    let url = '/api/tasks?sort=updatedAt&order=asc&limit=10';
    for (let i = 0; i < 20; i++) {
      const response = await rest(t.app, 'GET', url, { token });
      expect(response.statusCode).toBe(200);
      const page = json<Page>(response);
      seen.push(...page.items.map((item) => item.id));
      if (!page.nextCursor) break;
      url = `/api/tasks?sort=updatedAt&order=asc&limit=10&cursor=${encodeURIComponent(page.nextCursor)}`;
    }
    expect(seen).toEqual(await referenceOrder('updatedAt', 'asc'));
  });
});

describe('cursors', () => {
  let token: string;
  let cursor: string;

  beforeAll(async () => {
    const user = await signUp(t, 'cursor_user');
    token = user.accessToken;
    await seedTasks(db(), { ownerIds: [user.user.id], count: 5 });
    cursor = (await t.caller(token).tasks.list({ limit: 2 })).nextCursor!;
  });

  const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  it.each([
    ['garbage', '!!!not-a-cursor!!!'],
    ['base64 of non-JSON', encode('hello world')],
    ['JSON of the wrong shape', encode({ hello: 'world' })],
    ['a key of the wrong type', encode({ s: 'createdAt', o: 'desc', k: 3, i: 1 })],
    ['an impossible date', encode({ s: 'createdAt', o: 'desc', k: '2026-02-30T00:00:00.000000Z', i: 1 })],
    ['year 0', encode({ s: 'createdAt', o: 'desc', k: '0000-01-01T00:00:00.000000Z', i: 1 })],
    ['SQL in the key', encode({ s: 'createdAt', o: 'desc', k: "2026-01-01'; drop table tasks; --", i: 1 })],
    ['a huge id', encode({ s: 'createdAt', o: 'desc', k: '2026-01-01T00:00:00.000000Z', i: 1e20 })],
    ['a negative id', encode({ s: 'createdAt', o: 'desc', k: '2026-01-01T00:00:00.000000Z', i: -1 })],
    ['a priority rank out of range', encode({ s: 'priority', o: 'desc', k: 99, i: 1 })],
    ['an array', encode([1, 2, 3])],
  ])('refuses %s with 400 on the cursor field', async (_label, bad) => {
    const response = await rest(t.app, 'GET', `/api/tasks?cursor=${encodeURIComponent(bad)}`, { token });
    expect(response.statusCode).toBe(400);
    expect(json(response)).toMatchObject({ data: { reason: 'VALIDATION_FAILED', fieldErrors: { cursor: expect.any(Array) } } });
  });

  it('refuses a cursor made for another sort or order', async () => {
    expect(await rejection(t.caller(token).tasks.list({ cursor, sort: 'dueAt' }))).toMatchObject({
      code: 'BAD_REQUEST',
      reason: 'VALIDATION_FAILED',
      fieldErrors: { cursor: expect.any(Array) },
    });
    expect(await rejection(t.caller(token).tasks.list({ cursor, order: 'asc' }))).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("reaches only the caller's rows whatever the cursor says", async () => {
    const stranger = await signUp(t, 'cursor_stranger');
    const page = await t.caller(stranger.accessToken).tasks.list({ cursor });
    expect(page.items).toEqual([]);
  });
});

describe('admin list', () => {
  let adminToken: string;
  let alice: { id: number; token: string };
  let bob: { id: number; token: string };

  beforeAll(async () => {
    const [a, b, admin] = await Promise.all([signUp(t, 'Alice_Admin_View'), signUp(t, 'bob_admin_view'), signUpAdmin(t, 'lister_admin')]);
    alice = { id: a.user.id, token: a.accessToken };
    bob = { id: b.user.id, token: b.accessToken };
    adminToken = admin.accessToken;
    await seedTasks(db(), { ownerIds: [alice.id, bob.id], count: 24 });
    await t.caller(alice.token).tasks.create({ title: 'Alice special', priority: 'high', status: 'done' });
  });

  it("lists every owner's tasks with their usernames, paging across owners", async () => {
    const seen: { id: number; ownerId: number | null; ownerUsername: string | null }[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await t.caller(adminToken).admin.tasks.list({ limit: 7, sort: 'priority', ...(cursor ? { cursor } : {}) });
      seen.push(...page.items);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const total = await db()
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(seen).toHaveLength(total.n);
    expect(new Set(seen.map((item) => item.id)).size).toBe(total.n);
    expect(seen.find((item) => item.ownerId === alice.id)?.ownerUsername).toBe('Alice_Admin_View');
    expect(seen.find((item) => item.ownerId === bob.id)?.ownerUsername).toBe('bob_admin_view');
  });

  it('narrows to one owner by id, or by part of a username in any case, as the users list searches', async () => {
    const byId = await t.caller(adminToken).admin.tasks.list({ ownerId: alice.id, limit: 100 });
    expect(byId.items).toHaveLength(13);
    expect(byId.items.every((item) => item.ownerId === alice.id)).toBe(true);
    const response = await rest(t.app, 'GET', '/api/admin/tasks?owner=alice_admin_VIEW&limit=100', { token: adminToken });
    expect(response.statusCode).toBe(200);
    expect(json<Page>(response).items.map((item) => item.id)).toEqual(byId.items.map((item) => item.id));
    const part = await t.caller(adminToken).admin.tasks.list({ owner: 'ICE_admin', limit: 100 });
    expect(part.items.map((item) => item.id)).toEqual(byId.items.map((item) => item.id));
    const both = await t.caller(adminToken).admin.tasks.list({ owner: '_admin_view', limit: 100 });
    expect(new Set(both.items.map((item) => item.ownerId))).toEqual(new Set([alice.id, bob.id]));
    // The text is matched as it is: LIKE's wildcards in it match only themselves.
    expect((await t.caller(adminToken).admin.tasks.list({ owner: '%' })).items).toEqual([]);
    expect((await t.caller(adminToken).admin.tasks.list({ owner: 'alice_admin_vie_' })).items).toEqual([]);
    expect((await t.caller(adminToken).admin.tasks.list({ owner: 'nobody_at_all' })).items).toEqual([]);
    expect((await t.caller(adminToken).admin.tasks.list({ owner: 'bob_admin_view', ownerId: alice.id })).items).toEqual([]);
    expect(await rejection(t.caller(adminToken).admin.tasks.list({ owner: 'nobody_at_all', cursor: 'bogus' }))).toMatchObject({
      code: 'BAD_REQUEST',
      fieldErrors: { cursor: expect.any(Array) },
    });
  });

  it('applies the same filters', async () => {
    const response = await rest(t.app, 'GET', `/api/admin/tasks?ownerId=${alice.id}&status=done&priority=high&search=SPECIAL`, { token: adminToken });
    expect(response.statusCode).toBe(200);
    expect(json<Page>(response).items.map((item) => item.title)).toEqual(['Alice special']);
  });

  it('refuses malformed owner filters with 400', async () => {
    for (const query of ['ownerId=abc', 'ownerId=-1', 'ownerId=99999999999', `owner=${'x'.repeat(65)}`]) {
      const response = await rest(t.app, 'GET', `/api/admin/tasks?${query}`, { token: adminToken });
      expect(response.statusCode, query).toBe(400);
    }
  });
});

describe('the OpenAPI document', () => {
  it('documents every task operation, with 201 for creation', async () => {
    const document = json(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /tasks',
        'GET /tasks',
        'GET /tasks/stats',
        'GET /tasks/{id}',
        'PATCH /tasks/{id}',
        'DELETE /tasks/{id}',
        'POST /tasks/bulk-update',
        'POST /tasks/bulk-delete',
        'GET /admin/tasks',
      ]),
    );
    expect(Object.keys(document.paths['/tasks'].post.responses)).toContain('201');
    expect(Object.keys(document.paths['/tasks'].post.responses)).not.toContain('200');
    const listParameters = document.paths['/tasks'].get.parameters.map((p: { name: string }) => p.name);
    expect(listParameters).toEqual(
      expect.arrayContaining(['status', 'priority', 'search', 'dueBefore', 'dueAfter', 'overdue', 'sort', 'order', 'limit', 'cursor']),
    );
    const adminParameters = document.paths['/admin/tasks'].get.parameters.map((p: { name: string }) => p.name);
    expect(adminParameters).toEqual(expect.arrayContaining(['ownerId', 'owner', 'cursor']));
  });
});

describe('the search budget', () => {
  it.skipIf(process.env.STM_TEST_DB !== 'postgres')(
    'stops a search that runs over DB_SEARCH_TIMEOUT_MS with 503 SEARCH_TIMEOUT, over tRPC and REST, and leaves other lists alone (PostgreSQL)',
    async () => {
      const budgeted = await createTestApp({ DB_SEARCH_TIMEOUT_MS: '300' });
      const blocker = new pg.Client({ connectionString: budgeted.database.url });
      await blocker.connect();
      try {
        const { accessToken } = await signUp(budgeted, 'searcher');
        await budgeted.caller(accessToken).tasks.create({ title: 'Find me' });
        // A search made slow from outside: it waits for a lock, which its statement budget counts.
        await blocker.query('begin');
        await blocker.query('lock table task_comments in access exclusive mode');
        const started = Date.now();
        expect(await rejection(budgeted.caller(accessToken).tasks.list({ search: 'find' }))).toMatchObject({
          code: 'SERVICE_UNAVAILABLE',
          reason: 'SEARCH_TIMEOUT',
        });
        const viaRest = await rest(budgeted.app, 'GET', '/api/tasks?search=find', { token: accessToken });
        expect([viaRest.statusCode, json(viaRest).data.reason, viaRest.headers['retry-after']]).toEqual([503, 'SEARCH_TIMEOUT', '1']);
        // Well within the pool's own statement timeout (5 s).
        expect(Date.now() - started).toBeLessThan(4_000);
        expect((await budgeted.caller(accessToken).tasks.list({})).items.map((task) => task.title)).toEqual(['Find me']);
        await blocker.query('rollback');
        expect((await budgeted.caller(accessToken).tasks.list({ search: 'find' })).items).toHaveLength(1);
      } finally {
        await blocker.end();
        await budgeted.close();
      }
    },
  );
});
