import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildStm, startApi, type StmUser, stmUser, type TestApi } from './harness';

// A process per command: generous, for a machine that is busy with other work.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let stm: string;
/** alice, signed in through `stm`. */
let alice: StmUser;
/** alice's own session, for checking what `stm` did through the API. */
let aliceToken: string;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('alice');
  await api.register('bobby');
  alice = await stmUser(api, stm);
  expect((await alice.login('alice')).code).toBe(0);
  aliceToken = await api.signIn('alice');
});

afterAll(async () => {
  await alice?.dispose();
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** Every task of alice's, straight from the API. */
async function aliceTasks() {
  return (await api.caller(aliceToken).tasks.list({ limit: 100 })).items;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's JSON output, asserted on as read
async function json<T = any>(args: string[]): Promise<T> {
  const result = await alice.run([...args, '--json']);
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

describe('stm tasks', () => {
  it('adds, lists, completes and deletes a task, in plain text', async () => {
    const add = await alice.run(['tasks', 'add', 'Renew', 'the', 'passport', '--priority', 'high', '--due', '2030-05-01', '-d', 'At the town hall']);
    expect(add).toMatchObject({ code: 0, stderr: '' });
    const [created] = await aliceTasks();
    expect(created).toMatchObject({
      title: 'Renew the passport',
      description: 'At the town hall',
      priority: 'high',
      status: 'todo',
      // A date alone is the end of that day, in the client's time zone (UTC here).
      dueAt: '2030-05-01T23:59:00.000Z',
    });
    const id = created?.id as number;
    const inbox = String(created?.projectId);
    const row = `${id}   ${inbox.padEnd(7)}  todo    high      2030-05-01 23:59  -         Renew the passport`;
    expect(add.stdout).toBe([`Created task ${id}`, 'ID  PROJECT  STATUS  PRIORITY  DUE               ASSIGNEE  TITLE', row, ''].join('\n'));

    const list = await alice.run(['tasks', 'ls']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout.split('\n')).toContain(row);

    const done = await alice.run(['tasks', 'done', String(id)]);
    expect(done).toMatchObject({ code: 0, stderr: '' });
    expect(done.stdout.split('\n')[0]).toBe(`Task ${id} is done`);
    expect((await api.caller(aliceToken).tasks.get({ id })).status).toBe('done');

    expect(await alice.run(['tasks', 'rm', String(id)])).toMatchObject({ code: 0, stdout: `Deleted task ${id}\n`, stderr: '' });
    await expect(api.caller(aliceToken).tasks.get({ id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await alice.run(['tasks', 'ls'])).toMatchObject({ code: 0, stdout: 'No tasks\n' });
  });

  it("gives scripts the API's own objects with --json", async () => {
    const created = await json(['tasks', 'add', 'Water the plants', '--due', '2030-01-02T08:30:00+02:00', '--priority', 'low']);
    expect(created).toMatchObject({ title: 'Water the plants', priority: 'low', status: 'todo', dueAt: '2030-01-02T06:30:00.000Z', version: 1 });
    expect(await api.caller(aliceToken).tasks.get({ id: created.id })).toEqual(created);

    const page = await json(['tasks', 'ls']);
    expect(page).toEqual({ items: [created], nextCursor: null, total: { count: 1, capped: false } });

    const done = await json(['tasks', 'done', String(created.id)]);
    expect(done).toMatchObject({ id: created.id, status: 'done', version: 2 });
    expect(await json(['tasks', 'rm', String(created.id)])).toEqual({ ok: true });
  });

  it('filters, and pages with --cursor or --all', async () => {
    const caller = api.caller(aliceToken);
    const alpha = (await caller.tasks.create({ title: 'alpha report' })).id;
    const beta = (await caller.tasks.create({ title: 'beta invoice', status: 'done' })).id;
    const gamma = (await caller.tasks.create({ title: 'gamma invoice' })).id;
    const ids = (page: { items: { id: number }[] }) => page.items.map((task) => task.id);

    const [invoices, open, oldestFirst, first] = await Promise.all([
      json(['tasks', 'ls', '--search', 'INVOICE']),
      json(['tasks', 'ls', '--status', 'todo,in_progress']),
      json(['tasks', 'ls', '--sort', 'createdAt', '--order', 'asc']),
      json(['tasks', 'ls', '--limit', '2']),
    ]);
    expect(ids(invoices)).toEqual([gamma, beta]);
    expect(ids(open)).toEqual([gamma, alpha]);
    expect(ids(oldestFirst)).toEqual([alpha, beta, gamma]);
    expect(ids(first)).toEqual([gamma, beta]);
    expect(first.nextCursor).toEqual(expect.any(String));

    const [second, text, all] = await Promise.all([
      json(['tasks', 'ls', '--limit', '2', '--cursor', first.nextCursor]),
      alice.run(['tasks', 'ls', '-n', '2']),
      json(['tasks', 'ls', '--all', '-n', '1']),
    ]);
    expect(second).toEqual({ items: [expect.objectContaining({ id: alpha })], nextCursor: null, total: null });
    expect(text.stdout).toContain(`More tasks: repeat the command with --cursor ${first.nextCursor} (or use --all)`);
    expect(text.stdout).toContain('2 of 3 matching tasks');
    expect(all).toEqual({ items: first.items.concat(second.items), nextCursor: null, total: { count: 3, capped: false } });

    // Several ids at once: all or nothing.
    expect(await json(['tasks', 'done', String(alpha), String(gamma)])).toEqual({ updated: 2 });
    expect((await aliceTasks()).map((task) => task.status)).toEqual(['done', 'done', 'done']);
    expect(await json(['tasks', 'rm', String(alpha), String(beta), String(gamma)])).toEqual({ deleted: 3 });
    expect(await aliceTasks()).toEqual([]);
  });

  it("answers not found for another user's task, and leaves it as it was", async () => {
    const bobToken = await api.signIn('bobby');
    const bobs = await api.caller(bobToken).tasks.create({ title: "bob's task" });

    for (const args of [
      ['tasks', 'done', String(bobs.id)],
      ['tasks', 'rm', String(bobs.id)],
    ]) {
      const result = await alice.run(args);
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'stm: Task not found [NOT_FOUND]\n' });
    }
    for (const verb of ['done', 'rm']) {
      expect(await alice.run(['tasks', verb, String(bobs.id), '999999'])).toMatchObject({
        code: 1,
        stdout: '',
        stderr: 'stm: Some of these tasks were not found; nothing was changed [NOT_FOUND]\n',
      });
    }
    const mixed = await alice.run(['tasks', 'rm', String(bobs.id), '--json']);
    expect(mixed.code).toBe(1);
    expect(JSON.parse(mixed.stderr)).toEqual({ error: { message: 'Task not found', reason: 'NOT_FOUND', httpStatus: 404 } });

    expect(await api.caller(bobToken).tasks.get({ id: bobs.id })).toEqual(bobs);
  });

  it('checks input with the shared rules before sending anything (exit status 2)', async () => {
    const blank = await alice.run(['tasks', 'add', '   ']);
    expect(blank).toMatchObject({ code: 2, stdout: '', stderr: 'stm: Invalid task\n  title: Title is required\n' });

    const priority = await alice.run(['tasks', 'add', 'x', '--priority', 'urgent']);
    expect(priority.code).toBe(2);
    expect(priority.stderr).toMatch(/^stm: Invalid task\n {2}priority: /);

    const due = await alice.run(['tasks', 'add', 'x', '--due', '2030-02-30']);
    expect(due.code).toBe(2);
    expect(due.stderr).toContain('--due must be a date (YYYY-MM-DD)');

    expect(await alice.run(['tasks', 'ls', '--status', 'todo,later'])).toMatchObject({
      code: 2,
      stderr: 'stm: --status: "later" is not one of todo, in_progress, done\n',
    });
    expect((await alice.run(['tasks', 'ls', '--limit', '500'])).code).toBe(2);
    expect(await alice.run(['tasks', 'done', 'first'])).toMatchObject({ code: 2, stderr: 'stm: "first" is not a task id (a positive whole number)\n' });
    expect((await alice.run(['tasks', 'frobnicate'])).code).toBe(2);
    expect(await aliceTasks()).toEqual([]);
  });

  it("prints the API's reason and field errors when it refuses the input, a field error that repeats the message once", async () => {
    const result = await alice.run(['tasks', 'ls', '--cursor', 'not-a-cursor']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('stm: The cursor is not one this list handed out; start again without it [VALIDATION_FAILED]\n');

    const asJson = await alice.run(['tasks', 'ls', '--cursor', 'not-a-cursor', '--json']);
    expect(JSON.parse(asJson.stderr)).toMatchObject({
      error: { reason: 'VALIDATION_FAILED', httpStatus: 400, fieldErrors: { cursor: [expect.any(String)] } },
    });
  });

  it('shows task text from the API without letting it drive the terminal', async () => {
    const created = await api.caller(aliceToken).tasks.create({ title: 'evil \u001b]0;owned\u0007 title' });
    const list = await alice.run(['tasks', 'ls']);
    expect(list.stdout).toContain('evil \\u001b]0;owned\\u0007 title');
    expect(list.stdout).not.toContain('\u001b');
    await api.caller(aliceToken).tasks.delete({ id: created.id });
  });

  it('needs a session: exit status 3 and a hint to sign in', async () => {
    const stranger = await stmUser(api, stm);
    try {
      expect(await stranger.run(['tasks', 'ls'])).toMatchObject({ code: 3, stdout: '', stderr: 'stm: Not signed in: run `stm login` first\n' });
    } finally {
      await stranger.dispose();
    }
  });
});

describe('stm projects', () => {
  it('makes a project, adds a member, and works in it by name: assign, label, list by assignee', async () => {
    const made = await json(['projects', 'add', 'Kitchen', 'works', '--color', 'green', '-d', 'Tiles and paint']);
    expect(made).toMatchObject({ name: 'Kitchen works', color: 'green', role: 'owner', memberCount: 1 });
    expect(await json(['projects', 'members', 'add', 'kitchen WORKS', 'bobby', '--role', 'editor'])).toMatchObject({ username: 'bobby', role: 'editor' });
    const members = await alice.run(['projects', 'members', String(made.id)]);
    expect(members.stdout.split('\n').map((line) => line.replace(/\s+/g, ' ').trim())).toEqual([
      'ID USERNAME ROLE',
      expect.stringMatching(/^\d+ alice owner$/),
      expect.stringMatching(/^\d+ bobby editor$/),
      '',
    ]);
    const label = await json(['projects', 'labels', 'add', 'Kitchen works', 'Shopping', '--color', 'amber']);
    expect(label).toMatchObject({ projectId: made.id, name: 'Shopping', color: 'amber' });
    const listedLabels = await alice.run(['projects', 'labels', 'kitchen works']);
    expect(listedLabels.stdout.split('\n').map((line) => line.replace(/\s+/g, ' ').trim())).toEqual(['ID NAME COLOUR', `${label.id} Shopping amber`, '']);

    const task = await json(['tasks', 'add', 'Order', 'tiles', '--project', 'Kitchen works', '--assign', 'BOBBY', '--label', 'shopping']);
    expect(task).toMatchObject({ projectId: made.id, title: 'Order tiles', assignee: { username: 'bobby' }, labels: [{ id: label.id, name: 'Shopping' }] });
    await json(['tasks', 'add', 'Mine', '--project', String(made.id), '--assign', 'me']);

    const bobs = await json(['tasks', 'ls', '--project', 'Kitchen works', '--assignee', 'bobby']);
    expect(bobs.items.map((item: { title: string }) => item.title)).toEqual(['Order tiles']);
    const mine = await json(['tasks', 'ls', '--assignee', 'me']);
    expect(mine.items.map((item: { title: string }) => item.title)).toEqual(['Mine']);
    const labelled = await json(['tasks', 'ls', '--project', 'kitchen works', '--label', 'Shopping']);
    expect(labelled.items.map((item: { id: number }) => item.id)).toEqual([task.id]);

    const listed = await alice.run(['projects', 'ls']);
    expect(listed.stdout).toMatch(/Inbox \(inbox\)/);
    expect(listed.stdout).toMatch(new RegExp(`${made.id}\\s+Kitchen works\\s+owner\\s+2\\s+green`));

    expect(await alice.run(['tasks', 'ls', '--project', 'No such'])).toMatchObject({
      code: 2,
      stderr: 'stm: No project of yours is named "No such"; see stm projects ls\n',
    });
    // Names are looked up in a project; without one, the CLI says what it needs.
    const unplaced = await alice.run(['tasks', 'ls', '--label', 'Shopping']);
    expect(unplaced).toMatchObject({ code: 2, stderr: expect.stringContaining('name the project too (--project)') });
    expect((await alice.run(['tasks', 'ls', '--assignee', 'bobby'])).stderr).toContain('name the project too (--project)');
    // The options of every command may come before it.
    const early = await alice.run(['--api', api.url, '--json', 'tasks', 'ls', '--project', 'Kitchen works', '--label', 'shopping']);
    expect(early, early.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(early.stdout).items.map((item: { id: number }) => item.id)).toEqual([task.id]);
    expect((await alice.run(['tasks', 'add', 'x', '--project', 'Kitchen works', '--assign', 'stranger'])).code).toBe(2);
    expect(await alice.run(['projects', 'members', 'rm', 'Kitchen works', 'bobby'])).toMatchObject({ code: 0, stdout: 'Removed bobby from Kitchen works\n' });
    expect((await api.caller(aliceToken).tasks.get({ id: task.id })).assignee).toBeNull();
    expect(await alice.run(['projects', 'labels', 'rm', 'Kitchen works', 'shopping'])).toMatchObject({
      code: 0,
      stdout: 'Deleted label Shopping from Kitchen works\n',
    });
    expect((await api.caller(aliceToken).tasks.get({ id: task.id })).labels).toEqual([]);
    expect((await alice.run(['projects', 'labels', 'rm', 'Kitchen works', 'shopping'])).code).toBe(2);
    await api.caller(aliceToken).projects.delete({ id: made.id });
  });
});
