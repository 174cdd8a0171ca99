/**
 * The subscribers of the `live` scenario, run by `live.ts` as a process of their own, told what to
 * do one line at a time on stdin: `open` opens LIVE_COUNT streams of LIVE_PROJECT's changes and
 * prints `ready` once each has said so; `close` ends them and prints `closed`; `report` prints, as
 * one JSON line, when each task title first reached each stream and this process's CPU seconds,
 * and exits. Prints `started` when it is ready for commands.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';

const url = process.env.LIVE_URL as string;
const token = process.env.LIVE_TOKEN as string;
const projectId = Number(process.env.LIVE_PROJECT);
const count = Number(process.env.LIVE_COUNT);
const now = () => performance.timeOrigin + performance.now();
let controller = new AbortController();

/**
 * One stream over node:http, read as text as it arrives: a browser or `eventsource` client does
 * this work on its own machine, and fetch's web streams here would cost this shared machine several
 * times as much CPU as the server spends sending, weighing on the very writes being measured.
 */
function openStream(received: Record<string, number>, signal: AbortSignal): Promise<void> {
  const input = encodeURIComponent(JSON.stringify({ projectId }));
  return new Promise<void>((ready, fail) => {
    const request = http.get(
      `${url}/trpc/live.project?input=${input}`,
      { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false, signal },
      (response) => {
        response.setEncoding('utf8');
        let buffered = '';
        response.on('data', (chunk: string) => {
          const at = now();
          buffered += chunk;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const event = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            if (event.includes('"type":"ready"')) ready();
            const title = /"title":"([^"]+)"/.exec(event)?.[1];
            if (title && received[title] === undefined) received[title] = at;
          }
        });
        response.on('error', () => {});
      },
    );
    request.on('error', (error) => {
      if (!signal.aborted) fail(error);
    });
  });
}

const receipts = Array.from({ length: count }, () => ({}));
process.stdout.write('started\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'open') {
    controller = new AbortController();
    await Promise.all(receipts.map((received) => openStream(received, controller.signal)));
    process.stdout.write('ready\n');
  } else if (line === 'close') {
    controller.abort();
    process.stdout.write('closed\n');
  } else if (line === 'report') {
    break;
  }
}
controller.abort();
const { user, system } = process.cpuUsage();
// A pipe is written asynchronously: exiting before the write is flushed would cut the report short.
process.stdout.write(`${JSON.stringify({ receipts, cpuSeconds: (user + system) / 1e6 })}\n`, () => process.exit(0));
