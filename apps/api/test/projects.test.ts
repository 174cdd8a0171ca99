import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rejection, rest, signUp, signUpAdmin, type TestApp } from './helpers';

/** Projects and their members: the inbox, adding and removing people, keeping an owner, deleting accounts. */
let t: TestApp;
let admin: { id: number; token: string };

beforeAll(async () => {
  t = await createTestApp();
  const signed = await signUpAdmin(t, 'proj_admin');
  admin = { id: signed.user.id, token: signed.accessToken };
});
afterAll(() => t.close());

let counter = 0;
async function person(prefix = 'member') {
  const signed = await signUp(t, `${prefix}_${++counter}`);
  return { id: signed.user.id, username: signed.user.username, token: signed.accessToken, calls: t.caller(signed.accessToken) };
}

describe('the inbox', () => {
  it('is made with every account, private to it, and cannot be shared, renamed, archived or deleted', async () => {
    const ana = await person('inbox');
    const { items } = await ana.calls.projects.list({});
    expect(items).toEqual([expect.objectContaining({ name: 'Inbox', isInbox: true, role: 'owner', memberCount: 1, archived: false })]);
    const inbox = items[0]!;
    const ben = await person('inbox');
    expect(await rejection(ana.calls.members.add({ projectId: inbox.id, username: ben.username }))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'PROJECT_IS_INBOX',
    });
    expect(await rejection(ana.calls.projects.update({ id: inbox.id, name: 'Mine' }))).toMatchObject({ reason: 'PROJECT_IS_INBOX' });
    expect(await rejection(ana.calls.projects.update({ id: inbox.id, archived: true }))).toMatchObject({ reason: 'PROJECT_IS_INBOX' });
    expect(await rejection(ana.calls.projects.delete({ id: inbox.id }))).toMatchObject({ reason: 'PROJECT_IS_INBOX' });
    expect(await rejection(ana.calls.members.leave({ projectId: inbox.id }))).toMatchObject({ reason: 'PROJECT_IS_INBOX' });
    // Someone else's inbox does not exist for them.
    expect(await rejection(ben.calls.projects.get({ id: inbox.id }))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('members', () => {
  it('are added by username in any letter case, once, and only if their account is active', async () => {
    const owner = await person();
    const ben = await person();
    const project = await owner.calls.projects.create({ name: 'Team', color: 'green', description: 'Shared' });
    expect(project).toMatchObject({ name: 'Team', color: 'green', role: 'owner', memberCount: 1, isInbox: false });
    const added = await owner.calls.members.add({ projectId: project.id, username: ben.username.toUpperCase() });
    expect(added).toMatchObject({ userId: ben.id, username: ben.username, role: 'editor', isActive: true });
    expect(await rejection(owner.calls.members.add({ projectId: project.id, username: ben.username }))).toMatchObject({
      code: 'CONFLICT',
      reason: 'ALREADY_MEMBER',
      fieldErrors: { username: [expect.any(String)] },
    });
    expect(await rejection(owner.calls.members.add({ projectId: project.id, username: 'nobody_here' }))).toMatchObject({
      code: 'NOT_FOUND',
      reason: 'NO_SUCH_USER',
      fieldErrors: { username: [expect.any(String)] },
    });
    const cleo = await person();
    await t.caller(admin.token).admin.users.update({ id: cleo.id, isActive: false });
    expect(await rejection(owner.calls.members.add({ projectId: project.id, username: cleo.username }))).toMatchObject({
      code: 'NOT_FOUND',
      reason: 'NO_SUCH_USER',
    });
    expect((await ben.calls.projects.list({})).items.map((item) => item.name)).toEqual(['Inbox', 'Team']);
    expect(await owner.calls.members.list({ projectId: project.id })).toEqual([
      expect.objectContaining({ userId: owner.id, role: 'owner' }),
      expect.objectContaining({ userId: ben.id, role: 'editor' }),
    ]);
  });

  it('keep an owner: the last one can neither step down, be removed nor leave', async () => {
    const owner = await person();
    const ben = await person();
    const project = await owner.calls.projects.create({ name: 'Kept' });
    await owner.calls.members.add({ projectId: project.id, username: ben.username, role: 'viewer' });
    for (const call of [
      () => owner.calls.members.update({ projectId: project.id, userId: owner.id, role: 'editor' }),
      () => owner.calls.members.remove({ projectId: project.id, userId: owner.id }),
      () => owner.calls.members.leave({ projectId: project.id }),
    ]) {
      expect(await rejection(call())).toMatchObject({ code: 'CONFLICT', reason: 'LAST_OWNER' });
    }
    const members = await owner.calls.members.transferOwnership({ projectId: project.id, userId: ben.id });
    expect(members.map((member) => [member.userId, member.role])).toEqual([
      [ben.id, 'owner'],
      [owner.id, 'editor'],
    ]);
    await owner.calls.members.leave({ projectId: project.id });
    expect(await rejection(owner.calls.projects.get({ id: project.id }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('survive two owners demoting each other at the same moment: exactly one wins, and an owner remains', async () => {
    for (let round = 0; round < 5; round++) {
      const ana = await person('race');
      const ben = await person('race');
      const project = await ana.calls.projects.create({ name: `Race ${round}` });
      await ana.calls.members.add({ projectId: project.id, username: ben.username, role: 'owner' });
      const outcomes = await Promise.allSettled([
        ana.calls.members.update({ projectId: project.id, userId: ben.id, role: 'editor' }),
        ben.calls.members.update({ projectId: project.id, userId: ana.id, role: 'editor' }),
      ]);
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect(await rejection(Promise.reject((refused[0] as PromiseRejectedResult).reason as Error))).toMatchObject({
        reason: expect.stringMatching(/^(LAST_OWNER|PROJECT_ROLE_TOO_LOW)$/),
      });
      const members = await t.caller(admin.token).members.list({ projectId: project.id });
      expect(members.filter((member) => member.role === 'owner')).toHaveLength(1);
    }
  });

  it('need an active owner: a deactivated one does not count, cannot become one, nor be assigned work', async () => {
    const owner = await person();
    const ben = await person();
    const cy = await person();
    const project = await owner.calls.projects.create({ name: 'Active owners' });
    await owner.calls.members.add({ projectId: project.id, username: ben.username, role: 'owner' });
    await owner.calls.members.add({ projectId: project.id, username: cy.username, role: 'editor' });
    const asAdmin = t.caller(admin.token);
    await asAdmin.admin.users.update({ id: ben.id, isActive: false });
    await asAdmin.admin.users.update({ id: cy.id, isActive: false });

    expect(await rejection(owner.calls.members.leave({ projectId: project.id }))).toMatchObject({ code: 'CONFLICT', reason: 'LAST_OWNER' });
    expect(await rejection(owner.calls.members.update({ projectId: project.id, userId: owner.id, role: 'viewer' }))).toMatchObject({ reason: 'LAST_OWNER' });
    for (const call of [
      () => owner.calls.members.update({ projectId: project.id, userId: cy.id, role: 'owner' }),
      () => owner.calls.members.transferOwnership({ projectId: project.id, userId: cy.id }),
    ]) {
      expect(await rejection(call())).toMatchObject({ code: 'BAD_REQUEST', fieldErrors: { userId: [expect.any(String)] } });
    }
    expect(await rejection(owner.calls.tasks.create({ projectId: project.id, title: 'For cy', assigneeId: cy.id }))).toMatchObject({
      code: 'BAD_REQUEST',
      fieldErrors: { assigneeId: [expect.any(String)] },
    });
    // Nor may the owner's account be deleted: the deactivated co-owner could not manage the project.
    const response = await rest(t.app, 'DELETE', `/api/admin/users/${owner.id}`, { token: admin.token });
    expect(json(response).data).toMatchObject({ reason: 'SOLE_PROJECT_OWNER' });

    await asAdmin.admin.users.update({ id: ben.id, isActive: true });
    await owner.calls.members.leave({ projectId: project.id });
    expect((await asAdmin.members.list({ projectId: project.id })).filter((member) => member.role === 'owner')).toEqual([
      expect.objectContaining({ userId: ben.id }),
    ]);
  });

  it('keep an owner when an account is deleted while its co-owner steps down', async () => {
    for (let round = 0; round < 5; round++) {
      const ana = await person('delete_race');
      const ben = await person('delete_race');
      const project = await ana.calls.projects.create({ name: `Delete race ${round}` });
      await ana.calls.members.add({ projectId: project.id, username: ben.username, role: 'owner' });
      const outcomes = await Promise.allSettled([
        t.caller(admin.token).admin.users.delete({ id: ana.id }),
        ben.calls.members.update({ projectId: project.id, userId: ben.id, role: 'editor' }),
      ]);
      expect(
        outcomes.filter((outcome) => outcome.status === 'fulfilled'),
        `round ${round}`,
      ).toHaveLength(1);
      const owners = (await t.caller(admin.token).members.list({ projectId: project.id })).filter((member) => member.role === 'owner');
      expect(owners, `round ${round}`).toHaveLength(1);
    }
  });

  it('leave their tasks unassigned, and each task says so in its history', async () => {
    const owner = await person();
    const ben = await person();
    const project = await owner.calls.projects.create({ name: 'Handover' });
    await owner.calls.members.add({ projectId: project.id, username: ben.username });
    const first = await owner.calls.tasks.create({ projectId: project.id, title: 'One', assigneeId: ben.id });
    const second = await ben.calls.tasks.create({ projectId: project.id, title: 'Two', assigneeId: ben.id });
    const other = await owner.calls.tasks.create({ projectId: project.id, title: 'Three', assigneeId: owner.id });
    await ben.calls.members.leave({ projectId: project.id });
    for (const task of [first, second]) {
      const now = await owner.calls.tasks.get({ id: task.id });
      expect(now).toMatchObject({ assignee: null, version: task.version + 1 });
      const history = await owner.calls.tasks.history({ taskId: task.id });
      expect(history.items[0]).toMatchObject({
        kind: 'assigned',
        actor: { id: ben.id, username: ben.username },
        details: { from: { id: ben.id, username: ben.username }, to: null, reason: 'left_project' },
      });
    }
    expect((await owner.calls.tasks.get({ id: other.id })).assignee).toEqual({ id: owner.id, username: owner.username });
    // Their own view of the project is gone at once.
    expect(await rejection(ben.calls.tasks.get({ id: second.id }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('never keep a task assigned to someone removed at the same moment it was assigned', async () => {
    for (let round = 0; round < 6; round++) {
      const owner = await person('assign_race');
      const ben = await person('assign_race');
      const project = await owner.calls.projects.create({ name: `Assign race ${round}` });
      await owner.calls.members.add({ projectId: project.id, username: ben.username });
      const existing = await owner.calls.tasks.create({ projectId: project.id, title: 'Existing' });
      await Promise.allSettled([
        owner.calls.members.remove({ projectId: project.id, userId: ben.id }),
        owner.calls.tasks.update({ id: existing.id, assigneeId: ben.id }),
        owner.calls.tasks.create({ projectId: project.id, title: 'New', assigneeId: ben.id }),
      ]);
      const stillMember = (await owner.calls.members.list({ projectId: project.id })).some((member) => member.userId === ben.id);
      const assigned = (await owner.calls.tasks.list({ projectId: project.id, assignee: ben.id })).items;
      expect(stillMember || assigned.length === 0, `round ${round}: ${assigned.length} tasks assigned to a non-member`).toBe(true);
    }
  });

  it('removed by an owner: their tasks are unassigned with that reason', async () => {
    const owner = await person();
    const ben = await person();
    const project = await owner.calls.projects.create({ name: 'Removal' });
    await owner.calls.members.add({ projectId: project.id, username: ben.username });
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Theirs', assigneeId: ben.id });
    const response = await rest(t.app, 'DELETE', `/api/projects/${project.id}/members/${ben.id}`, { token: owner.token });
    expect(response.statusCode).toBe(200);
    expect((await owner.calls.tasks.history({ taskId: task.id })).items[0]?.details).toMatchObject({ reason: 'removed_from_project' });
  });
});

describe('deleting an account', () => {
  it('is refused while they are the only owner of a project others work in', async () => {
    const owner = await person('leaver');
    const ben = await person();
    const project = await owner.calls.projects.create({ name: 'Needs an owner' });
    await owner.calls.members.add({ projectId: project.id, username: ben.username });
    const response = await rest(t.app, 'DELETE', `/api/admin/users/${owner.id}`, { token: admin.token });
    expect(response.statusCode).toBe(409);
    expect(json(response).data).toMatchObject({ reason: 'SOLE_PROJECT_OWNER', details: { projects: [{ id: project.id, name: 'Needs an owner' }] } });
    expect((await t.caller(admin.token).admin.users.get({ id: owner.id })).id).toBe(owner.id);
  });

  it('takes their inbox and solo projects with them, keeps shared work, and unassigns what was theirs', async () => {
    const leaver = await person('leaver');
    const ben = await person();
    const solo = await leaver.calls.projects.create({ name: 'Only mine' });
    await leaver.calls.tasks.create({ projectId: solo.id, title: 'Private' });
    const inboxTask = await leaver.calls.tasks.create({ title: 'In my inbox' });
    const shared = await ben.calls.projects.create({ name: "Ben's" });
    await ben.calls.members.add({ projectId: shared.id, username: leaver.username });
    const written = await leaver.calls.tasks.create({ projectId: shared.id, title: 'Written by the leaver', assigneeId: leaver.id });
    const comment = await leaver.calls.comments.create({ taskId: written.id, body: 'Before I go' });

    await t.caller(admin.token).admin.users.delete({ id: leaver.id });

    const asAdmin = t.caller(admin.token);
    expect(await rejection(asAdmin.projects.get({ id: solo.id }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await rejection(asAdmin.tasks.get({ id: inboxTask.id }))).toMatchObject({ code: 'NOT_FOUND' });
    const kept = await ben.calls.tasks.get({ id: written.id });
    expect(kept).toMatchObject({ title: 'Written by the leaver', createdBy: null, ownerId: null, assignee: null });
    expect((await ben.calls.comments.list({ taskId: written.id })).items).toEqual([
      expect.objectContaining({ id: comment.id, author: null, body: 'Before I go' }),
    ]);
    const history = await ben.calls.tasks.history({ taskId: written.id });
    expect(history.items[0]).toMatchObject({ kind: 'assigned', actor: { id: admin.id }, details: { to: null, reason: 'account_deleted' } });
    expect(history.items.at(-1)).toMatchObject({ kind: 'created', actor: null });
    expect(await ben.calls.members.list({ projectId: shared.id })).toEqual([expect.objectContaining({ userId: ben.id })]);
  });
});

describe('projects', () => {
  it('list the caller’s own by name after the inbox, a page at a time', async () => {
    const owner = await person();
    for (const name of ['beta', 'Alpha', 'gamma', 'Delta']) await owner.calls.projects.create({ name });
    const first = await owner.calls.projects.list({ limit: 3 });
    expect(first.items.map((project) => project.name)).toEqual(['Inbox', 'Alpha', 'beta']);
    const second = await owner.calls.projects.list({ limit: 3, cursor: first.nextCursor as string });
    expect(second.items.map((project) => project.name)).toEqual(['Delta', 'gamma']);
    expect(second.nextCursor).toBeNull();
  });

  it('refuse a cursor they did not hand out with 400, whatever it holds', async () => {
    const owner = await person();
    for (const forged of [{ b: false, n: 'x', i: 3_000_000_000 }, { b: false, n: 'a\u0000', i: 1 }, { i: 1 }]) {
      const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
      const response = await rest(t.app, 'GET', `/api/projects?cursor=${cursor}`, { token: owner.token });
      expect(response.statusCode, JSON.stringify(forged)).toBe(400);
      expect(json(response).data.fieldErrors).toEqual({ cursor: [expect.any(String)] });
    }
    const forged = Buffer.from(JSON.stringify({ i: 3_000_000_000 })).toString('base64url');
    expect((await rest(t.app, 'GET', `/api/admin/projects?cursor=${forged}`, { token: admin.token })).statusCode).toBe(400);
  });

  it('refuse a stale expectedVersion with 409 and change nothing', async () => {
    const owner = await person();
    const project = await owner.calls.projects.create({ name: 'Versioned' });
    await owner.calls.projects.update({ id: project.id, description: 'v2' });
    const response = await rest(t.app, 'PATCH', `/api/projects/${project.id}`, {
      token: owner.token,
      body: { name: 'Lost', expectedVersion: project.version },
    });
    expect(response.statusCode).toBe(409);
    expect(json(response).data).toMatchObject({ reason: 'VERSION_CONFLICT', details: { currentVersion: project.version + 1 } });
    expect((await owner.calls.projects.get({ id: project.id })).name).toBe('Versioned');
  });

  it('answer 201 when made over REST, and are deleted with everything in them', async () => {
    const owner = await person();
    const created = await rest(t.app, 'POST', '/api/projects', { token: owner.token, body: { name: 'Over REST' } });
    expect(created.statusCode).toBe(201);
    const project = json(created);
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Goes with it' });
    await owner.calls.comments.create({ taskId: task.id, body: 'And this' });
    await owner.calls.projects.delete({ id: project.id });
    const { rows } = await t.database.db
      .selectFrom('tasks')
      .select('id')
      .where('project_id', '=', project.id)
      .execute()
      .then((rows) => ({ rows }));
    expect(rows).toEqual([]);
    const { items } = await t.caller(admin.token).admin.audit.list({ action: 'project.deleted', limit: 5 });
    expect(items[0]).toMatchObject({ targetId: String(project.id), actorId: owner.id });
  });

  it('are all listed for administrators, with their owners, inboxes on request', async () => {
    const owner = await person('listed');
    const project = await owner.calls.projects.create({ name: 'Findable zebra' });
    const page = await t.caller(admin.token).admin.projects.list({ search: 'ZEBRA' });
    expect(page.items).toEqual([expect.objectContaining({ id: project.id, ownerUsernames: [owner.username], memberCount: 1 })]);
    const withInboxes = await t.caller(admin.token).admin.projects.list({ includeInboxes: true, limit: 100 });
    expect(withInboxes.items.some((item) => item.isInbox)).toBe(true);
    expect(await rejection(owner.calls.admin.projects.list({}))).toMatchObject({ code: 'FORBIDDEN' });
  });
});
