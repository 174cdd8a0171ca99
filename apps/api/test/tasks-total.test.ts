import { seedTasks } from '@stm/db/seed';
import type { ListTasksInput } from '@stm/validators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rest, signUp, signUpAdmin, type TestApp } from './helpers';

let t: TestApp;
const db = () => t.app.services.database.db;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** How many tasks a list holds, found by walking every page (bounded). */
async function walk(token: string, input: ListTasksInput): Promise<{ count: number; laterTotals: unknown[] }> {
  let count = 0;
  const laterTotals: unknown[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 500; i++) {
    const page = await t.caller(token).tasks.list({ ...input, ...(cursor ? { cursor } : {}) });
    count += page.items.length;
    if (cursor) laterTotals.push(page.total);
    if (!page.nextCursor) return { count, laterTotals };
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('the total of a list', () => {
  let token: string;
  let userId: number;
  let other: string;

  beforeAll(async () => {
    const user = await signUp(t, 'total_counter');
    token = user.accessToken;
    userId = user.user.id;
    other = (await signUp(t, 'total_other')).accessToken;
    await seedTasks(db(), { ownerIds: [userId], count: 45, now: new Date('2026-06-01T00:00:00Z') });
    const assigned = await t.caller(token).tasks.create({ title: 'Mine to do' });
    await t.caller(token).tasks.update({ id: assigned.id, assigneeId: userId });
    const commented = await t.caller(token).tasks.create({ title: 'Plain title' });
    await t.caller(token).comments.create({ taskId: commented.id, body: 'mentions the zebra' });
    await t.caller(token).tasks.create({ title: 'A zebra crossing' });
    await t.caller(other).tasks.create({ title: 'Someone else’s zebra' });
  });

  it('counts every task the filters match, on the first page only, whatever the page size', async () => {
    for (const input of [
      { limit: 10 },
      { limit: 7, status: 'done' as const },
      { limit: 5, priority: ['high', 'low'] as ('high' | 'low')[] },
      { limit: 3, search: 'ZEBRA' },
    ]) {
      const first = await t.caller(token).tasks.list(input);
      const { count, laterTotals } = await walk(token, input);
      expect(first.total, JSON.stringify(input)).toEqual({ count, capped: false });
      expect(laterTotals.every((total) => total === null)).toBe(true);
    }
    // The search counts a match in a comment as the page does, and never another user's task.
    expect((await t.caller(token).tasks.list({ search: 'zebra', limit: 1 })).total).toEqual({ count: 2, capped: false });
    expect((await t.caller(token).tasks.list({ limit: 100 })).total).toEqual({ count: 48, capped: false });
  });

  it('counts across the reader’s projects, one project, and the reader’s own work', async () => {
    expect((await t.caller(token).tasks.list({ assignee: 'me', limit: 1 })).total).toEqual({ count: 1, capped: false });
    const inbox = (await t.caller(token).tasks.list({ limit: 1 })).items[0]!.projectId;
    expect((await t.caller(token).tasks.list({ projectId: inbox, limit: 2 })).total).toEqual({ count: 48, capped: false });
    expect((await t.caller(other).tasks.list({ limit: 1 })).total).toEqual({ count: 1, capped: false });
    expect((await t.caller(other).tasks.list({ search: 'nothing like it' })).total).toEqual({ count: 0, capped: false });
  });

  it('is in the REST answer and documented in the OpenAPI document', async () => {
    const response = await rest(t.app, 'GET', '/api/tasks?limit=2&status=todo&status=in_progress', { token });
    expect(response.statusCode).toBe(200);
    const { count } = await walk(token, { limit: 50, status: ['todo', 'in_progress'] });
    expect(json<{ total: unknown }>(response).total).toEqual({ count, capped: false });
    const document = json(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    for (const path of ['/tasks', '/admin/tasks']) {
      const schema = document.paths[path].get.responses['200'].content['application/json'].schema;
      expect(schema.required, path).toContain('total');
      expect(Object.keys(schema.properties.total.anyOf?.[0]?.properties ?? schema.properties.total.properties ?? {}), path).toEqual(['count', 'capped']);
    }
  });

  it('stops counting at 10,000 and says there are more, for the reader and for an administrator', async () => {
    const big = await signUp(t, 'total_big');
    await seedTasks(db(), { ownerIds: [big.user.id], count: 10_003, now: new Date('2026-06-01T00:00:00Z') });
    expect((await t.caller(big.accessToken).tasks.list({ limit: 5 })).total).toEqual({ count: 10_000, capped: true });
    // Narrowed below the bound, the count is exact again.
    const done = await db()
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('created_by', '=', big.user.id)
      .where('status', '=', 'done')
      .executeTakeFirstOrThrow();
    expect(done.n).toBeLessThan(10_000);
    expect((await t.caller(big.accessToken).tasks.list({ limit: 5, status: 'done' })).total).toEqual({ count: done.n, capped: false });

    const admin = await signUpAdmin(t, 'total_admin');
    expect((await t.caller(admin.accessToken).admin.tasks.list({ limit: 5 })).total).toEqual({ count: 10_000, capped: true });
    expect((await t.caller(admin.accessToken).admin.tasks.list({ limit: 5, ownerId: userId })).total).toEqual({ count: 48, capped: false });
  });
});
