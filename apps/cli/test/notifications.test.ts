import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildStm, startApi, type StmUser, stmUser, type TestApi } from './harness';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let nora: StmUser;
let noraToken: string;
const taskIds: number[] = [];

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  let stm: string;
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('nora');
  await api.register('otto');
  nora = await stmUser(api, stm);
  expect((await nora.login('nora')).code).toBe(0);
  noraToken = await api.signIn('nora');
  // Otto shares a project with Nora and assigns her three tasks.
  const otto = api.caller(await api.signIn('otto'));
  const project = await otto.projects.create({ name: 'Shared with Nora' });
  await otto.members.add({ projectId: project.id, username: 'nora', role: 'editor' });
  for (const title of ['First', 'Second', 'Third'])
    taskIds.push((await otto.tasks.create({ projectId: project.id, title, assigneeId: (await api.caller(noraToken).auth.me()).id })).id);
});

afterAll(async () => {
  await nora?.dispose();
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe('stm notifications', () => {
  it('lists, marks one read, lists only unread ones, then marks all read', async () => {
    const listed = await nora.run(['notifications']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NEW\s+ID\s+WHEN\s+TASK\s+WHAT$/);
    expect(lines.slice(1).map((line) => line.replace(/\s+/g, ' ').replace(/ \S+Z /, ' <when> '))).toEqual(
      [...taskIds]
        .reverse()
        .map((id, i) => expect.stringMatching(new RegExp(`^\\* \\d+ <when> ${id} otto assigned you "${['Third', 'Second', 'First'][i]}"$`))),
    );

    const json = JSON.parse((await nora.run(['notifications', '--json'])).stdout) as { items: { id: number; read: boolean }[] };
    const first = json.items[2]!.id;
    expect(await nora.run(['notifications', 'read', String(first)])).toMatchObject({ code: 0, stdout: `Marked notification ${first} read\n` });
    const unread = JSON.parse((await nora.run(['notifications', '--unread', '--json'])).stdout) as { items: { id: number }[] };
    expect(unread.items.map((item) => item.id)).toEqual(json.items.slice(0, 2).map((item) => item.id));

    expect(await nora.run(['notifications', 'read', '--all'])).toMatchObject({ code: 0, stdout: 'Marked 2 notifications read\n' });
    expect(await nora.run(['notifications', '--unread'])).toMatchObject({ code: 0, stdout: 'No unread notifications\n' });
    expect(await api.caller(noraToken).notifications.unreadCount()).toEqual({ count: 0 });
  });

  it('refuses wrong usage before sending anything, and an id that is not hers as the API does', async () => {
    expect((await nora.run(['notifications', 'read'])).code).toBe(2);
    expect((await nora.run(['notifications', 'read', '1', '--all'])).code).toBe(2);
    expect((await nora.run(['notifications', 'read', 'abc'])).code).toBe(2);
    expect((await nora.run(['notifications', '--limit', '500'])).code).toBe(2);
    const missing = await nora.run(['notifications', 'read', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[NOT_FOUND]');
  });
});
