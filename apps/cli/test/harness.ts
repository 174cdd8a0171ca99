import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appRouter, buildApp, createCallerFactory, createContextInner, loadConfig } from '@stm/api';
import { createTestDatabase } from '@stm/db/testing';
import type {} from '@stm/vitest-config/global-setup';
import { inject } from 'vitest';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The entry point of the repository: the TypeScript source, compiled as it loads. */
export const STM_BIN = path.join(CLI_DIR, 'bin/stm.js');
export const PASSWORD = 'a long enough passphrase';
const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

const createCaller = createCallerFactory(appRouter);

export interface TestApi {
  app: Awaited<ReturnType<typeof buildApp>>;
  /** Where the API listens: http://127.0.0.1:<port>. */
  url: string;
  /** A tRPC caller, signed in when given an access token: to set up and check through the API itself. */
  caller(accessToken?: string | null): ReturnType<typeof createCaller>;
  register(username: string): Promise<void>;
  /** A session of its own (not the CLI's), for checking what the CLI did. */
  signIn(username: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The whole API on a fresh database of this file's own (PGlite or PostgreSQL, per the Vitest
 * project), listening on a random loopback port, with a cheap bcrypt cost.
 */
export async function startApi(): Promise<TestApi> {
  const database = await createTestDatabase(inject('dbTemplate'));
  const config = loadConfig({
    NODE_ENV: 'test',
    SECRET_KEY: TEST_SECRET,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    LOG_FILE: 'false',
    CONSOLE_DIR: '',
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '100000',
  });
  const app = await buildApp({ config, database });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the API is not listening on a port');
  const caller = (accessToken: string | null = null) => createCaller(createContextInner({ services: app.services, accessToken }));
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    caller,
    async register(username) {
      await caller().auth.register({ username, password: PASSWORD });
    },
    async signIn(username) {
      return (await caller().auth.login({ username, password: PASSWORD })).access_token;
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/**
 * The bundle `pnpm build` makes, built into a folder of the caller's: what people copy and run,
 * and quick to start, which matters with a process per command.
 */
export async function buildStm(dir: string): Promise<string> {
  const outfile = path.join(dir, 'stm.js');
  const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(CLI_DIR, 'build.mjs'), outfile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  if (result.code !== 0) throw new Error(`building stm failed: ${result.output}`);
  return outfile;
}

export interface StmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StmOptions {
  /** The script to run: a bundle from `buildStm`, or `STM_BIN`. */
  entry: string;
  /** STM_CONFIG_DIR: where the session file goes. */
  configDir: string;
  /** STM_API_URL; none when null. */
  apiUrl: string | null;
  stdin?: string;
  /** Run under this umask (through sh), to show the file's mode does not depend on it. */
  umask?: string;
}

/**
 * Runs `stm` as a user would: its own process, talking HTTP to the API. Nothing is inherited
 * from this environment but PATH, so a developer's STM_* or XDG settings cannot leak in.
 */
export function runStm(args: string[], options: StmOptions): Promise<StmResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.configDir,
    STM_CONFIG_DIR: options.configDir,
    TZ: 'UTC',
    ...(options.apiUrl ? { STM_API_URL: options.apiUrl } : {}),
  };
  const command = options.umask
    ? spawn('/bin/sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, process.execPath, options.entry, ...args], { env })
    : spawn(process.execPath, [options.entry, ...args], { env });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    command.stdout.on('data', (chunk) => (stdout += chunk));
    command.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      command.kill('SIGKILL');
      reject(new Error(`stm ${args.join(' ')} did not finish in time; stderr: ${stderr}`));
    }, 60_000);
    command.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    command.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    command.stdin.end(options.stdin ?? '');
  });
}

export interface StmUser {
  configDir: string;
  sessionFile: string;
  run(args: string[], options?: Partial<Omit<StmOptions, 'configDir'>>): Promise<StmResult>;
  login(username: string): Promise<StmResult>;
  /** The saved session, as the client wrote it. */
  session(): Promise<{ apiUrl: string; username: string; accessToken: string; accessTokenExpiresAt: string; refreshToken: string }>;
  dispose(): Promise<void>;
}

/** A user of `stm` (the bundle at `entry`) with a config folder of their own, removed by `dispose`. */
export async function stmUser(api: TestApi, entry: string): Promise<StmUser> {
  const configDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'stm-cli-test-')), 'config');
  const sessionFile = path.join(configDir, 'session.json');
  const run: StmUser['run'] = (args, options = {}) => runStm(args, { entry, apiUrl: api.url, ...options, configDir });
  return {
    configDir,
    sessionFile,
    run,
    login: (username) => run(['login', username], { stdin: `${PASSWORD}\n` }),
    session: async () => JSON.parse(await readFile(sessionFile, 'utf8')),
    dispose: () => rm(path.dirname(configDir), { recursive: true, force: true }),
  };
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
