/**
 * The subscribers of the `live` scenario, run by `live.ts` as a process of their own, told what to
 * do one line at a time on stdin: `open` opens LIVE_COUNT streams of LIVE_PROJECT's changes and
 * prints `ready` once each has said so; `close` ends them and prints `closed`; `report` prints, as
 * one JSON line, when each task title first reached each stream and this process's CPU seconds,
 * and exits. Prints `started` when it is ready for commands.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

const url = process.env.LIVE_URL as string;
const token = process.env.LIVE_TOKEN as string;
const projectId = Number(process.env.LIVE_PROJECT);
const count = Number(process.env.LIVE_COUNT);
const now = () => performance.timeOrigin + performance.now();
/** The open streams' sockets, ended by `close` (one list rather than a listener per stream on one signal). */
const sockets = new Set<net.Socket>();

/** What one stream's socket received, read by `receiptsOf` once the measurement is over. */
interface Received {
  at: number;
  bytes: Buffer;
}

/**
 * One stream on a socket of its own, its bytes kept as they arrive with their time and read only
 * when the report is asked for: a browser or `eventsource` client parses HTTP and server-sent
 * events on its own machine, and doing so here, on the machine the API and the database share,
 * weighed on the very writes being measured (node:http's parser and a `data` event per chunk cost
 * this process more than the API spent sending). Resolves once the stream has said it is ready.
 */
function openStream(chunks: Received[], open: Set<net.Socket>): Promise<void> {
  const target = new URL(`${url}/trpc/live.project?input=${encodeURIComponent(JSON.stringify({ projectId }))}`);
  return new Promise<void>((ready, fail) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port) });
    open.add(socket);
    socket.write(
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        `Authorization: Bearer ${token}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
    );
    let waiting = true;
    socket.on('data', (bytes: Buffer) => {
      chunks.push({ at: now(), bytes });
      if (waiting && bytes.includes('"type":"ready"')) {
        waiting = false;
        ready();
      }
    });
    socket.on('error', (error) => {
      if (waiting && open.has(socket)) fail(error);
    });
  });
}

/**
 * When each task title first reached one stream: its bytes undone of HTTP's chunked encoding
 * (a chunk may arrive in pieces, and a piece may hold several), split into events, each timed by
 * the arrival of the bytes that completed it.
 */
function receiptsOf(chunks: Received[]): Record<string, number> {
  const received: Record<string, number> = {};
  let raw = Buffer.alloc(0);
  let headersDone = false;
  let text = '';
  for (const { at, bytes } of chunks) {
    raw = Buffer.concat([raw, bytes]);
    if (!headersDone) {
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) continue;
      headersDone = true;
      raw = raw.subarray(end + 4);
    }
    for (;;) {
      const line = raw.indexOf('\r\n');
      if (line === -1) break;
      const size = parseInt(raw.subarray(0, line).toString('latin1'), 16);
      if (raw.length < line + 2 + size + 2) break;
      text += raw.subarray(line + 2, line + 2 + size).toString('utf8');
      raw = raw.subarray(line + 2 + size + 2);
    }
    let end: number;
    while ((end = text.indexOf('\n\n')) !== -1) {
      const title = /"title":"([^"]+)"/.exec(text.slice(0, end))?.[1];
      text = text.slice(end + 2);
      if (title && received[title] === undefined) received[title] = at;
    }
  }
  return received;
}

/** Ends every open stream; an error of a socket no longer in its set is not a failure. */
function closeAll() {
  const closing = [...sockets];
  sockets.clear();
  for (const socket of closing) socket.destroy();
}

const streams = Array.from({ length: count }, (): Received[] => []);
process.stdout.write('started\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'open') {
    await Promise.all(streams.map((chunks) => openStream(chunks, sockets)));
    process.stdout.write('ready\n');
  } else if (line === 'close') {
    closeAll();
    process.stdout.write('closed\n');
  } else if (line === 'report') {
    break;
  }
}
closeAll();
// The CPU of reading the streams, not of parsing them afterwards.
const { user, system } = process.cpuUsage();
const receipts = streams.map(receiptsOf);
// A pipe is written asynchronously: exiting before the write is flushed would cut the report short.
process.stdout.write(`${JSON.stringify({ receipts, cpuSeconds: (user + system) / 1e6 })}\n`, () => process.exit(0));
