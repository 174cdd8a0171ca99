import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestApp, outcomeOf, PASSWORD, type ProcessResult, type TestApp } from '@stm/api/testing';

export { freePort, PASSWORD } from '@stm/api/testing';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The entry point of the repository: the TypeScript source, compiled as it loads. */
export const STM_BIN = path.join(CLI_DIR, 'bin/stm.js');

export interface TestApi extends TestApp {
  /** Where the API listens: http://127.0.0.1:<port>. */
  url: string;
  register(username: string): Promise<void>;
  /** A session of its own (not the CLI's), for checking what the CLI did. */
  signIn(username: string): Promise<string>;
}

/**
 * The whole API on a fresh database of this file's own (PGlite or PostgreSQL, per the Vitest
 * project), listening on a random loopback port, with a cheap bcrypt cost.
 */
export async function startApi(environment: Record<string, string> = {}): Promise<TestApi> {
  const api = await createTestApp(environment);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  const address = api.app.server.address();
  if (!address || typeof address === 'string') throw new Error('the API is not listening on a port');
  return {
    ...api,
    url: `http://127.0.0.1:${address.port}`,
    async register(username) {
      await api.caller().auth.register({ username, password: PASSWORD });
    },
    async signIn(username) {
      return (await api.caller().auth.login({ username, password: PASSWORD })).access_token;
    },
  };
}

/**
 * The bundle `pnpm build` makes, built into a folder of the caller's: what people copy and run,
 * and quick to start, which matters with a process per command.
 */
export async function buildStm(dir: string): Promise<string> {
  const outfile = path.join(dir, 'stm.js');
  const build = spawn(process.execPath, [path.join(CLI_DIR, 'build.mjs'), outfile]);
  const result = await outcomeOf(build, { name: 'building stm', timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`building stm failed: ${result.stderr}${result.stdout}`);
  return outfile;
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
  /** More environment, e.g. STM_TOKEN. */
  env?: Record<string, string>;
}

/**
 * Runs `stm` as a user would: its own process, talking HTTP to the API. Nothing is inherited
 * from this environment but PATH, so a developer's STM_* or XDG settings cannot leak in.
 */
export function runStm(args: string[], options: StmOptions): Promise<ProcessResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.configDir,
    STM_CONFIG_DIR: options.configDir,
    TZ: 'UTC',
    ...(options.apiUrl ? { STM_API_URL: options.apiUrl } : {}),
    ...options.env,
  };
  const command = options.umask
    ? spawn('/bin/sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, process.execPath, options.entry, ...args], { env })
    : spawn(process.execPath, [options.entry, ...args], { env });
  return outcomeOf(command, { name: `stm ${args.join(' ')}`, stdin: options.stdin });
}

export interface StmUser {
  configDir: string;
  sessionFile: string;
  run(args: string[], options?: Partial<Omit<StmOptions, 'configDir'>>): Promise<ProcessResult>;
  login(username: string): Promise<ProcessResult>;
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
