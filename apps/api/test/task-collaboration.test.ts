import { sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rejection, rest, signUp, type TestApp } from './helpers';

/** Working on tasks together: assignees, labels, manual order, moves, comments, history, search and "my work". */
let t: TestApp;
let counter = 0;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function person(prefix = 'collab') {
  const signed = await signUp(t, `${prefix}_${++counter}`);
  return { id: signed.user.id, username: signed.user.username, token: signed.accessToken, calls: t.caller(signed.accessToken) };
}

/** An owner, an editor and a viewer in a new project. */
async function team(name = 'Team') {
  const owner = await person();
  const editor = await person();
  const viewer = await person();
  const project = await owner.calls.projects.create({ name });
  await owner.calls.members.add({ projectId: project.id, username: editor.username, role: 'editor' });
  await owner.calls.members.add({ projectId: project.id, username: viewer.username, role: 'viewer' });
  return { owner, editor, viewer, project };
}

describe('assignees and labels', () => {
  it('are members and labels of the task’s own project', async () => {
    const { owner, editor, project } = await team();
    const outsider = await person();
    const label = await owner.calls.labels.create({ projectId: project.id, name: 'Bug', color: 'red' });
    const [foreignProject] = (await outsider.calls.projects.list({})).items;
    const foreignLabel = await outsider.calls.labels.create({ projectId: foreignProject!.id, name: 'Theirs' });

    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Fix it', assigneeId: editor.id, labelIds: [label.id] });
    expect(task).toMatchObject({ assignee: { id: editor.id, username: editor.username }, labels: [{ id: label.id, name: 'Bug', color: 'red' }] });
    expect(await rejection(owner.calls.tasks.create({ projectId: project.id, title: 'x', assigneeId: outsider.id }))).toMatchObject({
      code: 'BAD_REQUEST',
      fieldErrors: { assigneeId: [expect.any(String)] },
    });
    expect(await rejection(owner.calls.tasks.update({ id: task.id, labelIds: [label.id, foreignLabel.id] }))).toMatchObject({
      code: 'BAD_REQUEST',
      fieldErrors: { labelIds: [expect.any(String)] },
    });
    expect(await owner.calls.tasks.get({ id: task.id })).toMatchObject({ version: 1, labels: [{ id: label.id }] });
  });

  it('refuse a second label of the same name, whatever its case', async () => {
    const { owner, project } = await team();
    await owner.calls.labels.create({ projectId: project.id, name: 'Urgent' });
    const response = await rest(t.app, 'POST', `/api/projects/${project.id}/labels`, { token: owner.token, body: { name: 'URGENT' } });
    expect(response.statusCode).toBe(409);
    expect(json(response).data).toMatchObject({ reason: 'LABEL_NAME_TAKEN', fieldErrors: { name: [expect.any(String)] } });
  });

  it('narrow a list: by project, by assignee (me, none, someone), by label', async () => {
    const { owner, editor, project } = await team('Filters');
    const bug = await owner.calls.labels.create({ projectId: project.id, name: 'bug' });
    const doc = await owner.calls.labels.create({ projectId: project.id, name: 'docs' });
    const mine = await owner.calls.tasks.create({ projectId: project.id, title: 'Mine', assigneeId: owner.id, labelIds: [bug.id] });
    const theirs = await owner.calls.tasks.create({ projectId: project.id, title: 'Theirs', assigneeId: editor.id, labelIds: [doc.id] });
    const nobody = await owner.calls.tasks.create({ projectId: project.id, title: 'Nobody', labelIds: [bug.id, doc.id] });
    const inbox = await owner.calls.tasks.create({ title: 'In my inbox', assigneeId: owner.id });
    const titles = async (input: Parameters<typeof owner.calls.tasks.list>[0]) => (await owner.calls.tasks.list(input)).items.map((task) => task.title).sort();

    expect(await titles({ projectId: project.id })).toEqual(['Mine', 'Nobody', 'Theirs']);
    expect(await titles({ assignee: 'me' })).toEqual(['In my inbox', 'Mine']);
    expect(await titles({ projectId: project.id, assignee: 'none' })).toEqual(['Nobody']);
    expect(await titles({ assignee: editor.id })).toEqual(['Theirs']);
    expect(await titles({ label: [bug.id] })).toEqual(['Mine', 'Nobody']);
    expect(await titles({ label: [bug.id, doc.id], projectId: project.id })).toEqual(['Mine', 'Nobody', 'Theirs']);
    // Over REST, from the query string.
    const response = await rest(t.app, 'GET', `/api/tasks?assignee=me&label=${bug.id}`, { token: owner.token });
    expect(json(response).items.map((task: { id: number }) => task.id)).toEqual([mine.id]);
    const bad = await rest(t.app, 'GET', '/api/tasks?assignee=someone', { token: owner.token });
    expect(bad.statusCode).toBe(400);
    // The editor's own work, across projects.
    const editorsWork = await editor.calls.tasks.list({ assignee: 'me' });
    expect(editorsWork.items.map((task) => task.id)).toEqual([theirs.id]);
    expect((await owner.calls.tasks.list({ assignee: 'none' })).items.map((task) => task.id)).toEqual([nobody.id]);
    expect(inbox.projectId).not.toBe(project.id);
  });
});

