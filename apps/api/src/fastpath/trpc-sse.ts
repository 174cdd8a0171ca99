/*
 * Fast path: tRPC's `sseStreamProducer` (subscriptions over server-sent events). Held to it byte for
 * byte by test/trpc-sse.test.ts; the `stock` Vitest project (FAST_PATHS=false) runs tRPC's own.
 */
import { Readable } from 'node:stream';
import { type AnyTRPCProcedure, type AnyTRPCRouter, getTRPCErrorFromUnknown, getTRPCErrorShape, isTrackedEnvelope, TRPCError } from '@trpc/server';
import type { HTTPErrorHandler, ResponseMetaFn } from '@trpc/server/http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * tRPC subscriptions over server-sent events, written as tRPC's own `sseStreamProducer` writes
 * them (the same frames, headers, ping, resume id and endings: `trpc-sse.test.ts` holds the two
 * byte for byte), without its pipeline of web streams per stream. With a few hundred streams open
 * that pipeline, run for every stream on every event, cost more than the write that caused the
 * event (bench `live`, --cpu-prof). `referenceSubscriptions` in `buildApp` turns this off.
 *
 * A frozen value is serialized once however many streams send it: live changes are handed to every
 * stream of an instance as one object, so one event is one `JSON.stringify`, not one per stream.
 * Sent under one id, it is framed and encoded once too, and every stream writes the same bytes.
 *
 * Frames produced together go out together: the live hub hands a stream the events of one read of
 * the log at once, and the generator yields them one by one in the microtasks that follow. Each
 * frame as its own write was a chunk of its own on the wire (chunked encoding), with its own pass
 * through the response's and the socket's machinery, and its own `data` event for the client to
 * take; they are gathered until the microtasks have drained and sent as one write. The bytes a
 * client reads are the same; only where the chunks break differs, which server-sent events ignore.
 */

interface SseConfig {
  ping?: { enabled: boolean; intervalMs?: number };
  client?: object;
  maxDurationMs?: number;
  emitAndEndImmediately?: boolean;
  enabled?: boolean;
}

export interface SubscriptionCall {
  procedure: AnyTRPCProcedure;
  search: URLSearchParams;
}

export interface SubscriptionOptions<TRouter extends AnyTRPCRouter, TContext> {
  router: TRouter;
  createContext: (request: FastifyRequest, reply: FastifyReply) => TContext | Promise<TContext>;
  onError: HTTPErrorHandler<TRouter, FastifyRequest>;
  responseMeta: ResponseMetaFn<TRouter>;
}

