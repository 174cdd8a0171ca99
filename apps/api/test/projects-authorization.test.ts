import { sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

/**
 * Who may do what in a shared project: its owner, an editor, a viewer, someone who is not a
 * member, an administrator who is not one either, and nobody signed in, against every procedure
 * of projects, members, labels, tasks, comments and history, over REST and over tRPC. A refused
 * write, and any read, must leave every row of the project it aims at as it was. A write expected
 * to succeed gets a project (and the objects it aims at) of its own; the others share one, made
 * again whenever a case left it changed, so one failure never shows up in the cases after it.
 */
type Actor = 'owner' | 'editor' | 'viewer' | 'outsider' | 'admin' | 'anonymous';
type Transport = 'rest' | 'trpc';
const ACTORS: Actor[] = ['owner', 'editor', 'viewer', 'outsider', 'admin', 'anonymous'];

let t: TestApp;
const people = {} as Record<Exclude<Actor, 'anonymous'>, { id: number; token: string; username: string }>;
/** A member to change, remove or hand ownership to, in every project. */
let extra: { id: number; username: string };
/** Someone to add. */
let newcomer: { id: number; username: string };

beforeAll(async () => {
  t = await createTestApp();
  const names = ['p_owner', 'p_editor', 'p_viewer', 'p_outsider', 'p_extra', 'p_newcomer'];
  const [owner, editor, viewer, outsider, extraUser, newcomerUser] = await Promise.all(names.map((name) => signUp(t, name)));
  const admin = await signUpAdmin(t, 'p_admin');
  for (const [actor, signed] of Object.entries({ owner, editor, viewer, outsider, admin })) {
    people[actor as Exclude<Actor, 'anonymous'>] = { id: signed!.user.id, token: signed!.accessToken, username: signed!.user.username };
  }
  extra = { id: extraUser!.user.id, username: extraUser!.user.username };
  newcomer = { id: newcomerUser!.user.id, username: newcomerUser!.user.username };
});
afterAll(() => t.close());

interface Fixture {
  projectId: number;
  taskId: number;
  labelId: number;
  /** Written by the owner. */
  commentId: number;
}

/** A project of the owner's, with an editor, a viewer and a third member, a label, a task and a comment. */
async function makeFixture(): Promise<Fixture> {
  const owner = t.caller(people.owner.token);
  const project = await owner.projects.create({ name: 'Matrix project' });
  await owner.members.add({ projectId: project.id, username: people.editor.username, role: 'editor' });
  await owner.members.add({ projectId: project.id, username: people.viewer.username, role: 'viewer' });
  await owner.members.add({ projectId: project.id, username: extra.username, role: 'editor' });
  const label = await owner.labels.create({ projectId: project.id, name: 'matrix' });
  const task = await owner.tasks.create({ projectId: project.id, title: 'Matrix task', labelIds: [label.id], assigneeId: extra.id });
  await owner.tasks.create({ projectId: project.id, title: 'Second task' });
  const comment = await owner.comments.create({ taskId: task.id, body: 'First comment' });
  return { projectId: project.id, taskId: task.id, labelId: label.id, commentId: comment.id };
}

/** Every row of the project and of everything in it, as the database holds them. */
async function projectRows(projectId: number): Promise<string> {
  const { rows } = await sql<{ text: string }>`
    select concat_ws(' | ',
      (select json_agg(p)::text from projects p where p.id = ${projectId}),
      (select json_agg(m order by m.user_id)::text from project_members m where m.project_id = ${projectId}),
      (select json_agg(l order by l.id)::text from labels l where l.project_id = ${projectId}),
      (select json_agg(x order by x.id)::text from tasks x where x.project_id = ${projectId}),
      (select json_agg(tl order by tl.task_id, tl.label_id)::text from task_labels tl join tasks x on x.id = tl.task_id where x.project_id = ${projectId}),
      (select json_agg(c order by c.id)::text from task_comments c join tasks x on x.id = c.task_id where x.project_id = ${projectId}),
      (select json_agg(e order by e.id)::text from task_events e where e.project_id = ${projectId})
    ) as text`.execute(t.database.db);
  return rows[0]?.text ?? '';
}

interface Call {
  rest: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; body?: unknown };
  trpc: { kind: 'query' | 'mutation'; path: string; input?: unknown };
}

interface Case {
  call(fixture: Fixture): Call;
  /** Status over REST per actor; tRPC answers the same, but 200 for a creation. */
  expect: Record<Actor, number>;
  /** Writes change the project's rows when they succeed and never when refused. */
  writes: boolean;
}

