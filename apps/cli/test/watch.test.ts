import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { buildStm, startApi, type StmUser, stmUser, type TestApi } from './harness';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let stm: string;
let carol: StmUser;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('carol');
  carol = await stmUser(api, stm);
  expect((await carol.login('carol')).code).toBe(0);
});

afterAll(async () => {
  await carol?.dispose();
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

it('tasks watch prints changes made elsewhere as they happen, one JSON object a line, until interrupted', async () => {
  const token = await api.signIn('carol');
  const project = await api.caller(token).projects.create({ name: 'Watched', description: '', color: 'teal' });
  const watcher = spawn(process.execPath, [stm, 'tasks', 'watch', '--project', 'Watched', '--json'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: carol.configDir, STM_CONFIG_DIR: carol.configDir, STM_API_URL: api.url, TZ: 'UTC' },
  });
  const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)));
  let stderr = '';
  watcher.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const lines = createInterface({ input: watcher.stdout })[Symbol.asyncIterator]();
  try {
    // Told on standard error once the project is found; the stream opens right after.
    await vi.waitFor(() => expect(stderr).toContain('Watching Watched'), { timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const task = await api.caller(token).tasks.create({ projectId: project.id, title: 'From elsewhere' });
    await api.caller(token).tasks.update({ id: task.id, status: 'done' });
    const line = async () => {
      const next = await Promise.race([
        lines.next(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no line; stderr: ${stderr}`)), 15_000)),
      ]);
      return JSON.parse(next.value as string);
    };
    const first = await line();
    const second = await line();
    expect(first).toMatchObject({ type: 'event', event: { kind: 'task.created', entityId: task.id, payload: { task: { title: 'From elsewhere' } } } });
    expect(second).toMatchObject({ type: 'event', event: { kind: 'task.updated', entityId: task.id, payload: { task: { status: 'done' } } } });
    watcher.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    watcher.kill('SIGKILL');
  }
});

it('tasks watch ends with exit status 1 and says why when the project goes', async () => {
  const token = await api.signIn('carol');
  const project = await api.caller(token).projects.create({ name: 'Short-lived', description: '', color: 'teal' });
  const watcher = spawn(process.execPath, [stm, 'tasks', 'watch', '--project', 'Short-lived'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: carol.configDir, STM_CONFIG_DIR: carol.configDir, STM_API_URL: api.url, TZ: 'UTC' },
  });
  const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)));
  let stderr = '';
  watcher.stderr.on('data', (chunk) => (stderr += String(chunk)));
  try {
    await vi.waitFor(() => expect(stderr).toContain('Watching Short-lived'), { timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await api.caller(token).projects.delete({ id: project.id });
    // Refused by the API, not misused (2 would say the command was wrong).
    expect(await exited).toBe(1);
    expect(stderr).toContain('You can no longer see this project');
  } finally {
    watcher.kill('SIGKILL');
  }
});

it('tasks watch without --project follows every project of yours, each line naming its project', async () => {
  const token = await api.signIn('carol');
  const first = await api.caller(token).projects.create({ name: 'First of many', description: '', color: 'teal' });
  const watcher = spawn(process.execPath, [stm, 'tasks', 'watch'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: carol.configDir, STM_CONFIG_DIR: carol.configDir, STM_API_URL: api.url, TZ: 'UTC' },
  });
  const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)));
  let stderr = '';
  let stdout = '';
  watcher.stderr.on('data', (chunk) => (stderr += String(chunk)));
  watcher.stdout.on('data', (chunk) => (stdout += String(chunk)));
  try {
    await vi.waitFor(() => expect(stderr).toContain('Watching every project of yours'), { timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // One project that existed, and one made while watching.
    await api.caller(token).tasks.create({ projectId: first.id, title: 'In the first' });
    const second = await api.caller(token).projects.create({ name: 'Made while watching', description: '', color: 'green' });
    // A title that would retitle the window and clear the screen if printed as it is.
    await api.caller(token).tasks.create({ projectId: first.id, title: 'Sneaky \u001b]0;PWNED\u0007\u001b[2J title' });
    await api.caller(token).tasks.create({ projectId: second.id, title: 'In the second' });
    await vi.waitFor(() => expect(stdout).toContain('In the second'), { timeout: 15_000 });
    expect(stdout).toMatch(new RegExp(`task\\.created .*In the first  \\[project ${first.id}\\]`));
    expect(stdout).toMatch(new RegExp(`task\\.created .*In the second  \\[project ${second.id}\\]`));
    expect(stdout).toContain('Sneaky \\u001b]0;PWNED\\u0007\\u001b[2J title');
    expect(stdout).not.toContain('\u001b');
    expect(stdout).not.toContain('\u0007');
    watcher.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    watcher.kill('SIGKILL');
  }
});
