import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rejection, rest, signUp, signUpAdmin, type TestApp } from './helpers';

/**
 * Who reaches which task, through the REST bridge (status codes and bodies as clients see them)
 * and through tRPC. Every case gets a fresh task of the owner, so no case depends on another.
 */
let t: TestApp;
let owner: { id: number; token: string };
let other: { id: number; token: string };
let admin: { id: number; token: string };

beforeAll(async () => {
  t = await createTestApp();
  const [o, x, a] = await Promise.all([signUp(t, 'matrix_owner'), signUp(t, 'matrix_other'), signUpAdmin(t, 'matrix_admin')]);
  owner = { id: o.user.id, token: o.accessToken };
  other = { id: x.user.id, token: x.accessToken };
  admin = { id: a.user.id, token: a.accessToken };
});
afterAll(() => t.close());

type Actor = 'owner' | 'other' | 'admin' | 'anonymous';
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function tokenOf(actor: Actor): string | undefined {
  return actor === 'owner' ? owner.token : actor === 'other' ? other.token : actor === 'admin' ? admin.token : undefined;
}

async function ownersTask(title = 'Matrix task') {
  return t.caller(owner.token).tasks.create({ title, priority: 'low' });
}

async function currentRow(id: number) {
  return t.app.services.database.db
    .selectFrom('tasks')
    .select(['id', 'created_by', 'title', 'priority', 'status', 'version'])
    .where('id', '=', id)
    .executeTakeFirst();
}

interface Case {
  request(taskId: number): { method: Method; url: string; body?: unknown };
  /** Expected status for owner, other user, admin, anonymous. */
  expect: Record<Actor, number>;
  /** What must hold afterwards when the call succeeded / was refused. */
  after?(taskId: number, actor: Actor, status: number): Promise<void>;
}

const unchanged = async (taskId: number) => {
  expect(await currentRow(taskId)).toMatchObject({ title: 'Matrix task', priority: 'low', version: 1, created_by: owner.id });
};

const procedures: Record<string, Case> = {
  'tasks.create': {
    request: () => ({ method: 'POST', url: '/api/tasks', body: { title: 'Made by the caller' } }),
    expect: { owner: 201, other: 201, admin: 201, anonymous: 401 },
  },
  'tasks.list': {
    request: () => ({ method: 'GET', url: '/api/tasks?limit=100' }),
    expect: { owner: 200, other: 200, admin: 200, anonymous: 401 },
  },
  'tasks.stats': {
    request: () => ({ method: 'GET', url: '/api/tasks/stats' }),
    expect: { owner: 200, other: 200, admin: 200, anonymous: 401 },
  },
  'tasks.get': {
    request: (id) => ({ method: 'GET', url: `/api/tasks/${id}` }),
    expect: { owner: 200, other: 404, admin: 200, anonymous: 401 },
  },
  'tasks.update': {
    request: (id) => ({ method: 'PATCH', url: `/api/tasks/${id}`, body: { title: 'Changed', priority: 'high' } }),
    expect: { owner: 200, other: 404, admin: 200, anonymous: 401 },
    after: async (id, _actor, status) => {
      if (status === 200) expect(await currentRow(id)).toMatchObject({ title: 'Changed', priority: 'high', version: 2, created_by: owner.id });
      else await unchanged(id);
    },
  },
  'tasks.delete': {
    request: (id) => ({ method: 'DELETE', url: `/api/tasks/${id}` }),
    expect: { owner: 200, other: 404, admin: 200, anonymous: 401 },
    after: async (id, _actor, status) => {
      if (status === 200) expect(await currentRow(id)).toBeUndefined();
      else await unchanged(id);
    },
  },
  'tasks.bulkUpdate': {
    request: (id) => ({ method: 'POST', url: '/api/tasks/bulk-update', body: { ids: [id], changes: { priority: 'high' } } }),
    expect: { owner: 200, other: 404, admin: 200, anonymous: 401 },
    after: async (id, _actor, status) => {
      if (status === 200) expect(await currentRow(id)).toMatchObject({ priority: 'high', version: 2 });
      else await unchanged(id);
    },
  },
  'tasks.bulkDelete': {
    request: (id) => ({ method: 'POST', url: '/api/tasks/bulk-delete', body: { ids: [id] } }),
    expect: { owner: 200, other: 404, admin: 200, anonymous: 401 },
    after: async (id, _actor, status) => {
      if (status === 200) expect(await currentRow(id)).toBeUndefined();
      else await unchanged(id);
    },
  },
  'admin.tasks.list': {
    request: () => ({ method: 'GET', url: '/api/admin/tasks?limit=100' }),
    expect: { owner: 403, other: 403, admin: 200, anonymous: 401 },
  },
};