const read = { owner: 200, editor: 200, viewer: 200, outsider: 404, admin: 200, anonymous: 401 };
const write = { owner: 200, editor: 200, viewer: 403, outsider: 404, admin: 200, anonymous: 401 };
const create = { owner: 201, editor: 201, viewer: 403, outsider: 404, admin: 201, anonymous: 401 };
const manage = { owner: 200, editor: 403, viewer: 403, outsider: 404, admin: 200, anonymous: 401 };

const cases: Record<string, Case> = {
  'projects.get': { call: (f) => get(`/projects/${f.projectId}`, 'projects.get', { id: f.projectId }), expect: read, writes: false },
  'projects.update': {
    call: (f) => mutation('PATCH', `/projects/${f.projectId}`, 'projects.update', { id: f.projectId, name: 'Renamed' }),
    expect: manage,
    writes: true,
  },
  'projects.update (archive)': {
    call: (f) => mutation('PATCH', `/projects/${f.projectId}`, 'projects.update', { id: f.projectId, archived: true }),
    expect: manage,
    writes: true,
  },
  'projects.delete': { call: (f) => mutation('DELETE', `/projects/${f.projectId}`, 'projects.delete', { id: f.projectId }), expect: manage, writes: true },
  'members.list': { call: (f) => get(`/projects/${f.projectId}/members`, 'members.list', { projectId: f.projectId }), expect: read, writes: false },
  'members.add': {
    call: (f) => mutation('POST', `/projects/${f.projectId}/members`, 'members.add', { projectId: f.projectId, username: newcomer.username, role: 'viewer' }),
    expect: { ...manage, owner: 201, admin: 201 },
    writes: true,
  },
  'members.update': {
    call: (f) =>
      mutation('PATCH', `/projects/${f.projectId}/members/${extra.id}`, 'members.update', { projectId: f.projectId, userId: extra.id, role: 'viewer' }),
    expect: manage,
    writes: true,
  },
  'members.remove': {
    call: (f) => mutation('DELETE', `/projects/${f.projectId}/members/${extra.id}`, 'members.remove', { projectId: f.projectId, userId: extra.id }),
    expect: manage,
    writes: true,
  },
  'members.transferOwnership': {
    call: (f) => mutation('POST', `/projects/${f.projectId}/transfer-ownership`, 'members.transferOwnership', { projectId: f.projectId, userId: extra.id }),
    expect: manage,
    writes: true,
  },
  'members.leave': {
    call: (f) => mutation('POST', `/projects/${f.projectId}/leave`, 'members.leave', { projectId: f.projectId }),
    // The only owner cannot leave; an administrator who is not a member has nothing to leave.
    expect: { owner: 409, editor: 200, viewer: 200, outsider: 404, admin: 404, anonymous: 401 },
    writes: true,
  },
  'labels.list': { call: (f) => get(`/projects/${f.projectId}/labels`, 'labels.list', { projectId: f.projectId }), expect: read, writes: false },
  'labels.create': {
    call: (f) => mutation('POST', `/projects/${f.projectId}/labels`, 'labels.create', { projectId: f.projectId, name: 'urgent', color: 'red' }),
    expect: create,
    writes: true,
  },
  'labels.update': { call: (f) => mutation('PATCH', `/labels/${f.labelId}`, 'labels.update', { id: f.labelId, name: 'renamed' }), expect: write, writes: true },
  'labels.delete': { call: (f) => mutation('DELETE', `/labels/${f.labelId}`, 'labels.delete', { id: f.labelId }), expect: write, writes: true },
  'tasks.create': {
    call: (f) => mutation('POST', '/tasks', 'tasks.create', { projectId: f.projectId, title: 'Made here' }),
    expect: create,
    writes: true,
  },
  'tasks.list': { call: (f) => get(`/tasks?projectId=${f.projectId}`, 'tasks.list', { projectId: f.projectId }), expect: read, writes: false },
  'tasks.stats': { call: (f) => get(`/tasks/stats?projectId=${f.projectId}`, 'tasks.stats', { projectId: f.projectId }), expect: read, writes: false },
  'tasks.get': { call: (f) => get(`/tasks/${f.taskId}`, 'tasks.get', { id: f.taskId }), expect: read, writes: false },
  'tasks.update': {
    call: (f) => mutation('PATCH', `/tasks/${f.taskId}`, 'tasks.update', { id: f.taskId, title: 'Changed', labelIds: [] }),
    expect: write,
    writes: true,
  },
  'tasks.move': {
    call: (f) => mutation('POST', `/tasks/${f.taskId}/move`, 'tasks.move', { id: f.taskId, status: 'in_progress' }),
    expect: write,
    writes: true,
  },
  'tasks.delete': { call: (f) => mutation('DELETE', `/tasks/${f.taskId}`, 'tasks.delete', { id: f.taskId }), expect: write, writes: true },
  'tasks.bulkUpdate': {
    call: (f) => mutation('POST', '/tasks/bulk-update', 'tasks.bulkUpdate', { ids: [f.taskId], changes: { status: 'done' } }),
    expect: write,
    writes: true,
  },
  'tasks.bulkDelete': { call: (f) => mutation('POST', '/tasks/bulk-delete', 'tasks.bulkDelete', { ids: [f.taskId] }), expect: write, writes: true },
  'tasks.history': { call: (f) => get(`/tasks/${f.taskId}/history`, 'tasks.history', { taskId: f.taskId }), expect: read, writes: false },
  'comments.list': { call: (f) => get(`/tasks/${f.taskId}/comments`, 'comments.list', { taskId: f.taskId }), expect: read, writes: false },
  'comments.create': {
    call: (f) => mutation('POST', `/tasks/${f.taskId}/comments`, 'comments.create', { taskId: f.taskId, body: 'A reply' }),
    expect: create,
    writes: true,
  },
  // The owner's comment: its author or an owner of the project may change it, nobody else.
  'comments.update': {
    call: (f) => mutation('PATCH', `/comments/${f.commentId}`, 'comments.update', { id: f.commentId, body: 'Edited' }),
    expect: manage,
    writes: true,
  },
  'comments.delete': { call: (f) => mutation('DELETE', `/comments/${f.commentId}`, 'comments.delete', { id: f.commentId }), expect: manage, writes: true },
};

