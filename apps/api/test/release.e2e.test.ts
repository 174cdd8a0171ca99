import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './processes';

const API_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PASSWORD = 'a long enough passphrase for the release';
/** Run as nobody when the tests run as root: the release must not need root, nor write beside itself. */
const NOBODY = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

/**
 * The release tarball, unpacked outside the repository, started with nothing but Node.js: no
 * pnpm, no workspace, no node_modules but its own.
 */
describe('the release artifact', { timeout: 120_000 }, () => {
  let work: string;
  let unpacked: string;
  let server: ChildProcess | undefined;
  let output = '';
  let baseUrl: string;
  /** An OTLP/HTTP collector: the release traces into it, with the packages it ships for that. */
  let collector: Server;
  const exported: string[] = [];

  beforeAll(async () => {
    collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        exported.push(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    work = mkdtempSync(path.join(os.tmpdir(), 'stm-release-'));
    const packed = spawnSync(process.execPath, [path.join(API_DIR, 'release.mjs'), '--out', path.join(work, 'out')], { encoding: 'utf8', timeout: 240_000 });
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = readdirSync(path.join(work, 'out')).find((name) => name.endsWith('.tar.gz'));
    expect(tarball).toMatch(/^secure-task-manager-.+\.tar\.gz$/);
    unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    expect(spawnSync('tar', ['-xzf', path.join(work, 'out', tarball as string), '-C', unpacked]).status).toBe(0);
    const data = path.join(work, 'data');
    mkdirSync(data);
    if (NOBODY) {
      // Readable by everyone (mkdtemp makes 0700), writable nowhere but the data folder.
      chmodSync(work, 0o755);
      spawnSync('chmod', ['-R', 'a+rX', unpacked]);
      chownSync(data, NOBODY.uid, NOBODY.gid);
    }
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['server.js'], {
      cwd: path.join(unpacked, 'secure-task-manager'),
      // Only what a bare machine has: no NODE_OPTIONS, no pnpm, no paths into the repository.
      env: {
        PATH: '/usr/bin:/bin',
        HOME: data,
        PORT: String(port),
        DATA_DIR: data,
        SECRET_KEY: 'release-test-secret-0123456789-abcdefghijklmnop',
        LOG_PRETTY: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(NOBODY ?? {}),
    });
    server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await fetch(`${baseUrl}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) break;
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`the release did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 300_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await new Promise((resolve) => server?.once('exit', resolve));
    }
    if (work) rmSync(work, { recursive: true, force: true });
    await new Promise((resolve) => collector?.close(resolve));
  });

  const call = async (method: string, url: string, options: { token?: string; body?: unknown } = {}) => {
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) };
  };

  it('signs a new user in, keeps their task, and serves the console', async () => {
    expect((await call('POST', '/api/auth/register', { body: { username: 'release_user', password: PASSWORD } })).status).toBe(201);
    const login = await call('POST', '/api/auth/login', { body: { username: 'release_user', password: PASSWORD } });
    expect(login.status).toBe(200);
    const token = login.json().access_token as string;
    const created = await call('POST', '/api/tasks', { token, body: { title: 'Shipped from the tarball' } });
    expect(created.status).toBe(201);
    const listed = await call('GET', '/api/tasks', { token });
    expect(listed.json().items.map((task: { title: string }) => task.title)).toEqual(['Shipped from the tarball']);

    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<!doctype html>');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    expect((await call('GET', script as string)).status).toBe(200);
  });

  it('names its operator command as it is run there, `node cli.js` (there is no pnpm)', () => {
    expect(output).toContain('or run: node cli.js user:create <username> --role admin');
    const help = spawnSync(process.execPath, ['cli.js', 'help'], {
      cwd: path.join(unpacked, 'secure-task-manager'),
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
    });
    expect(help.stdout).toMatch(/^Usage: node cli\.js <command> \[arguments\]\n/);
  });

  it('stops cleanly on SIGTERM, having logged to stdout when it could not write its log folder', async () => {
    const exited = new Promise<number | null>((resolve) => server?.once('exit', (code) => resolve(code)));
    server?.kill('SIGTERM');
    expect(await exited).toBe(0);
    // As nobody it may write only its data folder: the folder beside it is not its own.
    if (NOBODY) expect(output).toContain('the log folder is not writable: logging to stdout only');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('traced its requests, statements included, and sent what it buffered before it stopped', () => {
    const spans = exported.flatMap((body) => [...body.matchAll(/"name":"([^"]+)"/g)].map((match) => match[1]));
    expect(spans).toContain('POST /api/tasks');
    expect(spans).toContain('INSERT');
    // The access line of a traced request names its trace.
    expect(output).toMatch(/"trace_id":"[0-9a-f]{32}".*"msg":"request"|"msg":"request".*"trace_id":"[0-9a-f]{32}"/);
  });
});