const actors: Actor[] = ['owner', 'other', 'admin', 'anonymous'];
const matrix = Object.entries(procedures).flatMap(([name, spec]) => actors.map((actor) => ({ name, actor, spec, status: spec.expect[actor] })));

describe('authorization matrix', () => {
  it.each(matrix)('$name as $actor answers $status', async ({ name, actor, spec, status }) => {
    const task = await ownersTask();
    const { method, url, body } = spec.request(task.id);
    const token = tokenOf(actor);
    const response = await rest(t.app, method, url, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });
    expect(response.statusCode, response.body).toBe(status);
    await spec.after?.(task.id, actor, status);

    if (status === 404) expect(json(response)).toMatchObject({ code: 'NOT_FOUND', data: { reason: 'NOT_FOUND' } });
    if (status === 401) expect(response.headers['www-authenticate']).toBe('Bearer realm="stm"');
    if (name === 'tasks.create' && status === 201) {
      const callerId = actor === 'owner' ? owner.id : actor === 'other' ? other.id : admin.id;
      expect(json(response).ownerId).toBe(callerId);
    }
    if (name === 'tasks.list' && status === 200) {
      // Everyone's own list is their own, administrators included.
      const ids = json<{ items: { id: number; ownerId: number }[] }>(response).items.map((item) => item.id);
      expect(ids.includes(task.id)).toBe(actor === 'owner');
      const owners = new Set(json<{ items: { ownerId: number }[] }>(response).items.map((item) => item.ownerId));
      expect([...owners].every((id) => id === (actor === 'owner' ? owner.id : actor === 'other' ? other.id : admin.id))).toBe(true);
    }
    if (name === 'tasks.stats' && status === 200 && actor !== 'owner') {
      // Someone else's counts are theirs alone: the owner's new task is not among them.
      const stats = json<{ byStatus: { todo: number } }>(response);
      const own = await t.app.services.database.db
        .selectFrom('tasks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('created_by', '=', actor === 'other' ? other.id : admin.id)
        .where('status', '=', 'todo')
        .executeTakeFirstOrThrow();
      expect(stats.byStatus.todo).toBe(own.n);
    }
    if (name === 'admin.tasks.list' && status === 200) {
      const items = json<{ items: { id: number; ownerUsername: string }[] }>(response).items;
      expect(items.find((item) => item.id === task.id)).toMatchObject({ ownerUsername: 'matrix_owner' });
    }
  });

  it.each(['get', 'update', 'delete', 'bulkUpdate', 'bulkDelete'] as const)(
    "answers %s on another user's task exactly as on a task that does not exist",
    async (procedure) => {
      const task = await ownersTask();
      const missingId = 2_147_483_000;
      const call = (id: number) => {
        const request = procedures[`tasks.${procedure}`]!.request(id);
        return rest(t.app, request.method, request.url, { token: other.token, ...(request.body === undefined ? {} : { body: request.body }) });
      };
      const foreign = await call(task.id);
      const missing = await call(missingId);
      expect(foreign.statusCode).toBe(404);
      expect(missing.statusCode).toBe(404);
      // The bulk answer names the ids it could not reach: its own id each time, and nothing else differs.
      const foreignBody = json(foreign);
      const missingBody = json(missing);
      if (procedure.startsWith('bulk')) {
        expect(foreignBody.data.details).toEqual({ missingIds: [task.id] });
        expect(missingBody.data.details).toEqual({ missingIds: [missingId] });
        delete foreignBody.data.details;
        delete missingBody.data.details;
        expect(foreignBody.details).toEqual({ missingIds: [task.id] });
        delete foreignBody.details;
        delete missingBody.details;
      }
      // `instance` is the path each was sent to, which holds the id when the path does.
      for (const [body, id] of [
        [foreignBody, task.id],
        [missingBody, missingId],
      ] as const) {
        expect(body.instance).toBe(new URL(procedures[`tasks.${procedure}`]!.request(id).url, 'http://host').pathname);
        delete body.instance;
      }
      expect(foreignBody).toEqual(missingBody);
      expect(Object.keys(foreign.headers).sort()).toEqual(Object.keys(missing.headers).sort());
      await unchanged(task.id);
    },
  );

  it('refuses the same calls over tRPC with the same codes', async () => {
    const task = await ownersTask();
    const asOther = t.caller(other.token).tasks;
    const asAnonymous = t.caller().tasks;
    for (const call of [
      () => asOther.get({ id: task.id }),
      () => asOther.update({ id: task.id, title: 'Stolen' }),
      () => asOther.delete({ id: task.id }),
      () => asOther.bulkUpdate({ ids: [task.id], changes: { status: 'done' } }),
      () => asOther.bulkDelete({ ids: [task.id] }),
    ]) {
      expect(await rejection(call())).toMatchObject({ code: 'NOT_FOUND', reason: 'NOT_FOUND' });
    }
    for (const call of [() => asAnonymous.get({ id: task.id }), () => asAnonymous.list({}), () => asAnonymous.create({ title: 'x' })]) {
      expect(await rejection(call())).toMatchObject({ code: 'UNAUTHORIZED', reason: 'UNAUTHENTICATED' });
    }
    expect(await rejection(t.caller(other.token).admin.tasks.list({}))).toMatchObject({ code: 'FORBIDDEN' });
    await unchanged(task.id);
  });

  it('checks the role in the service too, not only in the route', async () => {
    await expect(t.app.services.tasks.listAll({ id: other.id, role: 'user' }, { sort: 'createdAt', order: 'desc', limit: 20 })).rejects.toMatchObject({
      reason: 'FORBIDDEN',
    });
    const task = await ownersTask();
    await expect(t.app.services.tasks.get({ id: other.id, role: 'user' }, task.id)).rejects.toMatchObject({ reason: 'NOT_FOUND' });
  });

  it("stops reaching tasks with a deleted or deactivated account's token", async () => {
    const { user, accessToken } = await signUp(t, 'matrix_leaver');
    const task = await t.caller(accessToken).tasks.create({ title: 'Mine' });
    await t.app.services.database.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute();
    const response = await rest(t.app, 'GET', `/api/tasks/${task.id}`, { token: accessToken });
    expect(response.statusCode).toBe(401);
  });
});

