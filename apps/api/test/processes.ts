import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { API_DIR, BUILT_SERVER, cliCommand, SHORT_LIVED_PROCESS_FLAGS, serverCommand } from './bundle';
import { TEST_SECRET } from './helpers';

export { API_DIR, BUILT_CLI, BUILT_SERVER, bundleIsFresh, cliCommand, serverCommand } from './bundle';

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
    child.stdout.on('data', (chunk: Buffer | string) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer | string) => (stderr += String(chunk)));
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

/** Runs the operator CLI to completion, with `stdin` as its standard input. */
export function runCli(args: string[], options: { env: Record<string, string>; stdin?: string; timeoutMs?: number }): Promise<ProcessResult> {
  const child = spawn(process.execPath, [...SHORT_LIVED_PROCESS_FLAGS, ...cliCommand(), ...args], {
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

/**
 * Starts the server on 127.0.0.1 and waits (bounded) until /readyz answers 200: the bundle
 * `dist/server.js` when `built` or when it is up to date, `src/server.ts` otherwise. `built`
 * starts it exactly as an operator does; otherwise as a short-lived process of the tests.
 */
export async function startServer(env: Record<string, string>, readyWithinMs = 60_000, options: { built?: boolean } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const entry = options.built ? [BUILT_SERVER] : [...SHORT_LIVED_PROCESS_FLAGS, ...serverCommand()];
  const child = spawn(process.execPath, entry, {
    cwd: API_DIR,
    env: childEnvironment({ HOST: '127.0.0.1', PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer | string) => (output = (output + String(chunk)).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer | string) => (output = (output + String(chunk)).slice(-20_000)));
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