function get(url: string, path: string, input: unknown): Call {
  return { rest: { method: 'GET', url: `/api${url}` }, trpc: { kind: 'query', path, input } };
}

function mutation(method: 'POST' | 'PATCH' | 'DELETE', url: string, path: string, input: Record<string, unknown>): Call {
  // REST takes path parameters from the URL; the body carries the rest (none for DELETE).
  return { rest: { method, url: `/api${url}`, ...(method === 'DELETE' ? {} : { body: input }) }, trpc: { kind: 'mutation', path, input } };
}

async function send(call: Call, transport: Transport, actor: Actor) {
  const token = actor === 'anonymous' ? undefined : people[actor].token;
  if (transport === 'rest') {
    const { method, url, body } = call.rest;
    return rest(t.app, method, url, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });
  }
  return trpc(t.app, call.trpc.kind, call.trpc.path, call.trpc.input, token ? { token } : {});
}

const matrix = (['rest', 'trpc'] as const).flatMap((transport) =>
  Object.entries(cases).flatMap(([name, spec]) => ACTORS.map((actor) => ({ transport, name, actor, spec, status: spec.expect[actor] }))),
);

/** The project the cases that must change nothing aim at, and its rows; made when first needed. */
let unchanging: { fixture: Fixture; rows: string } | undefined;

async function unchangingFixture(): Promise<Fixture> {
  if (!unchanging) {
    const fixture = await makeFixture();
    unchanging = { fixture, rows: await projectRows(fixture.projectId) };
  }
  return unchanging.fixture;
}

