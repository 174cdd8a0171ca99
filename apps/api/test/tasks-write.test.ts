import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rejection, rest, signUp, signUpAdmin, type TestApp } from './helpers';

let t: TestApp;
let token: string;
let userId: number;
let otherToken: string;

beforeAll(async () => {
  t = await createTestApp();
  const [user, other] = await Promise.all([signUp(t, 'writer'), signUp(t, 'bystander')]);
  token = user.accessToken;
  userId = user.user.id;
  otherToken = other.accessToken;
});
afterAll(() => t.close());

const tasks = () => t.caller(token).tasks;
const db = () => t.app.services.database.db;

async function row(id: number) {
  return db().selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
}

describe('create', () => {
  it("fills the defaults, trims the title and goes into the caller's inbox, at the top of its column", async () => {
    const task = await tasks().create({ title: '  Buy milk \n' });
    const [inbox] = (await t.caller(token).projects.list({})).items;
    expect(inbox).toMatchObject({ isInbox: true, role: 'owner', name: 'Inbox' });
    expect(task).toEqual({
      id: expect.any(Number),
      projectId: inbox!.id,
      createdBy: userId,
      ownerId: userId,
      assignee: null,
      labels: [],
      position: expect.stringMatching(/^-?\d+(\.\d+)?$/),
      title: 'Buy milk',
      description: '',
      status: 'todo',
      priority: 'medium',
      dueAt: null,
      completedAt: null,
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      updatedAt: expect.any(String),
      version: 1,
    });
    expect(task.updatedAt).toBe(task.createdAt);
    const next = await tasks().create({ title: 'Then bread' });
    expect(Number(next.position)).toBeLessThan(Number(task.position));
  });

  it('answers 201 over REST with every field, and normalizes the due date to UTC', async () => {
    const response = await rest(t.app, 'POST', '/api/tasks', {
      token,
      body: { title: 'Report', description: 'Quarterly', status: 'in_progress', priority: 'high', dueAt: '2030-05-01T12:00:00+02:00' },
    });
    expect(response.statusCode).toBe(201);
    expect(json(response)).toMatchObject({
      title: 'Report',
      description: 'Quarterly',
      status: 'in_progress',
      priority: 'high',
      dueAt: '2030-05-01T10:00:00.000Z',
      completedAt: null,
    });
  });

  it('marks a task created as done completed', async () => {
    const task = await tasks().create({ title: 'Already done', status: 'done' });
    expect(task.completedAt).not.toBeNull();
  });
});

describe('update', () => {
  it('changes only the fields sent, bumps the version and moves updatedAt', async () => {
    const task = await tasks().create({ title: 'Original', description: 'Keep me', priority: 'low', dueAt: '2031-01-01T00:00:00Z' });
    const longAgo = new Date('2020-01-01T00:00:00Z');
    await db().updateTable('tasks').set({ updated_at: longAgo }).where('id', '=', task.id).execute();
    const updated = await tasks().update({ id: task.id, title: 'Renamed' });
    expect(updated).toMatchObject({ title: 'Renamed', description: 'Keep me', priority: 'low', dueAt: '2031-01-01T00:00:00.000Z', version: 2 });
    expect(Date.now() - Date.parse(updated.updatedAt)).toBeLessThan(60_000);
    expect(updated.createdAt).toBe(task.createdAt);
    const again = await tasks().update({ id: task.id, dueAt: null });
    expect(again).toMatchObject({ title: 'Renamed', dueAt: null, version: 3 });
  });

  it('sets completedAt when a task becomes done, keeps it while done, clears it when reopened', async () => {
    const task = await tasks().create({ title: 'Lifecycle' });
    const done = await tasks().update({ id: task.id, status: 'done' });
    expect(done.completedAt).not.toBeNull();
    const stillDone = await tasks().update({ id: task.id, status: 'done', title: 'Lifecycle, renamed' });
    expect(stillDone.completedAt).toBe(done.completedAt);
    const other = await tasks().update({ id: task.id, priority: 'high' });
    expect(other.completedAt).toBe(done.completedAt);
    const reopened = await tasks().update({ id: task.id, status: 'in_progress' });
    expect(reopened.completedAt).toBeNull();
    expect(reopened.version).toBe(5);
  });

  it('answers the task over REST PATCH', async () => {
    const task = await tasks().create({ title: 'Via REST' });
    const response = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { status: 'done', expectedVersion: 1 } });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toMatchObject({ id: task.id, status: 'done', version: 2, completedAt: expect.any(String) });
  });

  it('answers 404 for a task that does not exist, with or without expectedVersion', async () => {
    expect(await rejection(tasks().update({ id: 2_000_000_000, title: 'x' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await rejection(tasks().update({ id: 2_000_000_000, title: 'x', expectedVersion: 1 }))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('versions', () => {
  it('refuses a stale expectedVersion with 409 and the current version, writing nothing', async () => {
    const task = await tasks().create({ title: 'Versioned' });
    await tasks().update({ id: task.id, title: 'Second', expectedVersion: 1 });
    const before = await row(task.id);
    const response = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { title: 'Stale write', expectedVersion: 1 } });
    expect(response.statusCode).toBe(409);
    expect(json(response)).toMatchObject({ code: 'CONFLICT', data: { reason: 'VERSION_CONFLICT', details: { currentVersion: 2 } } });
    expect(await row(task.id)).toEqual(before);
    expect(await rejection(tasks().update({ id: task.id, title: 'Too new', expectedVersion: 3 }))).toMatchObject({
      code: 'CONFLICT',
      reason: 'VERSION_CONFLICT',
    });
  });

  it("answers 404, not 409, for someone else's task even with a stale version", async () => {
    const task = await tasks().create({ title: 'Mine' });
    expect(await rejection(t.caller(otherToken).tasks.update({ id: task.id, title: 'x', expectedVersion: 7 }))).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('lets exactly one of 12 concurrent updates with the same expectedVersion succeed', async () => {
    const task = await tasks().create({ title: 'Contended' });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { title: `Writer ${i}`, expectedVersion: 1 } })),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(11);
    const winner = json(responses.find((response) => response.statusCode === 200)!);
    for (const response of responses.filter((r) => r.statusCode === 409)) {
      expect(json(response).data.details).toEqual({ currentVersion: 2 });
    }
    expect(await row(task.id)).toMatchObject({ title: winner.title, version: 2 });
  });

  it('applies every one of 12 concurrent updates without expectedVersion: none is lost', async () => {
    const task = await tasks().create({ title: 'Busy' });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { description: `Edit ${i}` } })),
    );
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    const versions = responses.map((response) => json(response).version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    expect((await row(task.id))!.version).toBe(13);
  });
});

