/*
 * Fast path: tRPC's Fastify adapter (`fastifyTRPCPlugin`, stock in plugins/trpc.ts), built on
 * tRPC's own `resolveResponse` without its Fetch copies, and a single plain call answered without
 * `resolveResponse` at all. Held to tRPC by test/trpc-single-call.test.ts (single call against a
 * batch of one), and by the `stock` Vitest project (FAST_PATHS=false), which runs the suite on tRPC's.
 */
import { type AnyTRPCProcedure, type AnyTRPCRouter, getTRPCErrorFromUnknown, getTRPCErrorShape, TRPCError, transformTRPCResponse } from '@trpc/server';
import { getHTTPStatusCode, type HTTPErrorHandler, resolveResponse, type ResponseMetaFn } from '@trpc/server/http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { procedureCallsOf } from '../plugins/trpc';
import { answerSubscription, type SubscriptionCall, servesStreamsOf } from './trpc-sse';

export interface TrpcRoutesOptions<TRouter extends AnyTRPCRouter, TContext> {
  router: TRouter;
  createContext: (request: FastifyRequest, reply: FastifyReply) => TContext | Promise<TContext>;
  onError: HTTPErrorHandler<TRouter, FastifyRequest>;
  responseMeta: ResponseMetaFn<TRouter>;
  maxBatchSize: number;
  /** Subscriptions through tRPC's own stream producer: the reference `trpc-sse.ts` is tested against. */
  referenceSubscriptions?: boolean;
}

/**
 * tRPC reads only the path and the query string of the URL it is given. The client's Host header
 * plays no part, and must not: a malformed one (`Host: a b`, a port out of range, a forged
 * X-Forwarded-Host from a trusted proxy) would make tRPC's URL parse throw on every call.
 */
const FIXED_ORIGIN = 'http://localhost';

/** The header reads tRPC's request handling makes, answered from Fastify's parsed headers. */
function headerView(headers: FastifyRequest['headers']) {
  const get = (name: string): string | null => {
    const value = headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return { get, has: (name: string) => headers[name.toLowerCase()] !== undefined };
}

/**
 * tRPC over Fastify, built on tRPC's own `resolveResponse` (the piece its adapters share), which
 * does all of the protocol: routing, batching, streaming, errors. What this adapter leaves out is
 * the Fetch `Request` and `Headers` copies of every incoming request and the web-stream piping of
 * ordinary JSON answers: on a short authenticated call those copies cost more than the call.
 * A single plain call, nearly every request, skips `resolveResponse` too (`answerSingleCall`).
 */
// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugin contract: it signals completion by resolving
export async function trpcRoutes<TRouter extends AnyTRPCRouter, TContext>(app: FastifyInstance, options: TrpcRoutesOptions<TRouter, TContext>) {
  // Bodies stay text: tRPC parses them itself (a batch arrives as one object keyed by index).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  // A batch names its calls in the path, comma-separated; one over the largest batch size is
  // refused whole, and costs as much as the largest.
  const fastStreams = !options.referenceSubscriptions && servesStreamsOf(options.router._def._config);
  const procedureCalls = procedureCallsOf(options.maxBatchSize);
  app.all<{ Params: { path: string } }>('/:path', { config: { procedureCalls } }, async (request, reply) => {
    const aborted = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableEnded) aborted.abort();
    });
    const single = singleCall(options.router, request);
    if (single) return answerSingleCall(options, single, request, reply, aborted.signal);
    const subscription = fastStreams ? subscriptionCall(options.router, request) : undefined;
    if (subscription) return answerSubscription(options, subscription, request, reply, aborted.signal);
    const body = request.body;
    const req = {
      method: request.method,
      url: urlOf(request),
      headers: headerView(request.headers),
      signal: aborted.signal,
      // As a web Request's own: a body that is not JSON rejects with the parser's error, which
      // tRPC answers as it does through its own adapter.
      json: () =>
        new Promise((resolve) => {
          resolve(JSON.parse(typeof body === 'string' ? body : '') as unknown);
        }),
    } as unknown as Request;
    const response = await resolveResponse<TRouter>({
      router: options.router,
      req,
      path: request.params.path,
      error: null,
      maxBatchSize: options.maxBatchSize,
      responseMeta: options.responseMeta,
      createContext: async () => options.createContext(request, reply),
      onError: (opts) => options.onError({ ...opts, req: request }),
    });
    reply.code(response.status);
    response.headers.forEach((value, name) => {
      reply.header(name, value);
    });
    const type = response.headers.get('content-type') ?? '';
    // Streamed answers (JSON lines, server-sent events) go out as they come; the rest at once.
    if (response.body && type.includes('event-stream')) return reply.send(Readable.from(wholeEvents(response.body)));
    if (response.body && type.includes('jsonl')) return reply.send(response.body);
    return reply.send(response.body ? await response.text() : undefined);
  });
}

const JSON_BODY = /^application\/json/;

/**
 * tRPC's server-sent events arrive as one chunk per line of an event and its closing blank line;
 * written as they come, each event would be several writes to the socket, for every open stream.
 * Gathered up to each event's end, it is one.
 */
async function* wholeEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<Buffer> {
  let parts: Uint8Array[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    parts.push(chunk);
    const ends = chunk.length >= 2 && chunk[chunk.length - 1] === 10 && chunk[chunk.length - 2] === 10;
    if (ends) {
      yield Buffer.concat(parts);
      parts = [];
    }
  }
  if (parts.length > 0) yield Buffer.concat(parts);
}

/** The URL as `resolveResponse` is given it below. */
const urlOf = (request: FastifyRequest) => FIXED_ORIGIN + (request.url.startsWith('/') ? request.url : `/${request.url}`);

