import { sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from './helpers';

const HOUR = 60 * 60_000;

/**
 * The time-based notifications: due within 24 hours and overdue, made by a scheduler that every
 * instance runs and that must act once across them all, and catch up after downtime.
 */
describe('the notifications scheduler', () => {
  let first: TestApp;
  let instances: TestApp[];

  beforeAll(async () => {
    first = await createTestApp();
    // Two more instances of the API on the same database, as behind a load balancer.
    instances = [first, await createTestApp({}, { database: first.database }), await createTestApp({}, { database: first.database })];
  });
  afterAll(async () => {
    for (const instance of (instances ?? []).slice(1).reverse()) await instance.close();
    await first?.close();
  });

  async function dueNotifications(kind: 'due_soon' | 'overdue') {
    const { rows } = await sql<{ user_id: number; task_id: number; n: number }>`
      select user_id, task_id, count(*)::int as n from notifications where kind = ${kind} group by user_id, task_id order by user_id, task_id`.execute(
      first.database.db,
    );
    return rows;
  }

  it('three instances, one due-soon notification each, never two', async () => {
    const people = [await signUp(first, 'sched_a'), await signUp(first, 'sched_b'), await signUp(first, 'sched_c')];
    const now = new Date();
    const tasks: { id: number; dueAt: string | null }[] = [];
    for (const [i, who] of people.entries()) {
      tasks.push(await first.caller(who.accessToken).tasks.create({ title: `Due soon ${i}`, dueAt: new Date(now.getTime() + (i + 2) * HOUR).toISOString() }));
    }
    // Not due soon: due in two days, and one done.
    await first.caller(people[0]!.accessToken).tasks.create({ title: 'Later', dueAt: new Date(now.getTime() + 48 * HOUR).toISOString() });
    await first.caller(people[0]!.accessToken).tasks.create({ title: 'Done', status: 'done', dueAt: new Date(now.getTime() + HOUR).toISOString() });

    // Every instance runs its tick at the same moment, several times over.
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(instances.map((instance) => instance.app.services.notificationScheduler.tick(now)));
      // At most one holds the lock at a time; the others skip their turn.
      expect(results.filter((result) => result !== null).length).toBeGreaterThanOrEqual(1);
    }
    expect(await dueNotifications('due_soon')).toEqual(people.map((who, i) => ({ user_id: who.user.id, task_id: tasks[i]!.id, n: 1 })));
    for (const [i, who] of people.entries()) {
      const listed = (await first.caller(who.accessToken).notifications.list({})).items;
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ kind: 'due_soon', actor: null, task: { id: tasks[i]!.id, dueAt: tasks[i]!.dueAt } });
    }
  });

  it('catches up after downtime: overdue tasks are announced by the first run after it, once', async () => {
    const who = await signUp(first, 'sched_late');
    const calls = first.caller(who.accessToken);
    const base = new Date();
    const soon = await calls.tasks.create({ title: 'Falls due while down', dueAt: new Date(base.getTime() + 3 * HOUR).toISOString() });
    const later = await calls.tasks.create({ title: 'Due the day after', dueAt: new Date(base.getTime() + 30 * HOUR).toISOString() });

    await instances[0]!.app.services.notificationScheduler.tick(base);
    // Down for ten hours: no tick ran while `soon` fell due and `later` came within 24 hours.
    const back = new Date(base.getTime() + 10 * HOUR);
    await Promise.all(instances.map((instance) => instance.app.services.notificationScheduler.tick(back)));
    await instances[2]!.app.services.notificationScheduler.tick(new Date(back.getTime() + 60_000));

    const kinds = (await calls.notifications.list({})).items.map((n) => `${n.kind}:${n.task.id}`).sort();
    expect(kinds).toEqual([`due_soon:${later.id}`, `due_soon:${soon.id}`, `overdue:${soon.id}`].sort());
  });

  it('tells again when the due time changes, and only people who can see the task', async () => {
    const owner = await signUp(first, 'sched_owner');
    const helper = await signUp(first, 'sched_helper');
    const calls = first.caller(owner.accessToken);
    const project = await calls.projects.create({ name: 'Scheduled' });
    await calls.members.add({ projectId: project.id, username: 'sched_helper', role: 'editor' });
    const now = new Date();
    const task = await calls.tasks.create({
      projectId: project.id,
      title: 'Shared and due',
      assigneeId: helper.user.id,
      dueAt: new Date(now.getTime() + HOUR).toISOString(),
    });
    await calls.notifications.markAllRead();
    await first.caller(helper.accessToken).notifications.markAllRead();

    await calls.members.remove({ projectId: project.id, userId: helper.user.id });
    await first.app.services.notificationScheduler.tick(now);
    expect((await calls.notifications.list({ unread: true })).items.map((n) => n.kind)).toEqual(['due_soon']);
    expect((await first.caller(helper.accessToken).notifications.list({ unread: true })).items).toEqual([]);

    await calls.tasks.update({ id: task.id, dueAt: new Date(now.getTime() + 5 * HOUR).toISOString() });
    await first.app.services.notificationScheduler.tick(now);
    await first.app.services.notificationScheduler.tick(now);
    expect((await calls.notifications.list({ unread: true })).items.map((n) => n.kind)).toEqual(['due_soon', 'due_soon']);
  });

  it('is started by the server and stopped when it closes', async () => {
    const running = await createTestApp({ NOTIFICATIONS_INTERVAL_MS: '50' }, { database: first.database });
    const who = await signUp(running, 'sched_timer');
    const task = await running.caller(who.accessToken).tasks.create({ title: 'Found by the timer', dueAt: new Date(Date.now() + HOUR).toISOString() });
    await expect
      .poll(async () => (await running.caller(who.accessToken).notifications.list({})).items.map((n) => n.task.id), { timeout: 10_000 })
      .toEqual([task.id]);
    await running.close();
    // Closed: a task due now is no longer picked up by that instance.
    const other = await first.caller(who.accessToken).tasks.create({ title: 'After close', dueAt: new Date(Date.now() + HOUR).toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await first.caller(who.accessToken).notifications.list({})).items.map((n) => n.task.id)).not.toContain(other.id);
  });
});