describe('delete', () => {
  it('deletes once; the second time is 404', async () => {
    const task = await tasks().create({ title: 'Doomed' });
    const first = await rest(t.app, 'DELETE', `/api/tasks/${task.id}`, { token });
    expect(first.statusCode).toBe(200);
    expect(json(first)).toEqual({ ok: true });
    const second = await rest(t.app, 'DELETE', `/api/tasks/${task.id}`, { token });
    expect(second.statusCode).toBe(404);
    expect(await row(task.id)).toBeUndefined();
  });

  it("deletes a user's tasks with the user", async () => {
    const leaver = await signUp(t, 'leaver');
    const task = await t.caller(leaver.accessToken).tasks.create({ title: 'Orphan?' });
    await db().deleteFrom('users').where('id', '=', leaver.user.id).execute();
    expect(await row(task.id)).toBeUndefined();
  });
});

describe('bulk operations', () => {
  async function three(prefix: string) {
    return Promise.all([1, 2, 3].map((n) => tasks().create({ title: `${prefix} ${n}`, priority: 'low' })));
  }

  it('updates every task in one go, completing and versioning each', async () => {
    const created = await three('Bulk');
    const ids = created.map((task) => task.id);
    const response = await rest(t.app, 'POST', '/api/tasks/bulk-update', { token, body: { ids, changes: { status: 'done', priority: 'high' } } });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ updated: 3 });
    for (const id of ids) expect(await row(id)).toMatchObject({ status: 'done', priority: 'high', version: 2, completed_at: expect.any(Date) });
    await tasks().bulkUpdate({ ids, changes: { status: 'todo', dueAt: '2032-02-02T00:00:00Z' } });
    for (const id of ids) expect(await row(id)).toMatchObject({ status: 'todo', completed_at: null, due_at: new Date('2032-02-02T00:00:00Z'), version: 3 });
  });

  it("changes nothing when one id in the batch is someone else's", async () => {
    const mine = await three('Mine');
    const theirs = await t.caller(otherToken).tasks.create({ title: 'Theirs', priority: 'low' });
    const ids = [mine[0]!.id, theirs.id, mine[1]!.id, mine[2]!.id];
    const response = await rest(t.app, 'POST', '/api/tasks/bulk-update', { token, body: { ids, changes: { priority: 'high' } } });
    expect(response.statusCode).toBe(404);
    expect(json(response).data.details).toEqual({ missingIds: [theirs.id] });
    for (const id of ids) expect(await row(id)).toMatchObject({ priority: 'low', version: 1 });

    const deletion = await rest(t.app, 'POST', '/api/tasks/bulk-delete', { token, body: { ids } });
    expect(deletion.statusCode).toBe(404);
    for (const id of ids) expect(await row(id)).toBeDefined();
  });

  it('changes nothing when one id does not exist', async () => {
    const mine = await three('Gap');
    const ids = [...mine.map((task) => task.id), 2_100_000_000];
    expect(await rejection(tasks().bulkUpdate({ ids, changes: { status: 'done' } }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await rejection(tasks().bulkDelete({ ids }))).toMatchObject({ code: 'NOT_FOUND' });
    for (const task of mine) expect(await row(task.id)).toMatchObject({ status: 'todo', version: 1 });
  });

  it('deletes every task in one go', async () => {
    const mine = await three('Gone');
    const response = await rest(t.app, 'POST', '/api/tasks/bulk-delete', { token, body: { ids: mine.map((task) => task.id) } });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ deleted: 3 });
    for (const task of mine) expect(await row(task.id)).toBeUndefined();
  });

  it("lets an administrator update and delete several users' tasks together", async () => {
    const admin = await signUpAdmin(t, 'bulk_admin');
    const mine = await tasks().create({ title: 'User task' });
    const theirs = await t.caller(otherToken).tasks.create({ title: 'Other task' });
    const ids = [mine.id, theirs.id];
    expect(await t.caller(admin.accessToken).tasks.bulkUpdate({ ids, changes: { priority: 'high' } })).toEqual({ updated: 2 });
    expect(await t.caller(admin.accessToken).tasks.bulkDelete({ ids })).toEqual({ deleted: 2 });
  });

  it('takes 100 ids in one batch', async () => {
    const created = await Promise.all(Array.from({ length: 100 }, (_, i) => tasks().create({ title: `Many ${i}` })));
    expect(await tasks().bulkUpdate({ ids: created.map((task) => task.id), changes: { status: 'in_progress' } })).toEqual({ updated: 100 });
    expect(await tasks().bulkDelete({ ids: created.map((task) => task.id) })).toEqual({ deleted: 100 });
  });

  it('never deadlocks two concurrent bulk updates over the same tasks in opposite orders', async () => {
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => tasks().create({ title: `Overlap ${i}` })));
    const ids = created.map((task) => task.id);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        rest(t.app, 'POST', '/api/tasks/bulk-update', {
          token,
          body: { ids: i % 2 ? ids : [...ids].reverse(), changes: { priority: i % 2 ? 'high' : 'low' } },
        }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const id of ids) expect((await row(id))!.version).toBe(7);
  });
});