describe('mass assignment', () => {
  it.each([
    ['ownerId', { ownerId: 1 }],
    ['owner_id', { owner_id: 1 }],
    ['createdBy', { createdBy: 1 }],
    ['position', { position: '1' }],
    ['id', { id: 999 }],
    ['version', { version: 50 }],
    ['createdAt', { createdAt: '2020-01-01T00:00:00Z' }],
    ['updatedAt', { updatedAt: '2020-01-01T00:00:00Z' }],
    ['completedAt', { completedAt: '2020-01-01T00:00:00Z' }],
  ])('refuses to create a task with %s and creates nothing', async (field, extra) => {
    const before = await t.caller(other.token).tasks.list({ limit: 100 });
    const response = await rest(t.app, 'POST', '/api/tasks', { token: other.token, body: { title: 'Sneaky', ...extra } });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors[field]).toEqual(['This field cannot be set']);
    const after = await t.caller(other.token).tasks.list({ limit: 100 });
    expect(after.items.map((item) => item.id)).toEqual(before.items.map((item) => item.id));
  });

  it.each([
    ['ownerId', { ownerId: 1 }],
    ['createdBy', { createdBy: 1 }],
    ['position', { position: '1' }],
    ['version', { version: 50 }],
    ['createdAt', { createdAt: '2020-01-01T00:00:00Z' }],
    ['completedAt', { completedAt: null }],
  ])('refuses to update a task with %s and changes nothing', async (field, extra) => {
    const task = await ownersTask();
    const response = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token: owner.token, body: { title: 'Changed', ...extra } });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors[field]).toEqual(['This field cannot be set']);
    await unchanged(task.id);
  });

  it('keeps the id of the path when the body names another one', async () => {
    const mine = await ownersTask();
    const theirs = await t.caller(other.token).tasks.create({ title: 'Theirs' });
    const response = await rest(t.app, 'PATCH', `/api/tasks/${mine.id}`, { token: owner.token, body: { id: theirs.id, title: 'Changed' } });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toMatchObject({ id: mine.id, title: 'Changed' });
    expect(await currentRow(theirs.id)).toMatchObject({ title: 'Theirs', version: 1 });
  });

  it('refuses owner or version fields inside bulk changes', async () => {
    const task = await ownersTask();
    const response = await rest(t.app, 'POST', '/api/tasks/bulk-update', {
      token: owner.token,
      body: { ids: [task.id], changes: { status: 'done', ownerId: other.id, version: 9 } },
    });
    expect(response.statusCode).toBe(400);
    expect(Object.keys(json(response).data.fieldErrors).sort()).toEqual(['changes.ownerId', 'changes.version']);
    await unchanged(task.id);
  });

  it("ignores an owner filter in a user's list: only admins choose whose tasks to see", async () => {
    await ownersTask('Owner only');
    const response = await rest(t.app, 'GET', `/api/tasks?ownerId=${owner.id}&owner=matrix_owner&limit=100`, { token: other.token });
    expect(response.statusCode).toBe(200);
    const items = json<{ items: { ownerId: number }[] }>(response).items;
    expect(items.every((item) => item.ownerId === other.id)).toBe(true);
  });
});

