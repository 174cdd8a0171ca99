/**
 * The subscribers of the `live` scenario, run by `live.ts` as a process of their own: opens
 * LIVE_COUNT streams of LIVE_PROJECT's changes, prints `ready`, notes when each task title first
 * reaches each stream, and prints those receipts as one JSON line when told `report`.
 */
import { createInterface } from 'node:readline';

const url = process.env.LIVE_URL as string;
const token = process.env.LIVE_TOKEN as string;
const projectId = Number(process.env.LIVE_PROJECT);
const count = Number(process.env.LIVE_COUNT);
const now = () => performance.timeOrigin + performance.now();
const controller = new AbortController();

function openStream(received: Record<string, number>): Promise<void> {
  const input = encodeURIComponent(JSON.stringify({ projectId }));
  return new Promise<void>((ready, fail) => {
    void (async () => {
      const response = await fetch(`${url}/trpc/live.project?input=${input}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const at = now();
        buffered += value;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (event.includes('"type":"ready"')) ready();
          const title = /"title":"([^"]+)"/.exec(event)?.[1];
          if (title && received[title] === undefined) received[title] = at;
        }
      }
    })().catch((error: unknown) => {
      if (!controller.signal.aborted) fail(error);
    });
  });
}

const receipts = Array.from({ length: count }, () => ({}) as Record<string, number>);
await Promise.all(receipts.map((received) => openStream(received)));
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'report') break;
}
controller.abort();
// A pipe is written asynchronously: exiting before the write is flushed would cut the report short.
process.stdout.write(`${JSON.stringify(receipts)}\n`, () => process.exit(0));
