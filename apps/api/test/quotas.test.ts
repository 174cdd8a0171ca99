import { TRPCError } from '@trpc/server';
import { sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rest, signUp, signUpAdmin, type TestApp } from './helpers';

/** Per-user quotas on tasks, projects and comments: live settings, counted exactly, under races too. */
let t: TestApp;
let admin: { id: number; token: string };

beforeAll(async () => {
  t = await createTestApp();
  const signed = await signUpAdmin(t, 'quota_admin');
  admin = { id: signed.user.id, token: signed.accessToken };
});
afterAll(() => t.close());

let counter = 0;
async function person() {
  const signed = await signUp(t, `quota_${++counter}`);
  return { id: signed.user.id, username: signed.user.username, token: signed.accessToken, calls: t.caller(signed.accessToken) };
}

async function setQuotas(changes: { quotaTasksPerUser?: number; quotaProjectsPerUser?: number; quotaCommentsPerUser?: number }) {
  await t.caller(admin.token).settings.update(changes);
}

/** The refusal's code, reason and details, as a tRPC client sees them. */
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to be refused');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const { code, cause } = error as TRPCError & { cause: { reason?: string; details?: unknown } };
  return { code, reason: cause?.reason, details: cause?.details };
}

async function countTasksBy(userId: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from tasks where created_by = ${userId}`.execute(t.database.db);
  return rows[0]?.n ?? -1;
}

describe('the task quota', () => {
  it('refuses the task past the limit over tRPC and REST with the reason and limit, and frees a place when one is deleted', async () => {
    await setQuotas({ quotaTasksPerUser: 3 });
    const ana = await person();
    const made = [];
    for (const title of ['one', 'two', 'three']) made.push(await ana.calls.tasks.create({ title }));

    expect(await refusal(ana.calls.tasks.create({ title: 'four' }))).toEqual({
      code: 'FORBIDDEN',
      reason: 'QUOTA_EXCEEDED',
      details: { quota: 'tasks', limit: 3 },
    });
    const overRest = await rest(t.app, 'POST', '/api/tasks', { token: ana.token, body: { title: 'four' } });
    expect(overRest.statusCode).toBe(403);
    expect(JSON.stringify(json(overRest))).toContain('QUOTA_EXCEEDED');
    // Refused means nothing was kept: no task, no history.
    expect(await countTasksBy(ana.id)).toBe(3);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from task_events where actor_id = ${ana.id} and kind = 'created'`.execute(
      t.database.db,
    );
    expect(rows[0]?.n).toBe(3);

    await ana.calls.tasks.delete({ id: made[0]!.id });
    const again = await rest(t.app, 'POST', '/api/tasks', { token: ana.token, body: { title: 'four' } });
    expect(again.statusCode).toBe(201);
    expect(await refusal(ana.calls.tasks.create({ title: 'five' }))).toMatchObject({ reason: 'QUOTA_EXCEEDED' });
  });

  it('counts tasks made in shared projects, and gives places back when a project is deleted with its tasks', async () => {
    await setQuotas({ quotaTasksPerUser: 2 });
    const owner = await person();
    const ben = await person();
    const project = await owner.calls.projects.create({ name: 'Shared' });
    await owner.calls.members.add({ projectId: project.id, username: ben.username });
    await ben.calls.tasks.create({ title: 'in the project', projectId: project.id });
    await ben.calls.tasks.create({ title: 'in the inbox' });
    expect(await refusal(ben.calls.tasks.create({ title: 'third' }))).toMatchObject({ reason: 'QUOTA_EXCEEDED' });
    // The owner's own quota is untouched by what Ben made in the owner's project.
    await owner.calls.tasks.create({ title: 'owner', projectId: project.id });

    await owner.calls.projects.delete({ id: project.id });
    await ben.calls.tasks.create({ title: 'room again' });
  });

  it('holds under a race: of parallel creations by one user, exactly as many as the limit leaves succeed', async () => {
    await setQuotas({ quotaTasksPerUser: 5 });
    const cleo = await person();
    await cleo.calls.tasks.create({ title: 'already here' });
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => t.caller(cleo.token).tasks.create({ title: `race ${i}` })));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(4);
    for (const outcome of refused) expect(outcome.reason).toMatchObject({ code: 'FORBIDDEN', cause: { reason: 'QUOTA_EXCEEDED' } });
    expect(await countTasksBy(cleo.id)).toBe(5);
  });

  it('follows the live setting at once, lowering it removes nothing, and administrators are not limited', async () => {
    await setQuotas({ quotaTasksPerUser: 4 });
    const dan = await person();
    for (let i = 0; i < 4; i++) await dan.calls.tasks.create({ title: `t${i}` });
    await setQuotas({ quotaTasksPerUser: 2 });
    expect(await refusal(dan.calls.tasks.create({ title: 'over' }))).toMatchObject({ details: { quota: 'tasks', limit: 2 } });
    expect(await countTasksBy(dan.id)).toBe(4);
    await setQuotas({ quotaTasksPerUser: 5 });
    await dan.calls.tasks.create({ title: 'raised' });

    await setQuotas({ quotaTasksPerUser: 1 });
    const boss = t.caller(admin.token);
    await boss.tasks.create({ title: 'a1' });
    await boss.tasks.create({ title: 'a2' });
  });

  it('is reported to its user beside what they have made', async () => {
    await setQuotas({ quotaTasksPerUser: 10, quotaProjectsPerUser: 7, quotaCommentsPerUser: 9 });
    const eve = await person();
    const task = await eve.calls.tasks.create({ title: 'mine' });
    await eve.calls.comments.create({ taskId: task.id, body: 'a note' });
    expect(await eve.calls.auth.usage()).toEqual({
      tasks: { used: 1, limit: 10 },
      projects: { used: 0, limit: 7 },
      comments: { used: 1, limit: 9 },
    });
    const overRest = await rest(t.app, 'GET', '/api/auth/usage', { token: eve.token });
    expect(overRest.statusCode).toBe(200);
    expect(json(overRest)).toMatchObject({ tasks: { used: 1, limit: 10 } });
    expect(await t.caller(admin.token).auth.usage()).toMatchObject({ tasks: { limit: null } });
  });
});

