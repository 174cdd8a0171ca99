import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, giveConfirmedEmail, json, rejection, rest, signUp, type TestApp } from './helpers';

/**
 * Notifications through the public surface: the events that make them, who gets them and who
 * never does, reading them, and each person's preferences.
 */
describe('notifications', () => {
  let t: TestApp;
  type Person = Awaited<ReturnType<typeof person>>;
  let ana: Person;
  let ben: Person;
  let cy: Person;
  let dee: Person;
  let projectId: number;

  async function person(name: string) {
    const signed = await signUp(t, name);
    return { id: signed.user.id, username: name, token: signed.accessToken, calls: t.caller(signed.accessToken) };
  }

  async function kindsOf(who: Person) {
    return (await who.calls.notifications.list({ limit: 100 })).items.map((n) => ({ kind: n.kind, task: n.task.id, actor: n.actor?.username ?? null }));
  }

  beforeAll(async () => {
    t = await createTestApp();
    ana = await person('ana_n');
    ben = await person('ben_n');
    cy = await person('cy_n');
    dee = await person('dee_n');
    const project = await ana.calls.projects.create({ name: 'Notified' });
    projectId = project.id;
    await ana.calls.members.add({ projectId, username: ben.username, role: 'editor' });
    await ana.calls.members.add({ projectId, username: cy.username, role: 'viewer' });
    await ana.calls.members.add({ projectId, username: dee.username, role: 'editor' });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('access control', () => {
    it('refuses every procedure without a token', async () => {
      expect(await rejection(t.caller().notifications.list({}))).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(await rejection(t.caller().notifications.unreadCount())).toMatchObject({ code: 'UNAUTHORIZED' });
      expect((await rest(t.app, 'GET', '/api/notifications')).statusCode).toBe(401);
      expect((await rest(t.app, 'POST', '/api/notifications/read-all')).statusCode).toBe(401);
    });

    it("treats someone else's notification as missing", async () => {
      const task = await ana.calls.tasks.create({ projectId, title: 'For Ben only', assigneeId: ben.id });
      const [mine] = (await ben.calls.notifications.list({})).items.filter((n) => n.task.id === task.id);
      expect(mine).toBeDefined();
      const other = await rejection(cy.calls.notifications.markRead({ id: mine!.id }));
      const missing = await rejection(cy.calls.notifications.markRead({ id: 2_000_000_000 }));
      expect(other).toEqual(missing);
      expect(other).toMatchObject({ code: 'NOT_FOUND' });
      expect((await rest(t.app, 'POST', `/api/notifications/${mine!.id}/read`, { token: cy.token })).statusCode).toBe(404);
      expect((await ben.calls.notifications.list({})).items.find((n) => n.id === mine!.id)?.read).toBe(false);
    });
  });

  it('tells a person a task was assigned to them, by whom, but never the one who assigned it to themselves', async () => {
    const task = await ana.calls.tasks.create({ projectId, title: 'Assigned at creation', assigneeId: ben.id });
    expect((await kindsOf(ben)).filter((n) => n.task === task.id)).toEqual([{ kind: 'assigned', task: task.id, actor: 'ana_n' }]);

    await ana.calls.tasks.update({ id: task.id, assigneeId: dee.id });
    expect((await kindsOf(dee)).filter((n) => n.task === task.id)).toEqual([{ kind: 'assigned', task: task.id, actor: 'ana_n' }]);

    const own = await ana.calls.tasks.create({ projectId, title: 'Mine to do', assigneeId: ana.id });
    await dee.calls.tasks.update({ id: task.id, assigneeId: dee.id, title: 'Still mine' });
    expect((await kindsOf(ana)).filter((n) => n.task === own.id)).toEqual([]);
    expect((await kindsOf(dee)).filter((n) => n.task === task.id)).toHaveLength(1);
  });

  it('tells the people a comment mentions, then the creator and the assignee, once each, never its author', async () => {
    const task = await ana.calls.tasks.create({ projectId, title: 'Talked about', assigneeId: ben.id });
    await ben.calls.comments.create({ taskId: task.id, body: 'Looks good, @cy_n and @ana_n; @ben_n notes it' });
    expect((await kindsOf(cy)).filter((n) => n.task === task.id)).toEqual([{ kind: 'mentioned', task: task.id, actor: 'ben_n' }]);
    // Ana made the task and is mentioned: one notification, the mention.
    expect((await kindsOf(ana)).filter((n) => n.task === task.id)).toEqual([{ kind: 'mentioned', task: task.id, actor: 'ben_n' }]);
    // Ben wrote it (and is assigned and mentions himself): nothing about his own comment.
    expect((await kindsOf(ben)).filter((n) => n.task === task.id)).toEqual([{ kind: 'assigned', task: task.id, actor: 'ana_n' }]);

    await dee.calls.comments.create({ taskId: task.id, body: 'Plain comment' });
    expect((await kindsOf(ana)).filter((n) => n.task === task.id)[0]).toEqual({ kind: 'commented', task: task.id, actor: 'dee_n' });
    expect((await kindsOf(ben)).filter((n) => n.task === task.id)[0]).toEqual({ kind: 'commented', task: task.id, actor: 'dee_n' });
    // Cy neither made nor holds the task, and was not named this time.
    expect((await kindsOf(cy)).filter((n) => n.task === task.id)).toHaveLength(1);
  });

  it('tells nobody who cannot see the task, and hides what was said to someone who lost access', async () => {
    const eve = await person('eve_n');
    await ana.calls.members.add({ projectId, username: eve.username, role: 'editor' });
    const task = await eve.calls.tasks.create({ projectId, title: 'Eve made this' });
    await ben.calls.comments.create({ taskId: task.id, body: 'First' });
    expect((await kindsOf(eve)).filter((n) => n.task === task.id)).toHaveLength(1);
    expect(await eve.calls.notifications.unreadCount()).toEqual({ count: 1 });

    await ana.calls.members.remove({ projectId, userId: eve.id });
    await ben.calls.comments.create({ taskId: task.id, body: 'Second, @eve_n' });
    // Neither the new comment nor the old notification reaches her: she may not read the task.
    expect(await kindsOf(eve)).toEqual([]);
    expect(await eve.calls.notifications.unreadCount()).toEqual({ count: 0 });

    // A mention of someone outside the project tells them nothing either.
    const outsider = await person('out_n');
    await ben.calls.comments.create({ taskId: task.id, body: '@out_n have a look' });
    expect(await kindsOf(outsider)).toEqual([]);
  });

  it('counts unread ones, marks one or all read, lists only unread ones on request, page by page', async () => {
    const fin = await person('fin_n');
    await ana.calls.members.add({ projectId, username: fin.username, role: 'editor' });
    const ids: number[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await ana.calls.tasks.create({ projectId, title: `Page ${i}`, assigneeId: fin.id })).id);
    expect(await fin.calls.notifications.unreadCount()).toEqual({ count: 5 });

    const first = await fin.calls.notifications.list({ limit: 2 });
    expect(first.items.map((n) => n.task.id)).toEqual([ids[4], ids[3]]);
    const second = await fin.calls.notifications.list({ limit: 2, cursor: first.nextCursor as string });
    const third = await fin.calls.notifications.list({ limit: 2, cursor: second.nextCursor as string });
    expect([...second.items, ...third.items].map((n) => n.task.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(third.nextCursor).toBeNull();
    expect(await rejection(fin.calls.notifications.list({ cursor: 'not-a-cursor' }))).toMatchObject({ code: 'BAD_REQUEST' });

    await fin.calls.notifications.markRead({ id: first.items[0]!.id });
    expect(await fin.calls.notifications.unreadCount()).toEqual({ count: 4 });
    expect((await fin.calls.notifications.list({ unread: true })).items.map((n) => n.task.id)).toEqual([ids[3], ids[2], ids[1], ids[0]]);
    // Marking one already read again changes nothing and is no error.
    await fin.calls.notifications.markRead({ id: first.items[0]!.id });

    const all = json(await rest(t.app, 'POST', '/api/notifications/read-all', { token: fin.token }));
    expect(all).toEqual({ updated: 4 });
    expect(await fin.calls.notifications.unreadCount()).toEqual({ count: 0 });
    expect((await fin.calls.notifications.list({ unread: true })).items).toEqual([]);
    expect((await fin.calls.notifications.list({})).items.every((n) => n.read)).toBe(true);

    const listed = json(await rest(t.app, 'GET', '/api/notifications?unread=false&limit=1', { token: fin.token }));
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({ kind: 'assigned', read: true, actor: { username: 'ana_n' }, task: { id: ids[4], title: 'Page 4', projectId } });
    expect(json(await rest(t.app, 'GET', '/api/notifications/unread-count', { token: fin.token }))).toEqual({ count: 0 });
    expect((await rest(t.app, 'GET', '/api/notifications?unread=maybe', { token: fin.token })).statusCode).toBe(400);
  });

  describe('preferences', () => {
    it('starts from the defaults and keeps what the person chooses', async () => {
      const gus = await person('gus_n');
      const defaults = await gus.calls.notifications.preferences();
      expect(defaults).toEqual({
        kinds: {
          assigned: { inApp: true, mail: true },
          mentioned: { inApp: true, mail: true },
          commented: { inApp: true, mail: false },
          due_soon: { inApp: true, mail: true },
          overdue: { inApp: true, mail: true },
        },
        email: null,
        language: null,
      });
      const chosen = { ...defaults, kinds: { ...defaults.kinds, assigned: { inApp: false, mail: true } }, language: 'es' as const };
      const response = await rest(t.app, 'PATCH', '/api/notifications/preferences', { token: gus.token, body: chosen });
      expect(response.statusCode, response.body).toBe(200);
      expect(json(response)).toEqual(chosen);
      expect(await gus.calls.notifications.preferences()).toEqual(chosen);
    });

    it('changes only what is sent, and refuses what is malformed, field by field, changing nothing', async () => {
      const defaults = await ana.calls.notifications.preferences();
      const changed = await ana.calls.notifications.updatePreferences({ kinds: { overdue: { inApp: false, mail: false } } });
      expect(changed).toEqual({ ...defaults, kinds: { ...defaults.kinds, overdue: { inApp: false, mail: false } } });
      // The address is the account's confirmed one: shown here, sent back unchanged, never set here.
      await giveConfirmedEmail(t, ana.id, 'ana@example.test');
      const withMail = json(await rest(t.app, 'PATCH', '/api/notifications/preferences', { token: ana.token, body: { email: 'ANA@example.test' } }));
      expect(withMail).toEqual({ ...changed, email: 'ana@example.test' });
      const elsewhere = await rest(t.app, 'PATCH', '/api/notifications/preferences', { token: ana.token, body: { email: 'other@example.test' } });
      expect(elsewhere.statusCode).toBe(400);
      expect(json(elsewhere).fieldErrors).toHaveProperty('email');

      const halfChannel = await rejection(ana.calls.notifications.updatePreferences({ kinds: { assigned: { inApp: true } } } as never));
      expect(halfChannel).toMatchObject({ code: 'BAD_REQUEST' });
      const unknownKind = await rest(t.app, 'PATCH', '/api/notifications/preferences', {
        token: ana.token,
        body: { kinds: { birthday: { inApp: true, mail: true } } },
      });
      expect(unknownKind.statusCode).toBe(400);
      const badMail = await rest(t.app, 'PATCH', '/api/notifications/preferences', { token: ana.token, body: { email: 'not an address' } });
      expect(badMail.statusCode).toBe(400);
      expect(json(badMail).fieldErrors).toHaveProperty('email');
      const headerInjection = await rest(t.app, 'PATCH', '/api/notifications/preferences', {
        token: ana.token,
        body: { email: 'ana@example.test\r\nBcc: x@example.test' },
      });
      expect(headerInjection.statusCode).toBe(400);
      const badLanguage = await rest(t.app, 'PATCH', '/api/notifications/preferences', { token: ana.token, body: { language: 'fr' } });
      expect(badLanguage.statusCode).toBe(400);
      expect(await ana.calls.notifications.preferences()).toEqual(withMail);
      await giveConfirmedEmail(t, ana.id, null);
      await ana.calls.notifications.updatePreferences({ ...defaults });
      expect(await ana.calls.notifications.preferences()).toEqual(defaults);
    });

    it('leaves a kind turned off in the app out of the list and the count', async () => {
      const hal = await person('hal_n');
      await ana.calls.members.add({ projectId, username: hal.username, role: 'editor' });
      const defaults = await hal.calls.notifications.preferences();
      await hal.calls.notifications.updatePreferences({ ...defaults, kinds: { ...defaults.kinds, assigned: { inApp: false, mail: false } } });
      const task = await ana.calls.tasks.create({ projectId, title: 'Quietly assigned', assigneeId: hal.id });
      await ana.calls.comments.create({ taskId: task.id, body: 'But this one shows' });
      expect(await kindsOf(hal)).toEqual([{ kind: 'commented', task: task.id, actor: 'ana_n' }]);
      expect(await hal.calls.notifications.unreadCount()).toEqual({ count: 1 });
    });
  });
});
