import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to a ready answer. */
  readyMs: number;
  /** Resident memory now, in MB (Linux /proc). */
  rssMb(): number;
  /** CPU time the process has used so far, user and system, in seconds (Linux /proc). */
  cpuSeconds(): number;
  /** The V8 heap in use after a full garbage collection, in bytes (only when started with `heapProbe`). */
  heapUsedAfterGc?: () => Promise<number>;
  stop(): Promise<void>;
}

export async function waitForReady(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

/** utime + stime of /proc/<pid>/stat, in clock ticks of (on Linux, always) 1/100 s. */
function cpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by the local PostgreSQL server's processes (its backends serve both the
 * API and the floor, one at a time): with `cpuOf` measured around a load, a query's cost on the
 * database side, which shares this machine's cores with everything else.
 */
export function databaseCpuSeconds(): Map<number, number> {
  const used = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') used.set(pid, cpuOf(pid));
    } catch {
      // gone meanwhile
    }
  }
  return used;
}

function stopper(child: ChildProcess) {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/** Asks the heap probe loaded into `child` for its heap after a full collection. */
function heapUsedAfterGc(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', answer);
      reject(new Error('the API did not report its heap within 10 s'));
    }, 10_000);
    function answer(message: unknown) {
      if (typeof message !== 'object' || message === null || !('heapUsed' in message)) return;
      clearTimeout(timer);
      child.off('message', answer);
      resolve(Number(message.heapUsed));
    }
    child.on('message', answer);
    child.send('heap');
  });
}

/**
 * The built API (`apps/api/dist/server.js`), as a deployment runs it. `heapProbe`: with
 * `--expose-gc` and `heap-probe.cjs` preloaded, so `heapUsedAfterGc` can read its heap.
 */
export async function startApi(env: Record<string, string>, options: { cpuProfileDir?: string; heapProbe?: boolean } = {}): Promise<RunningProcess> {
  const port = await freePort();
  const started = performance.now();
  // V8 writes the profile when the process exits, which SIGTERM's graceful shutdown lets it do.
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const probing = options.heapProbe ? ['--expose-gc', '--require', fileURLToPath(new URL('./heap-probe.cjs', import.meta.url))] : [];
  const child = spawn(process.execPath, [...profiling, ...probing, path.join(ROOT, 'apps/api/dist/server.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    // Its log (LOG_LEVEL warn: only what went wrong) beside the bench's own, so what the API saw
    // go wrong (a failed procedure, a lost database connection) is there when a run ends early.
    stdio: options.heapProbe ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(`${url}/readyz`, 60_000, child);
  const running: RunningProcess = {
    child,
    url,
    readyMs: Math.round(performance.now() - started),
    rssMb: () => rssOf(child.pid),
    cpuSeconds: () => cpuOf(child.pid),
    stop: stopper(child),
  };
  if (options.heapProbe) running.heapUsedAfterGc = () => heapUsedAfterGc(child);
  return running;
}

/** CPU seconds of the given processes so far (Linux /proc); one gone meanwhile counts 0. */
export function cpuSecondsOf(pids: Iterable<number>): Map<number, number> {
  return new Map([...pids].map((pid) => [pid, cpuOf(pid)]));
}

/** The whole machine's CPU time so far, busy and in all, in seconds (Linux /proc/stat). */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, n) => sum + n, 0);
    // idle and iowait
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** The floor server, in its own process like the API. */
export async function startFloor(env: Record<string, string>, options: { cpuProfileDir?: string } = {}): Promise<RunningProcess> {
  const port = await freePort();
  const started = performance.now();
  // Profiled beside the API so the two can be compared function by function. tsx's loader thread
  // writes a (tiny) profile of its own into the same folder.
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = fork(path.join(ROOT, 'apps/bench/src/floor.ts'), [], {
    cwd: path.join(ROOT, 'apps/bench'),
    execArgv: ['--import', 'tsx', ...profiling],
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(`${url}/healthz`, 30_000, child);
  return {
    child,
    url,
    readyMs: Math.round(performance.now() - started),
    rssMb: () => rssOf(child.pid),
    cpuSeconds: () => cpuOf(child.pid),
    stop: stopper(child),
  };
}