describe('history', () => {
  it('records each change, old to new, in the transaction of the change, newest first and a page at a time', async () => {
    const { owner, editor, project } = await team('History');
    const label = await owner.calls.labels.create({ projectId: project.id, name: 'later' });
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Draft', dueAt: '2030-01-01T00:00:00Z' });
    await editor.calls.tasks.update({ id: task.id, title: 'Final', status: 'done', dueAt: null, assigneeId: editor.id, labelIds: [label.id] });
    const comment = await editor.calls.comments.create({ taskId: task.id, body: 'Done' });

    const { items } = await owner.calls.tasks.history({ taskId: task.id });
    expect(items.map((event) => [event.kind, event.actor?.username])).toEqual([
      ['commented', editor.username],
      ['assigned', editor.username],
      ['labelled', editor.username],
      ['updated', editor.username],
      ['created', owner.username],
    ]);
    expect(items[3]?.details).toEqual({
      changes: {
        title: { from: 'Draft', to: 'Final' },
        status: { from: 'todo', to: 'done' },
        dueAt: { from: '2030-01-01T00:00:00.000Z', to: null },
      },
    });
    expect(items[0]?.details).toEqual({ commentId: comment.id });
    expect(items[1]?.details).toEqual({ from: null, to: { id: editor.id, username: editor.username } });
    expect(items[2]?.details).toEqual({ added: [{ id: label.id, name: 'later', color: 'slate' }], removed: [] });
    expect(items[4]?.details).toMatchObject({ title: 'Draft', status: 'todo', project: { id: project.id, name: 'History' } });

    const first = await owner.calls.tasks.history({ taskId: task.id, limit: 2 });
    const rest_ = await owner.calls.tasks.history({ taskId: task.id, limit: 10, cursor: first.nextCursor as string });
    expect([...first.items, ...rest_.items].map((event) => event.id)).toEqual(items.map((event) => event.id));
  });

  it('cannot be rewritten or erased, not even by the database’s own users; it goes only with its task', async () => {
    const { owner, project } = await team();
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Fixed in stone' });
    const db = t.database.db;
    await expect(sql`update task_events set details = '{}' where task_id = ${task.id}`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from task_events where task_id = ${task.id}`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate task_events`.execute(db)).rejects.toThrow(/append-only/);
    expect((await owner.calls.tasks.history({ taskId: task.id })).items.map((event) => event.kind)).toEqual(['created']);

    await owner.calls.tasks.delete({ id: task.id });
    const { rows } = await sql<{ left: number }>`select count(*)::int as left from task_events where task_id = ${task.id}`.execute(db);
    expect(rows[0]?.left).toBe(0);
  });

  it('writes nothing when the change is refused', async () => {
    const { owner, project } = await team();
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Stable' });
    await owner.calls.tasks.update({ id: task.id, title: 'Moved on' });
    await expect(owner.calls.tasks.update({ id: task.id, title: 'Stale', expectedVersion: 1 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await owner.calls.tasks.history({ taskId: task.id })).items.map((event) => event.kind)).toEqual(['updated', 'created']);
  });
});

describe('moving between projects', () => {
  it('needs write access to both; the labels stay behind and an assignee who is not a member there is unassigned', async () => {
    const { owner, editor, project } = await team('From');
    const target = await owner.calls.projects.create({ name: 'To' });
    const label = await owner.calls.labels.create({ projectId: project.id, name: 'old' });
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Travels', assigneeId: editor.id, labelIds: [label.id] });

    // The editor cannot reach the target: it does not exist for them.
    expect(await rejection(editor.calls.tasks.update({ id: task.id, projectId: target.id }))).toMatchObject({
      code: 'NOT_FOUND',
      fieldErrors: { projectId: [expect.any(String)] },
    });
    await owner.calls.members.add({ projectId: target.id, username: editor.username, role: 'viewer' });
    expect(await rejection(editor.calls.tasks.update({ id: task.id, projectId: target.id }))).toMatchObject({ code: 'FORBIDDEN' });

    const moved = await owner.calls.tasks.update({ id: task.id, projectId: target.id });
    expect(moved).toMatchObject({ projectId: target.id, labels: [], assignee: { id: editor.id } });
    const away = await owner.calls.projects.create({ name: 'Away' });
    const again = await owner.calls.tasks.update({ id: task.id, projectId: away.id });
    expect(again).toMatchObject({ projectId: away.id, assignee: null });
    const { items } = await owner.calls.tasks.history({ taskId: task.id });
    expect(items.slice(0, 2).map((event) => [event.kind, event.details])).toEqual([
      ['assigned', { from: { id: editor.id, username: editor.username }, to: null, reason: 'moved_to_other_project' }],
      ['moved', { from: { id: target.id, name: 'To' }, to: { id: away.id, name: 'Away' } }],
    ]);
  });
});

describe('the manual order of a board column', () => {
  async function column(owner: Awaited<ReturnType<typeof person>>, projectId: number, status: 'todo' | 'in_progress' | 'done' = 'todo') {
    return (await owner.calls.tasks.list({ projectId, status: [status], sort: 'position', order: 'asc', limit: 100 })).items;
  }

  it('puts new tasks on top, and a moved one right after or before the task named', async () => {
    const { owner, project } = await team('Board');
    const first = await owner.calls.tasks.create({ projectId: project.id, title: 'A' });
    const second = await owner.calls.tasks.create({ projectId: project.id, title: 'B' });
    const third = await owner.calls.tasks.create({ projectId: project.id, title: 'C' });
    expect((await column(owner, project.id)).map((task) => task.title)).toEqual(['C', 'B', 'A']);
    // Asked for the manual order without a direction, a column reads from its top.
    const byPosition = await rest(t.app, 'GET', `/api/tasks?projectId=${project.id}&sort=position&limit=2`, { token: owner.token });
    const top = json<{ items: Array<{ title: string }>; nextCursor: string }>(byPosition);
    expect(top.items.map((task) => task.title)).toEqual(['C', 'B']);
    const next = await rest(t.app, 'GET', `/api/tasks?projectId=${project.id}&sort=position&limit=2&cursor=${top.nextCursor}`, { token: owner.token });
    expect(json<{ items: Array<{ title: string }> }>(next).items.map((task) => task.title)).toEqual(['A']);
    await owner.calls.tasks.move({ id: third.id, afterId: first.id });
    expect((await column(owner, project.id)).map((task) => task.title)).toEqual(['B', 'A', 'C']);
    await owner.calls.tasks.move({ id: first.id, beforeId: second.id });
    expect((await column(owner, project.id)).map((task) => task.title)).toEqual(['A', 'B', 'C']);
    const moved = await owner.calls.tasks.move({ id: second.id, status: 'in_progress' });
    expect(moved).toMatchObject({ status: 'in_progress', version: 2 });
    expect((await column(owner, project.id)).map((task) => task.title)).toEqual(['A', 'C']);
    expect((await owner.calls.tasks.history({ taskId: second.id })).items[0]?.details).toEqual({ changes: { status: { from: 'todo', to: 'in_progress' } } });
    // An anchor in another column (or project) is refused, whatever it is.
    const response = await rest(t.app, 'POST', `/api/tasks/${first.id}/move`, { token: owner.token, body: { afterId: second.id } });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors).toHaveProperty('afterId');
  });

  it('loses and duplicates nothing when many moves land in the same place at once', async () => {
    const { owner, editor, project } = await team('Crowd');
    const tasks = [];
    for (let index = 0; index < 12; index++) tasks.push(await owner.calls.tasks.create({ projectId: project.id, title: `T${index}` }));
    const anchor = tasks[0]!;
    const movers = tasks.slice(1);
    // Every one into the same gap (right after the anchor), by two people at once.
    await Promise.all(movers.map((task, index) => (index % 2 ? editor : owner).calls.tasks.move({ id: task.id, afterId: anchor.id })));
    const after = await column(owner, project.id);
    expect(after.map((task) => task.id).sort((x, y) => x - y)).toEqual(tasks.map((task) => task.id).sort((x, y) => x - y));
    expect(new Set(after.map((task) => task.position)).size).toBe(after.length);
    // The anchor stays where it was, the others follow it.
    const order = after.map((task) => task.id);
    expect(order.indexOf(anchor.id)).toBe(order.length - movers.length - 1);
  });

  it('orders tasks made at the same moment and numbers the column afresh when a move needs room', async () => {
    const { owner, project } = await team('Ties');
    const made = await Promise.all(Array.from({ length: 6 }, (_, index) => owner.calls.tasks.create({ projectId: project.id, title: `Same ${index}` })));
    const before = await column(owner, project.id);
    expect(before).toHaveLength(6);
    // Squeezing between two neighbours again and again halves the gap each time.
    for (let index = 0; index < 40; index++) await owner.calls.tasks.move({ id: (index % 2 ? made[1] : made[2])!.id, afterId: made[3]!.id });
    const after = await column(owner, project.id);
    expect(new Set(after.map((task) => task.position)).size).toBe(6);
    expect(after.map((task) => task.position).every((position) => /^-?\d+(\.\d{1,24})?$/.test(position))).toBe(true);
  });

  it('puts a moved task exactly where it was dropped among tasks that share a position', async () => {
    const { owner, project } = await team('Shared places');
    const made: { id: number }[] = [];
    for (const title of ['A', 'B', 'C', 'X', 'Y']) made.push(await owner.calls.tasks.create({ projectId: project.id, title }));
    // Tasks that went to the top at the same moment may share a position; (position, id) orders them.
    await sql`update tasks set position = 0 where id in (${sql.join(made.slice(0, 3).map((task) => task.id))})`.execute(t.database.db);
    expect((await column(owner, project.id)).map((task) => task.title)).toEqual(['Y', 'X', 'A', 'B', 'C']);
    await owner.calls.tasks.move({ id: made[3]!.id, afterId: made[0]!.id });
    expect((await column(owner, project.id)).map((task) => task.title)).toEqual(['Y', 'A', 'X', 'B', 'C']);
    await owner.calls.tasks.move({ id: made[4]!.id, beforeId: made[2]!.id });
    const after = await column(owner, project.id);
    expect(after.map((task) => task.title)).toEqual(['A', 'X', 'B', 'Y', 'C']);
    expect(new Set(after.map((task) => task.position)).size).toBe(5);
  });

  it('keeps every move when moves that need the column numbered afresh run at once', async () => {
    const { owner, editor, project } = await team('Renumbered');
    const made: { id: number }[] = [];
    for (let index = 0; index < 10; index++) made.push(await owner.calls.tasks.create({ projectId: project.id, title: `R${index}` }));
    // Positions as long as they may be: every move between two of them needs the column renumbered.
    await sql`update tasks set position = (id % 1000) * 0.000000000000000000000001 where project_id = ${project.id}`.execute(t.database.db);
    const outcomes = await Promise.allSettled(
      made.slice(1).map((task, index) => (index % 2 ? editor : owner).calls.tasks.move({ id: task.id, afterId: made[0]!.id })),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    const after = await column(owner, project.id);
    expect(after.map((task) => task.id).sort((x, y) => x - y)).toEqual(made.map((task) => task.id));
    expect(new Set(after.map((task) => task.position)).size).toBe(10);
  });

  it('stacks tasks that change column together on its top, in the order they had', async () => {
    const { owner, project } = await team('Stacked');
    const done = await owner.calls.tasks.create({ projectId: project.id, title: 'Done before', status: 'done' });
    const made: { id: number }[] = [];
    for (const title of ['P', 'Q', 'R']) made.push(await owner.calls.tasks.create({ projectId: project.id, title }));
    const todo = (await column(owner, project.id)).map((task) => task.title);
    await owner.calls.tasks.bulkUpdate({ ids: made.map((task) => task.id), changes: { status: 'done' } });
    const after = await column(owner, project.id, 'done');
    expect(after.map((task) => task.title)).toEqual([...todo, done.title]);
    expect(new Set(after.map((task) => task.position)).size).toBe(4);
  });
});

describe('deleting a label', () => {
  it('takes it off every task, each of which says so in its history and changes version', async () => {
    const { owner, editor, project } = await team('Label gone');
    const label = await owner.calls.labels.create({ projectId: project.id, name: 'Soon', color: 'amber' });
    const kept = await owner.calls.labels.create({ projectId: project.id, name: 'Kept' });
    const tagged = await owner.calls.tasks.create({ projectId: project.id, title: 'Tagged', labelIds: [label.id, kept.id] });
    const other = await owner.calls.tasks.create({ projectId: project.id, title: 'Other', labelIds: [kept.id] });
    await editor.calls.labels.delete({ id: label.id });

    const now = await owner.calls.tasks.get({ id: tagged.id });
    expect(now).toMatchObject({ version: tagged.version + 1, labels: [{ id: kept.id, name: 'Kept' }] });
    expect((await owner.calls.tasks.history({ taskId: tagged.id })).items[0]).toMatchObject({
      kind: 'labelled',
      actor: { id: editor.id },
      details: { added: [], removed: [{ id: label.id, name: 'Soon', color: 'amber' }], reason: 'label_deleted' },
    });
    expect(await owner.calls.tasks.get({ id: other.id })).toMatchObject({ version: other.version });
    expect((await owner.calls.tasks.history({ taskId: other.id })).items.map((event) => event.kind)).toEqual(['labelled', 'created']);
    expect(await rejection(owner.calls.labels.update({ id: label.id, name: 'Back' }))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('comments', () => {
  it('keep the text as written, name members with @username, and can be edited by their author', async () => {
    const { owner, editor, viewer, project } = await team('Talk');
    const outsider = await person();
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Discuss' });
    const body = `<b>bold</b> & <script>alert(1)</script> @${editor.username.toUpperCase()}, thanks @${viewer.username}. cc @${outsider.username} @nobody`;
    const comment = await owner.calls.comments.create({ taskId: task.id, body });
    expect(comment).toMatchObject({ body, author: { id: owner.id }, edited: false, version: 1 });
    expect(comment.mentions.map((mention) => mention.id).sort((x, y) => x - y)).toEqual([editor.id, viewer.id].sort((x, y) => x - y));

    const edited = await owner.calls.comments.update({ id: comment.id, body: 'Plain now' });
    expect(edited).toMatchObject({ body: 'Plain now', edited: true, version: 2, mentions: [] });
    expect(await rejection(owner.calls.comments.update({ id: comment.id, body: 'Stale', expectedVersion: 1 }))).toMatchObject({ code: 'CONFLICT' });
    expect(await rejection(editor.calls.comments.update({ id: comment.id, body: 'Not mine' }))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'PROJECT_ROLE_TOO_LOW',
    });
    const reply = await editor.calls.comments.create({ taskId: task.id, body: 'Mine to edit' });
    expect((await editor.calls.comments.update({ id: reply.id, body: 'Edited by me' })).body).toBe('Edited by me');
    // An owner may remove anyone's.
    await owner.calls.comments.delete({ id: reply.id });
    expect((await viewer.calls.comments.list({ taskId: task.id })).items.map((item) => item.id)).toEqual([comment.id]);
    expect(await rejection(viewer.calls.comments.create({ taskId: task.id, body: 'Viewers read' }))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('are listed oldest first, a page at a time', async () => {
    const { owner, project } = await team();
    const task = await owner.calls.tasks.create({ projectId: project.id, title: 'Chatty' });
    for (let index = 0; index < 5; index++) await owner.calls.comments.create({ taskId: task.id, body: `Comment ${index}` });
    const first = await owner.calls.comments.list({ taskId: task.id, limit: 3 });
    const second = await owner.calls.comments.list({ taskId: task.id, limit: 3, cursor: first.nextCursor as string });
    expect([...first.items, ...second.items].map((item) => item.body)).toEqual(['Comment 0', 'Comment 1', 'Comment 2', 'Comment 3', 'Comment 4']);
    expect(second.nextCursor).toBeNull();
  });
});

describe('search', () => {
  it('finds text in titles, descriptions and comments of every project the caller can see, and nowhere else', async () => {
    const { owner, editor, project } = await team('Search');
    const outsider = await person();
    const word = `zq${Date.now().toString(36)}`;
    const inTitle = await owner.calls.tasks.create({ projectId: project.id, title: `About ${word}` });
    const inDescription = await owner.calls.tasks.create({ title: 'Quiet', description: `Mentions ${word.toUpperCase()} here` });
    const inComment = await owner.calls.tasks.create({ projectId: project.id, title: 'Silent' });
    await editor.calls.comments.create({ taskId: inComment.id, body: `the ${word} is in here` });
    await outsider.calls.tasks.create({ title: `Their ${word}` });

    const found = await owner.calls.tasks.list({ search: word });
    expect(found.items.map((task) => task.id).sort((a, b) => a - b)).toEqual([inTitle.id, inDescription.id, inComment.id].sort((a, b) => a - b));
    const inProject = await editor.calls.tasks.list({ search: word, projectId: project.id, sort: 'createdAt', order: 'asc' });
    expect(inProject.items.map((task) => task.id)).toEqual([inTitle.id, inComment.id]);
    // Two pages of one: each task once.
    const page = await owner.calls.tasks.list({ search: word, limit: 2 });
    const next = await owner.calls.tasks.list({ search: word, limit: 2, cursor: page.nextCursor as string });
    expect(new Set([...page.items, ...next.items].map((task) => task.id)).size).toBe(3);
  });
});