describe('the project quota', () => {
  it('counts shared projects the user made (not the inbox), over tRPC and REST', async () => {
    await setQuotas({ quotaProjectsPerUser: 2 });
    const fay = await person();
    const first = await fay.calls.projects.create({ name: 'P1' });
    await fay.calls.projects.create({ name: 'P2' });
    expect(await refusal(fay.calls.projects.create({ name: 'P3' }))).toEqual({
      code: 'FORBIDDEN',
      reason: 'QUOTA_EXCEEDED',
      details: { quota: 'projects', limit: 2 },
    });
    const overRest = await rest(t.app, 'POST', '/api/projects', { token: fay.token, body: { name: 'P3' } });
    expect(overRest.statusCode).toBe(403);
    expect((await fay.calls.projects.list({})).items.map((project) => project.name)).toEqual(['Inbox', 'P1', 'P2']);
    await fay.calls.projects.delete({ id: first.id });
    await fay.calls.projects.create({ name: 'P3' });
  });

  it('holds under a race', async () => {
    await setQuotas({ quotaProjectsPerUser: 3 });
    const gus = await person();
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => t.caller(gus.token).projects.create({ name: `race ${i}` })));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    expect((await gus.calls.projects.list({})).items).toHaveLength(4);
  });
});

describe('the comment quota', () => {
  it('counts the comments the user wrote that still exist, over tRPC and REST', async () => {
    await setQuotas({ quotaCommentsPerUser: 2, quotaTasksPerUser: 50_000 });
    const hal = await person();
    const task = await hal.calls.tasks.create({ title: 'talked about' });
    const first = await hal.calls.comments.create({ taskId: task.id, body: 'one' });
    await hal.calls.comments.create({ taskId: task.id, body: 'two' });
    expect(await refusal(hal.calls.comments.create({ taskId: task.id, body: 'three' }))).toEqual({
      code: 'FORBIDDEN',
      reason: 'QUOTA_EXCEEDED',
      details: { quota: 'comments', limit: 2 },
    });
    const overRest = await rest(t.app, 'POST', `/api/tasks/${task.id}/comments`, { token: hal.token, body: { body: 'three' } });
    expect(overRest.statusCode).toBe(403);
    await hal.calls.comments.delete({ id: first.id });
    await hal.calls.comments.create({ taskId: task.id, body: 'three' });
    // Deleting the task takes its comments with it, and gives their places back.
    await hal.calls.tasks.delete({ id: task.id });
    const other = await hal.calls.tasks.create({ title: 'next' });
    await hal.calls.comments.create({ taskId: other.id, body: 'a' });
    await hal.calls.comments.create({ taskId: other.id, body: 'b' });
  });
});

describe('the settings', () => {
  it('are bounded: a quota below 1 or absurdly high is refused with the field named', async () => {
    const boss = t.caller(admin.token);
    await expect(boss.settings.update({ quotaTasksPerUser: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(boss.settings.update({ quotaProjectsPerUser: 1_000_000_000 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const overRest = await rest(t.app, 'PATCH', '/api/settings', { token: admin.token, body: { quotaCommentsPerUser: -5 } });
    expect(overRest.statusCode).toBe(400);
    expect(JSON.stringify(json(overRest))).toContain('quotaCommentsPerUser');
  });
});
