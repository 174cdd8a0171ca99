import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from './helpers';

/** apps/api: where `tsx` resolves and `src/` lives. */
export const API_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * The environment of a child process: nothing inherited but what finds programs, so a developer's
 * DATABASE_URL, REDIS_URL or .env values cannot leak into a test (empty values override .env).
 */
export function childEnvironment(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    SECRET_KEY: TEST_SECRET,
    BCRYPT_COST: '4',
    LOG_FILE: 'false',
    LOG_LEVEL: 'warn',
    CONSOLE_DIR: '',
    DATABASE_URL: '',
    REDIS_URL: '',
    ADMIN_USERNAME: '',
    ADMIN_PASSWORD: '',
    ...extra,
  };
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * What a command-line process (spawned with every stdio a pipe) comes to: `stdin` is its whole
 * standard input; the result is its exit code and everything it wrote. Killed, and a failure, if
 * it outlives `timeoutMs`; `name` says which in that failure.
 */
export function outcomeOf(
  child: ChildProcessWithoutNullStreams,
  options: { name: string; stdin?: string | undefined; timeoutMs?: number | undefined },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not finish in time; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** The CLI as the build bundles it (`pnpm --filter @stm/api build`). */
export const BUILT_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Where the bundle's code comes from: a source newer than the bundle means it is out of date. */
const BUNDLED_SOURCES = ['src', '../../packages/db/src', '../../packages/auth/src', '../../packages/validators/src', '../../packages/prompt/src', 'build.mjs'];

function newestChange(entry: string): number {
  const stats = statSync(entry, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestChange(path.join(entry, name)));
  return newest;
}

let bundleFresh: boolean | undefined;

/**
 * Whether the bundle (dist/cli.js, dist/server.js) is at least as new as every source it is made
 * of. The test command builds it first, and it starts in a fraction of the time tsx takes; when it
 * is out of date, the sources run through tsx, so a test never runs code older than it tests.
 */
export function bundleIsFresh(): boolean {
  if (bundleFresh === undefined) {
    const built = Math.min(...[BUILT_CLI, BUILT_SERVER].map((file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0));
    const sources = Math.max(...BUNDLED_SOURCES.map((source) => newestChange(path.join(API_DIR, source))));
    bundleFresh = built >= sources;
  }
  return bundleFresh;
}

/** How to start the operator CLI: the bundle when it is up to date, else the sources. */
export function cliCommand(): string[] {
  return bundleIsFresh() ? [BUILT_CLI] : ['--import', 'tsx', 'src/cli.ts'];
}

/** Runs the operator CLI to completion, with `stdin` as its standard input. */
export function runCli(args: string[], options: { env: Record<string, string>; stdin?: string; timeoutMs?: number }): Promise<ProcessResult> {
  const child = spawn(process.execPath, [...cliCommand(), ...args], {
    cwd: API_DIR,
    env: childEnvironment(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return outcomeOf(child, { name: `CLI ${args.join(' ')}`, stdin: options.stdin, timeoutMs: options.timeoutMs });
}

/** A port nothing listens on right now, on the loopback interface. */
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

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** The server as the build bundles it, which deployments run. */
export const BUILT_SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

/**
 * Starts the server on 127.0.0.1 and waits (bounded) until /readyz answers 200: the bundle
 * `dist/server.js` when `built` or when it is up to date, `src/server.ts` otherwise.
 */
export async function startServer(env: Record<string, string>, readyWithinMs = 60_000, options: { built?: boolean } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const entry = options.built || bundleIsFresh() ? [BUILT_SERVER] : ['--import', 'tsx', 'src/server.ts'];
  const child = spawn(process.execPath, entry, {
    cwd: API_DIR,
    env: childEnvironment({ HOST: '127.0.0.1', PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr?.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: () => stopProcess(child),
  };
  const deadline = Date.now() + readyWithinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output}`);
    const ready = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return server;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await server.stop();
  throw new Error(`server not ready within ${readyWithinMs} ms: ${output}`);
}

/** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
export function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
