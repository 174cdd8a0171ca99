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
  /** p95 of a creation's own time (request to answer) while watched, ms. */
  writeP95Ms: number;
  /**
   * p95 from a creation's answer to each subscriber's receipt of its event, ms. The answer leaves
   * right after the commit (loopback), so this is commit→receipt to within the answer's transit.
   */
  receiptP95Ms: number;
  /** The API's CPU time per second of writing, alone and watched (1 = one core busy throughout). */
  apiCpuPerSecondAlone: number;
  apiCpuPerSecondWatched: number;
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
 * does not slow the writer's own loop on this one.
 */
async function startSubscribers(api: RunningProcess, token: string, projectId: number, count: number) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./live-subscribers.ts', import.meta.url))], {
    env: { ...process.env, LIVE_URL: api.url, LIVE_TOKEN: token, LIVE_PROJECT: String(projectId), LIVE_COUNT: String(count) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`the subscribers did not start: ${String(first.value)}`);
  return {
    /** Every stream's receipts (title → time), after which the process ends. */
    async report(): Promise<Record<string, number>[]> {
      child.stdin.end('report\n');
      const line = await lines.next();
      return JSON.parse(line.value as string) as Record<string, number>[];
    },
    stop: () => child.kill(),
  };
}

export async function measureLive(api: RunningProcess, token: string, projectId: number, options: { subscribers: number; seconds: number }): Promise<LiveFigures> {
  const cpuAtStart = api.cpuSeconds();
  const alone = await writeFor(api, token, projectId, options.seconds, 'alone');
  const cpuAlone = api.cpuSeconds() - cpuAtStart;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const rssBefore = api.rssMb();
  const subscribers = await startSubscribers(api, token, projectId, options.subscribers);
  try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssOpen = api.rssMb();
    const cpuBeforeWatched = api.cpuSeconds();
    const watched = await writeFor(api, token, projectId, options.seconds, 'watched');
    const cpuWatched = api.cpuSeconds() - cpuBeforeWatched;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const receipts = await subscribers.report();
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
      writeP95Ms: p95(watched.map((write) => write.end - write.start)),
      receiptP95Ms: p95(delays),
      apiCpuPerSecondAlone: Math.round((cpuAlone / options.seconds) * 100) / 100,
      apiCpuPerSecondWatched: Math.round((cpuWatched / options.seconds) * 100) / 100,
      missed,
      memoryPerSubscriptionKb: Math.round(((rssOpen - rssBefore) * 1024) / options.subscribers),
    };
  } finally {
    subscribers.stop();
  }
}
