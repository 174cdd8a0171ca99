/**
 * The `live` scenario: open subscriptions (server-sent event streams of a project's changes)
 * while tasks are created in that project, measured against the same writes with none open.
 */
import type { RunningProcess } from './processes';

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
        const start = performance.now();
        const response = await fetch(`${api.url}/trpc/tasks.create`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ projectId, title }),
        });
        await response.text();
        if (!response.ok) throw new Error(`tasks.create: ${response.status}`);
        writes.push({ title, start, end: performance.now() });
      }
    }),
  );
  return writes;
}

/** One stream read as text, noting when each task title first arrives. */
function openStream(api: RunningProcess, token: string, projectId: number, signal: AbortSignal, received: Map<string, number>) {
  const input = encodeURIComponent(JSON.stringify({ projectId }));
  return new Promise<void>((ready, fail) => {
    void (async () => {
      const response = await fetch(`${api.url}/trpc/live.project?input=${input}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
      const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      let started = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const now = performance.now();
        buffered += value;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (!started && event.includes('"type":"ready"')) {
            started = true;
            ready();
          }
          const title = /"title":"([^"]+)"/.exec(event)?.[1];
          if (title && !received.has(title)) received.set(title, now);
        }
      }
    })().catch((error: unknown) => {
      if (!signal.aborted) fail(error);
    });
  });
}

export async function measureLive(api: RunningProcess, token: string, projectId: number, options: { subscribers: number; seconds: number }): Promise<LiveFigures> {
  const alone = await writeFor(api, token, projectId, options.seconds, 'alone');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const rssBefore = api.rssMb();
  const controller = new AbortController();
  const receipts = Array.from({ length: options.subscribers }, () => new Map<string, number>());
  try {
    await Promise.all(receipts.map((received) => openStream(api, token, projectId, controller.signal, received)));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rssOpen = api.rssMb();
    const watched = await writeFor(api, token, projectId, options.seconds, 'watched');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const delays: number[] = [];
    let missed = 0;
    for (const write of watched) {
      for (const received of receipts) {
        const at = received.get(write.title);
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
      missed,
      memoryPerSubscriptionKb: Math.round(((rssOpen - rssBefore) * 1024) / options.subscribers),
    };
  } finally {
    controller.abort();
  }
}