/** The headers tRPC gives a stream (`sseHeaders`, and the `vary` of every answer). */
const STREAM_HEADERS = {
  vary: 'trpc-accept, accept',
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

const serializedOnce = new WeakMap<object, string>();
/** A frozen value's frame under the id it was last sent with, as bytes. */
const framedOnce = new WeakMap<object, { id: string; bytes: Buffer }>();

/** Whether this path serves `config`'s streams: options it does not implement leave them to tRPC. */
export function servesStreamsOf(config: { sse?: SseConfig | undefined }): boolean {
  const sse = config.sse;
  return sse?.enabled !== false && !sse?.maxDurationMs && !sse?.emitAndEndImmediately;
}

function frame(data: string, id?: string, event?: string): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n${id === undefined ? '' : `id: ${id}\n`}\n\n`;
}

const isAbortError = (error: unknown) => error instanceof Error && error.name === 'AbortError';

/**
 * Answers one subscription: its input as tRPC reads it (the resume id of `Last-Event-Id` or the
 * query merged in), the procedure called once, then each value it yields as one frame. A refusal
 * before the first value is a `serialized-error` frame on a 200 stream, as tRPC sends it.
 */
export async function answerSubscription<TRouter extends AnyTRPCRouter, TContext>(
  options: SubscriptionOptions<TRouter, TContext>,
  { procedure, search }: SubscriptionCall,
  request: FastifyRequest<{ Params: { path: string } }>,
  reply: FastifyReply,
  signal: AbortSignal,
) {
  const config = options.router._def._config as {
    transformer: { input: { deserialize(v: unknown): unknown }; output: { serialize(v: unknown): unknown } };
    sse?: SseConfig;
  };
  const path = request.params.path;
  const serialize = (value: unknown) => JSON.stringify(config.transformer.output.serialize(value));
  const lastEventIdSent = request.headers['last-event-id'];
  const lastEventIdAsked =
    (Array.isArray(lastEventIdSent) ? lastEventIdSent.join(', ') : lastEventIdSent) ?? search.get('lastEventId') ?? search.get('Last-Event-Id');
  let input: unknown;
  const getRawInput = () =>
    new Promise<unknown>((resolve) => {
      resolve(readInput());
    });
  const readInput = () => {
    const text = search.get('input');
    let raw: unknown;
    try {
      raw = text ? JSON.parse(text) : undefined;
    } catch (cause) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause });
    }
    input = raw === undefined ? undefined : config.transformer.input.deserialize(raw);
    if (lastEventIdAsked) {
      if (input !== null && typeof input === 'object' && !Array.isArray(input)) input = { ...input, lastEventId: lastEventIdAsked };
      else input ??= { lastEventId: lastEventIdAsked };
    }
    return input;
  };

  let ctx: TContext | undefined;
  let values: AsyncIterable<unknown> | undefined;
  let failure: TRPCError | undefined;
  try {
    ctx = await options.createContext(request, reply);
    const data: unknown = await procedure({ path, getRawInput, ctx, type: 'subscription', signal, batchIndex: 0 });
    if (data === null || typeof data !== 'object' || !(Symbol.asyncIterator in data)) {
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Subscription ${path} did not return an observable or a AsyncGenerator` });
    }
    values = data as AsyncIterable<unknown>;
  } catch (cause) {
    failure = getTRPCErrorFromUnknown(cause);
  }

  const meta = options.responseMeta({ ctx, paths: [path], type: 'subscription', data: [], errors: [], eagerGeneration: true } as never);
  reply.code(meta.status ?? 200);
  reply.headers(STREAM_HEADERS);
  const headers = meta.headers instanceof Headers ? [...meta.headers.entries()] : Object.entries(meta.headers ?? {});
  for (const [name, value] of headers) if (value !== undefined) reply.header(name, value);

  const ping = config.sse?.ping?.enabled ? (config.sse.ping.intervalMs ?? 1_000) : 0;
  // Resolved when the response wants more after the body's buffer filled up.
  let wanted: (() => void) | undefined;
  const body = new Readable({
    read() {
      wanted?.();
      wanted = undefined;
    },
  });
  // A ping after `ping` ms without a frame, as tRPC's `withPing` sends one: its timer starts
  // again with each write rather than each frame, which comes to the same within a tick.
  let pinger: NodeJS.Timeout | undefined;
  // Frames waiting for the microtasks that produce them to drain (see above).
  let pending: (Buffer | string)[] = [];
  const flush = () => {
    if (pending.length === 0 || body.destroyed) return;
    const chunk =
      pending.length === 1 ? (pending[0] as Buffer | string) : Buffer.concat(pending.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
    pending = [];
    body.push(chunk);
    pinger?.refresh();
  };
  const send = (part: Buffer | string) => {
    if (pending.length === 0) process.nextTick(flush);
    pending.push(part);
  };
  const end = () => {
    flush();
    body.push(null);
  };
  send(frame(JSON.stringify(config.sse?.client ?? {}), undefined, 'connected'));
  void reply.send(body);

  const fail = (error: TRPCError) => {
    options.onError({ error, path, input, ctx, type: 'subscription', req: request } as never);
    send(
      frame(
        serialize(getTRPCErrorShape({ config: options.router._def._config, ctx, error, input, path, type: 'subscription' })),
        undefined,
        'serialized-error',
      ),
    );
  };
  if (failure || !values) {
    fail(failure ?? new TRPCError({ code: 'INTERNAL_SERVER_ERROR' }));
    end();
    return reply;
  }

  if (ping > 0 && ping !== Infinity) pinger = setTimeout(() => send(frame('', undefined, 'ping')), ping);
  // The id the client's EventSource holds, which it sends back when it reconnects.
  let lastEventId = lastEventIdAsked && !/[\0\n\r]/.test(lastEventIdAsked) ? lastEventIdAsked : null;
  // A client that stops reading is waited for before the next value is taken; the stream's own
  // bounded buffer (the live hub's) decides when it has fallen too far behind.
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      wanted = done;
      signal.addEventListener('abort', done, { once: true });
    });
  const iterator = values[Symbol.asyncIterator]();
  void (async () => {
    try {
      for (;;) {
        if (body.readableLength >= body.readableHighWaterMark) await drained();
        const next = await iterator.next();
        if (next.done || signal.aborted) break;
        const value = next.value;
        const tracked = isTrackedEnvelope(value);
        const data: unknown = tracked ? value[1] : value;
        const frozen = typeof data === 'object' && data !== null && Object.isFrozen(data);
        const shared = tracked && frozen ? framedOnce.get(data) : undefined;
        if (tracked && shared?.id === value[0]) {
          lastEventId = value[0];
          send(shared.bytes);
          continue;
        }
        let json = frozen ? serializedOnce.get(data) : undefined;
        if (json === undefined) {
          json = serialize(data);
          if (frozen) serializedOnce.set(data, json);
        }
        if (tracked) {
          lastEventId = value[0];
          const bytes = Buffer.from(frame(json, value[0]));
          if (frozen) framedOnce.set(data, { id: value[0], bytes });
          send(bytes);
        } else if (lastEventId === null) {
          send(frame(json));
        } else {
          // An event without an id takes the last id received in an EventSource: cleared here,
          // then set back by an event clients do not listen to, so a reconnect still resumes from it.
          send(frame(json, ''));
          send(frame('', lastEventId, 'restore-id'));
        }
      }
      if (!signal.aborted) send(frame('', undefined, 'return'));
    } catch (cause) {
      if (!isAbortError(cause) && !signal.aborted) fail(getTRPCErrorFromUnknown(cause));
    } finally {
      clearTimeout(pinger);
      if (!signal.aborted) end();
      else body.destroy();
      await iterator.return?.();
    }
  })();
  return reply;
}