describe('the authorization matrix of shared projects', () => {
  it.each(matrix)('$transport: $name as $actor answers $status', async ({ transport, actor, spec, status }) => {
    const changes = spec.writes && status < 400;
    const fixture = changes ? await makeFixture() : await unchangingFixture();
    const before = await projectRows(fixture.projectId);
    try {
      const response = await send(spec.call(fixture), transport, actor);
      const expected = transport === 'trpc' && status === 201 ? 200 : status;
      expect(response.statusCode, response.body).toBe(expected);
      const body = json(response);
      const data = transport === 'rest' ? body.data : body.error?.data;
      if (status === 404) expect(data).toMatchObject({ code: 'NOT_FOUND', reason: 'NOT_FOUND' });
      if (status === 403) expect(['PROJECT_ROLE_TOO_LOW']).toContain(data?.reason);
      if (status === 409) expect(data?.reason).toBe('LAST_OWNER');
      const after = await projectRows(fixture.projectId);
      if (status >= 400 || !spec.writes) expect(after).toBe(before);
      else expect(after).not.toBe(before);
    } finally {
      // A case that failed may have changed the shared project: the next one gets a new one.
      if (!changes && (await projectRows(fixture.projectId)) !== unchanging?.rows) unchanging = undefined;
    }
  });

  it('answers an outsider exactly as for a project, task, label or comment that does not exist', async () => {
    const fixture = await makeFixture();
    const missing: Fixture = { projectId: 2_147_483_000, taskId: 2_147_483_000, labelId: 2_147_483_000, commentId: 2_147_483_000 };
    for (const [name, spec] of Object.entries(cases)) {
      if (spec.expect.outsider !== 404) continue;
      for (const transport of ['rest', 'trpc'] as const) {
        const foreign = await send(spec.call(fixture), transport, 'outsider');
        const absent = await send(spec.call(missing), transport, 'outsider');
        expect(foreign.statusCode, name).toBe(404);
        // Ids, which also stand in a problem's `instance` (the path each was sent to).
        const strip = (text: string) =>
          text
            .replaceAll(String(fixture.taskId), 'ID')
            .replaceAll(String(fixture.projectId), 'ID')
            .replaceAll(String(fixture.labelId), 'ID')
            .replaceAll(String(fixture.commentId), 'ID')
            .replaceAll('2147483000', 'ID');
        expect(strip(foreign.body), `${transport} ${name}`).toBe(strip(absent.body));
      }
    }
  });

  it('takes a removed member out at once: their very next request is refused', async () => {
    const fixture = await makeFixture();
    const asEditor = t.caller(people.editor.token);
    expect((await asEditor.tasks.get({ id: fixture.taskId })).id).toBe(fixture.taskId);
    await t.caller(people.owner.token).members.remove({ projectId: fixture.projectId, userId: people.editor.id });
    const response = await rest(t.app, 'GET', `/api/tasks/${fixture.taskId}`, { token: people.editor.token });
    expect(response.statusCode).toBe(404);
    expect((await rest(t.app, 'GET', `/api/tasks?projectId=${fixture.projectId}`, { token: people.editor.token })).statusCode).toBe(404);
    const mine = json<{ items: { projectId: number }[] }>(await rest(t.app, 'GET', '/api/tasks?limit=100', { token: people.editor.token }));
    expect(mine.items.some((task) => task.projectId === fixture.projectId)).toBe(false);
  });

  it('makes an archived project read-only for everyone, its owner included, until it is unarchived', async () => {
    const fixture = await makeFixture();
    const owner = t.caller(people.owner.token);
    await owner.projects.update({ id: fixture.projectId, archived: true });
    const before = await projectRows(fixture.projectId);
    for (const [name, spec] of Object.entries(cases)) {
      if (!spec.writes || name.startsWith('projects.') || name === 'members.leave') continue;
      const response = await send(spec.call(fixture), 'rest', 'owner');
      expect(response.statusCode, name).toBe(403);
      expect(json(response).data.reason, name).toBe('PROJECT_ARCHIVED');
    }
    expect(await projectRows(fixture.projectId)).toBe(before);
    // Still readable, and out of the member's lists of every project.
    expect((await owner.tasks.get({ id: fixture.taskId })).id).toBe(fixture.taskId);
    expect((await owner.tasks.list({ limit: 100 })).items.some((task) => task.projectId === fixture.projectId)).toBe(false);
    expect((await owner.projects.list({})).items.some((project) => project.id === fixture.projectId)).toBe(false);
    expect((await owner.projects.list({ archived: true })).items.map((project) => project.id)).toContain(fixture.projectId);
    const unarchived = await owner.projects.update({ id: fixture.projectId, archived: false, name: 'Back at work' });
    expect(unarchived).toMatchObject({ archived: false, archivedAt: null, name: 'Back at work' });
    expect((await owner.tasks.update({ id: fixture.taskId, title: 'Writable again' })).title).toBe('Writable again');
  });

  it("records an administrator's acts in others' projects, and every membership change, in the audit log", async () => {
    const fixture = await makeFixture();
    const admin = t.caller(people.admin.token);
    await admin.tasks.update({ id: fixture.taskId, title: 'Fixed by an admin' });
    await admin.members.update({ projectId: fixture.projectId, userId: extra.id, role: 'viewer' });
    await t.caller(people.owner.token).members.remove({ projectId: fixture.projectId, userId: people.viewer.id });
    const { items } = await admin.admin.audit.list({ limit: 10 });
    const ofProject = items.filter((entry) => entry.targetType === 'project' && entry.targetId === String(fixture.projectId));
    expect(ofProject.map((entry) => [entry.action, entry.actorUsername])).toEqual([
      ['project.member_removed', 'p_owner'],
      ['project.member_role_changed', 'p_admin'],
      ['project.administered', 'p_admin'],
      ['project.member_added', 'p_owner'],
      ['project.member_added', 'p_owner'],
      ['project.member_added', 'p_owner'],
    ]);
    expect(ofProject[1]?.details).toMatchObject({ userId: extra.id, before: 'editor', after: 'viewer', byAdministrator: true });
    expect(ofProject[2]?.details).toMatchObject({ operation: 'tasks.update', taskId: fixture.taskId });
    expect(ofProject[0]?.details).toMatchObject({ userId: people.viewer.id, role: 'viewer' });
    expect(ofProject[0]?.details).not.toHaveProperty('byAdministrator');
  });
});
