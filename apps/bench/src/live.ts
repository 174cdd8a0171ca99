/**
 * The `live` scenario: open subscriptions (server-sent event streams of a project's changes)
 * while tasks are created in that project, measured against the same writes with none open.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, machineCpuSeconds, type RunningProcess } from './processes';

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
  /**
   * Where a write's time goes, alone and watched: CPU ms per write of the API, of the database's
   * backends serving this database, and (watched) of the subscribers' process; the database's
   * transactions per write (each statement outside a transaction is one; a write is one), which
   * would grow with the subscribers if anything were read per stream; and how busy the whole
   * machine was (1 = every core), which the other tenants of a shared machine weigh on.
   */
  perWrite: {
    apiCpuMs: [alone: number, watched: number];
    databaseCpuMs?: [alone: number, watched: number];
    databaseTransactions?: [alone: number, watched: number];
    subscribersCpuMs: number;
    machineBusy: [alone: number, watched: number];
  };
  /** Events that never arrived at some subscriber (should be 0). */
  missed: number;
  /** The API's resident memory grown by opening the streams, per stream, kB (RSS after a settle: includes freed heap not yet returned). */
  memoryPerSubscriptionKb: number;
  /**
   * The API's V8 heap in use grown by opening the streams, per stream, kB: heapUsed after a full
   * collection (--expose-gc) with the streams open and all ready, less the same just before they
   * were opened, divided by their number. Undefined when the API was started without the probe.
   */
  heapPerSubscriptionKb?: number;
}

/** What the database spent, when it is PostgreSQL on this machine: its backends' CPU, and its transactions. */
export interface DatabaseProbe {
  backendPids(): Promise<number[]>;
  transactions(): Promise<number>;
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
    pid: child.pid,
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
export async function measureLive(
  api: RunningProcess,
  token: string,
  projectId: number,
  options: { subscribers: number; seconds: number; database?: DatabaseProbe | undefined },
): Promise<LiveFigures> {
  const half = options.seconds / 2;
  const subscribers = await startSubscribers(api, token, projectId, options.subscribers);
  const { database } = options;
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    const alone: Awaited<ReturnType<typeof writeFor>> = [];
    const watched: Awaited<ReturnType<typeof writeFor>> = [];
    const spent = () => ({ api: 0, database: 0, transactions: 0, subscribers: 0, machineBusy: 0, machineTotal: 0 });
    const spentAlone = spent();
    const spentWatched = spent();
    const round = async (into: typeof alone, prefix: string, totals: ReturnType<typeof spent>) => {
      // The database's statistics reach pg_stat_database within a second of a backend going idle.
      const transactionsAtStart = await database?.transactions();
      const pids = (await database?.backendPids()) ?? [];
      const databaseAtStart = cpuSecondsOf(pids);
      const subscribersAtStart = cpuSecondsOf(subscribers.pid ? [subscribers.pid] : []);
      const apiAtStart = api.cpuSeconds();
      const machineAtStart = machineCpuSeconds();
      into.push(...(await writeFor(api, token, projectId, half, prefix)));
      totals.api += api.cpuSeconds() - apiAtStart;
      const machine = machineCpuSeconds();
      totals.machineBusy += machine.busy - machineAtStart.busy;
      totals.machineTotal += machine.total - machineAtStart.total;
      for (const [pid, seconds] of cpuSecondsOf(subscribers.pid ? [subscribers.pid] : []))
        totals.subscribers += seconds - (subscribersAtStart.get(pid) ?? seconds);
      // Backends opened during the round count whole; one that ended during it is lost (rare: the pool keeps them 30 s).
      const pidsAfter = new Set([...pids, ...((await database?.backendPids()) ?? [])]);
      for (const [pid, seconds] of cpuSecondsOf(pidsAfter)) if (seconds > 0) totals.database += seconds - (databaseAtStart.get(pid) ?? 0);
      if (transactionsAtStart !== undefined && database) {
        await settle(1_500);
        totals.transactions += (await database.transactions()) - transactionsAtStart;
      }
    };
    await round(alone, 'alone-1', spentAlone);
    await settle(1_000);
    const rssBefore = api.rssMb();
    const heapBefore = await api.heapUsedAfterGc?.();
    await subscribers.open();
    await settle(2_000);
    const rssOpen = api.rssMb();
    const heapOpen = await api.heapUsedAfterGc?.();
    await round(watched, 'watched-1', spentWatched);
    await round(watched, 'watched-2', spentWatched);
    await settle(2_000);
    await subscribers.close();
    await settle(1_000);
    await round(alone, 'alone-2', spentAlone);
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
    const perWrite = (seconds: number, writes: number) => Math.round((seconds * 1000 * 100) / Math.max(1, writes)) / 100;
    const figures: LiveFigures = {
      subscribers: options.subscribers,
      writesPerSecondAlone: Math.round(alone.length / options.seconds),
      writesPerSecondWatched: Math.round(watched.length / options.seconds),
      writeP95MsAlone: p95(alone.map((write) => write.end - write.start)),
      writeP95Ms: p95(watched.map((write) => write.end - write.start)),
      receiptP95Ms: p95(delays),
      apiCpuPerSecondAlone: Math.round((spentAlone.api / options.seconds) * 100) / 100,
      apiCpuPerSecondWatched: Math.round((spentWatched.api / options.seconds) * 100) / 100,
      subscribersCpuSeconds: Math.round(cpuSeconds * 100) / 100,
      missed,
      memoryPerSubscriptionKb: Math.round(((rssOpen - rssBefore) * 1024) / options.subscribers),
      perWrite: {
        apiCpuMs: [perWrite(spentAlone.api, alone.length), perWrite(spentWatched.api, watched.length)],
        subscribersCpuMs: perWrite(spentWatched.subscribers, watched.length),
        machineBusy: [
          Math.round((spentAlone.machineBusy / Math.max(0.01, spentAlone.machineTotal)) * 100) / 100,
          Math.round((spentWatched.machineBusy / Math.max(0.01, spentWatched.machineTotal)) * 100) / 100,
        ],
      },
    };
    if (database) {
      figures.perWrite.databaseCpuMs = [perWrite(spentAlone.database, alone.length), perWrite(spentWatched.database, watched.length)];
      figures.perWrite.databaseTransactions = [
        Math.round((spentAlone.transactions / Math.max(1, alone.length)) * 100) / 100,
        Math.round((spentWatched.transactions / Math.max(1, watched.length)) * 100) / 100,
      ];
    }
    if (heapBefore !== undefined && heapOpen !== undefined)
      figures.heapPerSubscriptionKb = Math.round(((heapOpen - heapBefore) / 1024 / options.subscribers) * 10) / 10;
    return figures;
  } finally {
    subscribers.stop();
  }
}
