/**
 * The bundle deployments run (`dist/server.js`, `dist/cli.js`): most npm dependencies are inlined
 * into it and a few are left to node_modules, and a new embedded database starts from the
 * template the build writes beside it. Everything else runs the API from source; this is what
 * holds the build to the same behaviour. The test command builds the API first.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DIR, BUILT_SERVER, childEnvironment, outcomeOf, type ServerProcess, startServer } from './processes';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';

const built = existsSync(BUILT_SERVER);
if (!built && process.env.CI) throw new Error(`${BUILT_SERVER} is missing: the test command builds the API before the tests`);
if (!built) console.warn(`Skipping the built-server tests: ${BUILT_SERVER} is missing (pnpm --filter @stm/api build)`);

const PASSWORD = 'correct horse battery staple';

describe.skipIf(!built)('the built server', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  const redisPrefix = uniqueRedisPrefix('built-server');
  const env = () => ({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    LOG_FILE: 'true',
    LOG_DIR: path.join(dataDir, 'logs'),
    LOG_PRETTY: 'false',
    CONSOLE_DIR: path.resolve(API_DIR, '../console/dist'),
    COOKIE_SECURE: 'false',
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: redisPrefix } : {}),
  });

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'stm-built-'));
  });
  afterAll(async () => {
    await server?.stop();
    await deleteRedisKeys(redisPrefix);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The status of an answer, read to the end: an unread body would hold its connection open. */
  async function statusOf(url: string, init?: RequestInit): Promise<number> {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    return response.status;
  }

  async function signIn(url: string): Promise<Record<string, string>> {
    const response = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: PASSWORD, grant_type: 'password' }),
    });
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    return { authorization: `Bearer ${token}` };
  }

  it('starts a new embedded database from the template and serves every surface', async () => {
    server = await startServer(env(), 60_000, { built: true });
    const { url } = server;
    // Unpacked and renamed into place: the database folder, and nothing half-made beside it.
    expect(existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    expect(readdirSync(dataDir).filter((name) => name.includes('unpacking'))).toEqual([]);
    expect(server.output()).not.toMatch(/not started from/);

    const registered = await statusOf(`${url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    expect(registered).toBe(201);
    const auth = await signIn(url);
    const me = await fetch(`${url}/api/auth/me`, { headers: auth });
    expect(await me.json()).toMatchObject({ username: 'alice', role: 'user' });
    expect(await statusOf(`${url}/api/auth/me`)).toBe(401);

    const created = await statusOf(`${url}/trpc/tasks.create`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'from the bundle', dueAt: '2030-01-01T00:00:00.000Z' }),
    });
    expect(created).toBe(200);
    const list = await fetch(`${url}/trpc/tasks.list?input=${encodeURIComponent('{}')}`, { headers: auth });
    const page = (await list.json()) as { result: { data: { items: { title: string; dueAt: string }[] } } };
    expect(page.result.data.items).toMatchObject([{ title: 'from the bundle', dueAt: '2030-01-01T00:00:00.000Z' }]);
    expect(await statusOf(`${url}/trpc/auth.me,tasks.stats?batch=1&input=${encodeURIComponent('{}')}`, { headers: auth })).toBe(200);
    const rest = await fetch(`${url}/api/tasks?search=bundle`, { headers: auth });
    expect(((await rest.json()) as { items: unknown[] }).items).toHaveLength(1);
    expect(await statusOf(`${url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })).toBe(400);

    const document = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toContain('/tasks');
    expect(await statusOf(`${url}/docs/`)).toBe(200);
    expect(await statusOf(`${url}/docs/static/swagger-ui.css`)).toBe(200);
    expect(await (await fetch(`${url}/`)).text()).toContain('<div id="root">');

    await server.stop();
    server = undefined;
    const logDir = path.join(dataDir, 'logs');
    const logFile = readdirSync(logDir).find((name) => name.startsWith('app.'));
    const lines = readFileSync(path.join(logDir, logFile ?? 'missing'), 'utf8');
    expect(lines).toContain('"url":"/api/auth/me"');
    expect(lines).not.toContain(PASSWORD);
  }, 120_000);

  it('keeps the database across a restart, and the bundled CLI backs it up', async () => {
    await server?.stop();
    server = await startServer(env(), 60_000, { built: true });
    const auth = await signIn(server.url);
    const list = await fetch(`${server.url}/api/tasks`, { headers: auth });
    expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(1);
    await server.stop();
    server = undefined;

    const file = path.join(dataDir, 'backup.jsonl.gz');
    const cli = spawn(process.execPath, [path.join(API_DIR, 'dist/cli.js'), 'db:backup', file], {
      cwd: API_DIR,
      env: childEnvironment({ DATA_DIR: dataDir }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const outcome = await outcomeOf(cli, { name: 'dist/cli.js db:backup' });
    expect(outcome).toMatchObject({ code: 0 });
    expect(outcome.stdout).toMatch(/Backed up the embedded database/);
    expect(existsSync(file)).toBe(true);
  }, 120_000);
});