/**
 * The hottest read: every way a token stops being good must refuse it on the very next call,
 * before any row, and before any complaint about the input.
 */
describe('the task list and a token that stopped being good', () => {
  const db = () => t.app.services.database.db;
  const listAs = (token: string, query = '') => rest(t.app, 'GET', `/api/tasks${query}`, { token });

  async function withTasks(name: string) {
    const signedUp = await signUp(t, name);
    await t.caller(signedUp.accessToken).tasks.create({ title: `${name} 1`, dueAt: '2030-01-01T00:00:00.000Z' });
    await t.caller(signedUp.accessToken).tasks.create({ title: `${name} 2` });
    return signedUp;
  }

  async function expectRefused(token: string) {
    for (const query of ['', '?sort=dueAt&order=asc', '?limit=0', '?cursor=not-a-cursor']) {
      const response = await listAs(token, query);
      expect(response.statusCode, query).toBe(401);
      expect(json(response).data, query).toMatchObject({ reason: 'INVALID_TOKEN', details: { problem: 'invalid_token' } });
      expect(JSON.stringify(json(response)), query).not.toContain('list_leaver');
    }
    expect(await rejection(t.caller(token).tasks.list({}))).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_TOKEN' });
  }

  it('answers a live session with its own tasks, and an empty list as empty', async () => {
    const user = await withTasks('list_live');
    const page = json(await listAs(user.accessToken, '?sort=dueAt&order=asc&limit=1'));
    expect(page.items.map((task: { title: string }) => task.title)).toEqual(['list_live 1']);
    const rest = json(await listAs(user.accessToken, `?sort=dueAt&order=asc&limit=5&cursor=${encodeURIComponent(page.nextCursor)}`));
    // Only a first page says how many match.
    expect(rest).toEqual({ items: [expect.objectContaining({ title: 'list_live 2', dueAt: null })], nextCursor: null, total: null });
    const empty = await signUp(t, 'list_empty');
    expect(json(await listAs(empty.accessToken))).toEqual({ items: [], nextCursor: null, total: { count: 0, capped: false } });
    // Bad input from a live session is the input's fault.
    expect((await listAs(user.accessToken, '?limit=0')).statusCode).toBe(400);
  });

  it('refuses a token whose session was logged out', async () => {
    const user = await withTasks('list_leaver_logout');
    await t.caller(user.accessToken).auth.logout();
    await expectRefused(user.accessToken);
  });

  it('refuses a token of a deactivated account', async () => {
    const user = await withTasks('list_leaver_inactive');
    await db().updateTable('users').set({ is_active: false }).where('id', '=', user.user.id).execute();
    await expectRefused(user.accessToken);
  });

  it('refuses a token of an expired session', async () => {
    const user = await withTasks('list_leaver_expired');
    await db()
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.user.id)
      .execute();
    await expectRefused(user.accessToken);
  });

  it('refuses a token signed by a key revoked meanwhile (straight in the database, as another instance would)', async () => {
    const user = await withTasks('list_leaver_key');
    const { kid } = JSON.parse(Buffer.from(user.accessToken.split('.')[0] as string, 'base64url').toString()) as { kid: string };
    await db().updateTable('signing_keys').set({ revoked_at: new Date() }).where('kid', '=', kid).execute();
    try {
      await expectRefused(user.accessToken);
    } finally {
      await db().updateTable('signing_keys').set({ revoked_at: null }).where('kid', '=', kid).execute();
    }
  });
});