describe('stats', () => {
  it('counts by status, overdue, and completions per UTC day for 30 days', async () => {
    const { accessToken } = await signUp(t, 'stats_user');
    const mine = t.caller(accessToken).tasks;
    const empty = await mine.stats();
    expect(empty.byStatus).toEqual({ todo: 0, in_progress: 0, done: 0 });
    expect(empty.overdue).toBe(0);
    expect(empty.completedPerDay).toHaveLength(30);
    expect(empty.completedPerDay.every((day) => day.count === 0)).toBe(true);

    const past = '2020-01-01T00:00:00Z';
    await mine.create({ title: 'Late', dueAt: past });
    await mine.create({ title: 'Late but done', dueAt: past, status: 'done' });
    await mine.create({ title: 'Future', dueAt: '2099-01-01T00:00:00Z', status: 'in_progress' });
    await mine.create({ title: 'Undated' });
    const done = await mine.create({ title: 'Finished earlier' });
    await mine.update({ id: done.id, status: 'done' });
    // Completed 3 days ago and 40 days ago (outside the window), straight in the database.
    const stats0 = await mine.stats();
    const today = stats0.completedPerDay.at(-1)!.date;
    const threeDaysAgo = new Date(Date.parse(`${today}T12:00:00Z`) - 3 * 86_400_000);
    const old = await mine.create({ title: 'Old', status: 'done' });
    const older = await mine.create({ title: 'Older', status: 'done' });
    await db().updateTable('tasks').set({ completed_at: threeDaysAgo }).where('id', '=', old.id).execute();
    await db()
      .updateTable('tasks')
      .set({ completed_at: new Date(Date.now() - 40 * 86_400_000) })
      .where('id', '=', older.id)
      .execute();

    const response = await rest(t.app, 'GET', '/api/tasks/stats', { token: accessToken });
    expect(response.statusCode).toBe(200);
    const stats = json(response);
    expect(stats.byStatus).toEqual({ todo: 2, in_progress: 1, done: 4 });
    expect(stats.overdue).toBe(1);
    expect(stats.completedPerDay).toHaveLength(30);
    const dates = stats.completedPerDay.map((day: { date: string }) => day.date);
    expect(dates).toEqual([...dates].sort());
    expect(new Set(dates).size).toBe(30);
    expect(dates.at(-1)).toBe(today);
    expect(Date.parse(`${dates.at(-1)}T00:00:00Z`) - Date.parse(`${dates[0]}T00:00:00Z`)).toBe(29 * 86_400_000);
    const byDate = new Map(stats.completedPerDay.map((day: { date: string; count: number }) => [day.date, day.count]));
    expect(byDate.get(today)).toBe(2);
    expect(byDate.get(threeDaysAgo.toISOString().slice(0, 10))).toBe(1);
    expect(stats.completedPerDay.reduce((sum: number, day: { count: number }) => sum + day.count, 0)).toBe(3);
  });

  it("counts days in the reader's time zone: due today, the next seven days, completions per day; an unknown zone is a 400 on timeZone", async () => {
    const { accessToken, user } = await signUp(t, 'stats_zone');
    const mine = t.caller(accessToken).tasks;
    // UTC+14 all year: its day starts ten hours before UTC's, so the two disagree on most instants.
    const zone = 'Pacific/Kiritimati';
    const localDate = (instant: number) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
    const today = localDate(Date.now());
    const midnight = Date.parse(`${today}T00:00:00Z`) - 14 * 3_600_000;
    const minute = 60_000;
    const day = 86_400_000;
    const at = (instant: number) => new Date(instant).toISOString();
    await mine.create({ title: 'Today, first minute', dueAt: at(midnight + minute) });
    await mine.create({ title: 'Today, last minute', dueAt: at(midnight + day - minute), status: 'in_progress' });
    await mine.create({ title: 'Today but done', dueAt: at(midnight + minute), status: 'done' });
    await mine.create({ title: 'Yesterday, last minute', dueAt: at(midnight - minute) });
    await mine.create({ title: 'Tomorrow', dueAt: at(midnight + day + minute) });
    await mine.create({ title: 'In seven days', dueAt: at(midnight + 8 * day - minute) });
    await mine.create({ title: 'In eight days', dueAt: at(midnight + 8 * day + minute) });
    const completed = await mine.create({ title: 'Completed just after local midnight', status: 'done' });
    await db()
      .updateTable('tasks')
      .set({ completed_at: new Date(midnight + minute) })
      .where('id', '=', completed.id)
      .execute();

    const response = await rest(t.app, 'GET', `/api/tasks/stats?timeZone=${encodeURIComponent(zone)}`, { token: accessToken });
    expect(response.statusCode).toBe(200);
    const local = json(response);
    expect({ dueToday: local.dueToday, upcoming: local.upcoming }).toEqual({ dueToday: 2, upcoming: 2 });
    expect(local.completedPerDay.at(-1)).toEqual({ date: today, count: expect.any(Number) });
    // Each day's count is what the completion times say in that zone: the instant just after
    // local midnight is today there and yesterday in UTC.
    const completions = await db().selectFrom('tasks').select('completed_at').where('created_by', '=', user.id).where('completed_at', 'is not', null).execute();
    const expectedIn = (timeZone: string) => {
      const days = new Map<string, number>();
      for (const { completed_at } of completions) {
        const date = new Intl.DateTimeFormat('en-CA', { timeZone }).format(completed_at!);
        days.set(date, (days.get(date) ?? 0) + 1);
      }
      return days;
    };
    const utc = await mine.stats();
    const utcDate = new Date(midnight + minute).toISOString().slice(0, 10);
    expect(utcDate).not.toBe(today);
    expect(expectedIn(zone).get(today)).toBeGreaterThanOrEqual(1);
    expect(local.completedPerDay.map((entry: { date: string; count: number }) => [entry.date, entry.count])).toEqual(
      local.completedPerDay.map((entry: { date: string }) => [entry.date, expectedIn(zone).get(entry.date) ?? 0]),
    );
    expect(utc.completedPerDay.map((entry) => [entry.date, entry.count])).toEqual(
      utc.completedPerDay.map((entry) => [entry.date, expectedIn('UTC').get(entry.date) ?? 0]),
    );
    expect(utc.completedPerDay.at(-1)?.date).toBe(new Date().toISOString().slice(0, 10));

    for (const bad of ['Mars/Base', 'Europe/Madrid; drop table tasks', 'x'.repeat(65)]) {
      const refused = await rest(t.app, 'GET', `/api/tasks/stats?timeZone=${encodeURIComponent(bad)}`, { token: accessToken });
      expect(refused.statusCode, bad).toBe(400);
      expect(JSON.stringify(json(refused)), bad).toContain('timeZone');
    }
  });
});