/** The query string read exactly as tRPC reads it (not by Fastify's parser), so both paths agree. */
function searchParamsOf(request: FastifyRequest): URLSearchParams {
  return new URL(urlOf(request)).searchParams;
}

interface SingleCall {
  procedure: AnyTRPCProcedure;
  search: URLSearchParams;
}

/**
 * The procedure of a request that is one plain call: a query by GET or a mutation by POST (with a
 * JSON body), not batched, not streamed, to a path that names a procedure as it is. Nearly every
 * request is one; anything else (batches, streaming, wrong methods, unknown paths) goes through
 * `resolveResponse`, which also gives every refusal its exact tRPC form.
 */
function singleCall(router: AnyTRPCRouter, request: FastifyRequest<{ Params: { path: string } }>): SingleCall | undefined {
  const { method, headers } = request;
  if (method !== 'GET' && method !== 'POST') return undefined;
  if (headers['trpc-accept'] !== undefined || headers.accept?.includes('application/jsonl')) return undefined;
  const type = headers['content-type'];
  if (method === 'GET' ? type !== undefined && !JSON_BODY.test(type) : type === undefined || !JSON_BODY.test(type)) return undefined;
  const named = namedProcedure(router, request);
  return named?.procedure._def.type === (method === 'GET' ? 'query' : 'mutation') ? named : undefined;
}

/**
 * The procedure an unbatched call names by its plain path, with the call's query string; nothing
 * for a batch, connection parameters, an encoded path or a path that names no procedure.
 */
function namedProcedure(
  router: AnyTRPCRouter,
  request: FastifyRequest<{ Params: { path: string } }>,
): { procedure: AnyTRPCProcedure; search: URLSearchParams } | undefined {
  let search: URLSearchParams;
  try {
    search = searchParamsOf(request);
  } catch {
    return undefined;
  }
  if (search.has('batch') || search.has('connectionParams')) return undefined;
  const { path } = request.params;
  if (path.includes('%')) return undefined;
  const procedures = router._def.procedures as Record<string, unknown>;
  const procedure = Object.hasOwn(procedures, path) ? (procedures[path] as AnyTRPCProcedure) : undefined;
  return procedure && typeof procedure === 'function' ? { procedure, search } : undefined;
}

/**
 * A subscription by GET (how `httpSubscriptionLink` opens one), to a path that names it as it is;
 * anything else goes through `resolveResponse`.
 */
function subscriptionCall(router: AnyTRPCRouter, request: FastifyRequest<{ Params: { path: string } }>): SubscriptionCall | undefined {
  if (request.method !== 'GET') return undefined;
  const named = namedProcedure(router, request);
  return named?.procedure._def.type === 'subscription' ? named : undefined;
}

/**
 * One plain call, answered as `resolveResponse` answers it (same input reading, envelope, status,
 * `responseMeta` and `onError`), without its Fetch `Request`/`Response`/`Headers` objects and
 * the abort signals it combines per call: on a short authenticated call those were a large
 * share of the server's CPU time (bench --cpu-prof).
 */
async function answerSingleCall<TRouter extends AnyTRPCRouter, TContext>(
  options: TrpcRoutesOptions<TRouter, TContext>,
  { procedure, search }: SingleCall,
  request: FastifyRequest<{ Params: { path: string } }>,
  reply: FastifyReply,
  signal: AbortSignal,
) {
  const { router } = options;
  const config = router._def._config;
  const path = request.params.path;
  const type = procedure._def.type as 'query' | 'mutation';
  let input: unknown;
  let reading: Promise<unknown> | undefined;
  // Read once however many input parsers ask, and unreadable input is a 400 with the parser's
  // message, both as tRPC's own reader does.
  const getRawInput = () =>
    (reading ??= new Promise((resolve) => {
      resolve(readInput());
    }).catch((cause: unknown) => {
      if (cause instanceof TRPCError) throw cause;
      throw new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause });
    }));
  const readInput = () => {
    let raw: unknown;
    if (request.method === 'GET') {
      const text = search.get('input');
      if (text) raw = JSON.parse(text);
    } else {
      const body = request.body;
      raw = JSON.parse(typeof body === 'string' ? body : '');
    }
    input = raw === undefined ? undefined : config.transformer.input.deserialize(raw);
    return input;
  };
  let ctx: TContext | undefined;
  let answer: { result: { data: unknown } } | { error: unknown };
  let error: TRPCError | undefined;
  try {
    ctx = await options.createContext(request, reply);
    // The procedure `singleCall` found and checked, called directly rather than through
    // `callTRPCProcedure`, which would look it up again and add `router` to the options that
    // every middleware level copies twice, key by key.
    const data: unknown = await procedure({ path, getRawInput, ctx, type, signal, batchIndex: 0 });
    answer = { result: { data } };
  } catch (cause) {
    error = getTRPCErrorFromUnknown(cause);
    options.onError({ error, path, input, ctx, type, req: request });
    answer = { error: getTRPCErrorShape({ config, ctx, error, input, path, type }) };
  }
  const meta = options.responseMeta({
    ctx,
    paths: [path],
    type,
    data: [answer],
    errors: error ? [error] : [],
    eagerGeneration: false,
  } as never);
  reply.code(meta.status ?? getHTTPStatusCode([answer] as never));
  reply.header('vary', 'trpc-accept, accept');
  reply.header('content-type', 'application/json');
  const headers = meta.headers instanceof Headers ? [...meta.headers.entries()] : Object.entries(meta.headers ?? {});
  for (const [name, value] of headers) if (value !== undefined) reply.header(name, value);
  return reply.send(JSON.stringify(transformTRPCResponse(config as never, answer as never)));
}
