/**
 * The `live` scenario: open subscriptions (server-sent event streams of a project's changes)
 * while tasks are created in that project, measured against the same writes with none open.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RunningProcess } from './processes';

/** A clock both processes read alike (ms since the epoch, sub-millisecond). */
const now = () => performance.timeOrigin + performance.now();

export interface LiveFigures {
  subscribers: number;
  /** Task creations per second with no stream open, and with `subscribers` open. */
  writesPerSecondAlone: number;
  writesPerSecondWatched: number;
  /** p95 of a creation's own time (request to answer) while watched, ms; and with none open. */
  writeP95Ms: number;
  writeP95MsAlone: number;
  /**
   * p95 from a creation's answer to each subscriber's receipt of its event, ms. The answer leaves
   * right after the commit (loopback), so this is commit→receipt to within the answer's transit.
   */
  receiptP95Ms: number;
  /** The API's CPU time per second of writing, alone and watched (1 = one core busy throughout). */
  apiCpuPerSecondAlone: number;
  apiCpuPerSecondWatched: number;
  /** CPU time of the subscribers' own process over the whole scenario (it shares the machine), s. */
  subscribersCpuSeconds: number;
  /** Events that never arrived at some subscriber (should be 0). */
  missed: number;
  /** The API's resident memory grown by opening the streams, per stream, kB (RSS after a settle, not a heap snapshot). */
  memoryPerSubscriptionKb: number;
}

const CONCURRENCY = 4;

function p95(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] as number) * 100) / 100;
}

/** Creates tasks for `seconds`, `CONCURRENCY` at a time; returns each one's title, start and end. */
async function writeFor(api: RunningProcess, token: string, projectId: number, seconds: number, prefix: string) {
  const writes: { title: string; start: number; end: number }[] = [];
  const until = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const title = `${prefix}-${n++}`;
        const start = now();
        const response = await fetch(`${api.url}/trpc/tasks.create`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ projectId, title }),
        });
        await response.text();
        if (!response.ok) throw new Error(`tasks.create: ${response.status}`);
        writes.push({ title, start, end: now() });
      }
    }),
  );
  return writes;
}

/**
 * The subscribers, in a process of their own (`live-subscribers.ts`), so reading their streams
 * does not slow the writer's own loop on this one. Their streams are opened and closed on command.
 */
async function startSubscribers(api: RunningProcess, token: string, projectId: number, count: number) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./live-subscribers.ts', import.meta.url))], {
    env: { ...process.env, LIVE_URL: api.url, LIVE_TOKEN: token, LIVE_PROJECT: String(projectId), LIVE_COUNT: String(count) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const expect = async (word: string) => {
    const line = await lines.next();
    if (line.value !== word) throw new Error(`the subscribers said ${String(line.value)}, not ${word}`);
  };
  await expect('started');
  return {
    async open() {
      child.stdin.write('open\n');
      await expect('ready');
    },
    async close() {
      child.stdin.write('close\n');
      await expect('closed');
    },
    /** Every stream's receipts (title → time) and the process's CPU time, after which it ends. */
    async report(): Promise<{ receipts: Record<string, number>[]; cpuSeconds: number }> {
      child.stdin.end('report\n');
      const line = await lines.next();
      return JSON.parse(line.value as string) as { receipts: Record<string, number>[]; cpuSeconds: number };
    },
    stop: () => child.kill(),
  };
}

/**
 * Writes alone and watched in mirrored rounds (alone, watched, watched, alone; each half the
 * duration), so that a machine whose load changes during the run weighs on both alike.
 */
export async function measureLive(api: RunningProcess, token: string, projectId: number, options: { subscribers: number; seconds: number }): Promise<LiveFigures> {
  const half = options.seconds / 2;
  const subscribers = await startSubscribers(api, token, projectId, options.subscribers);
  try {
    const alone: Awaited<ReturnType<typeof writeFor>> = [];
    const watched: Awaited<ReturnType<typeof writeFor>> = [];
    let cpuAlone = 0;
    let cpuWatched = 0;
    const round = async (into: typeof alone, prefix: string) => {
      const cpuAtStart = api.cpuSeconds();
      into.push(...(await writeFor(api, token, projectId, half, prefix)));
      return api.cpuSeconds() - cpuAtStart;
    };
    cpuAlone += await round(alone, 'alone-1');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssBefore = api.rssMb();
    await subscribers.open();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssOpen = api.rssMb();
    cpuWatched += await round(watched, 'watched-1');
    cpuWatched += await round(watched, 'watched-2');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await subscribers.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    cpuAlone += await round(alone, 'alone-2');
    const { receipts, cpuSeconds } = await subscribers.report();
    const delays: number[] = [];
    let missed = 0;
    for (const write of watched) {
      for (const received of receipts) {
        const at = received[write.title];
        if (at === undefined) missed++;
        else delays.push(at - write.end);
      }
    }
    return {
      subscribers: options.subscribers,
      writesPerSecondAlone: Math.round(alone.length / options.seconds),
      writesPerSecondWatched: Math.round(watched.length / options.seconds),
      writeP95MsAlone: p95(alone.map((write) => write.end - write.start)),
      writeP95Ms: p95(watched.map((write) => write.end - write.start)),
      receiptP95Ms: p95(delays),
      apiCpuPerSecondAlone: Math.round((cpuAlone / options.seconds) * 100) / 100,
      apiCpuPerSecondWatched: Math.round((cpuWatched / options.seconds) * 100) / 100,
      subscribersCpuSeconds: Math.round(cpuSeconds * 100) / 100,
      missed,
      memoryPerSubscriptionKb: Math.round(((rssOpen - rssBefore) * 1024) / options.subscribers),
    };
  } finally {
    subscribers.stop();
  }
}
