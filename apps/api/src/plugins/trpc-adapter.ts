import { type AnyTRPCRouter, TRPCError } from '@trpc/server';
import { type HTTPErrorHandler, resolveResponse, type ResponseMetaFn } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface TrpcRoutesOptions<TRouter extends AnyTRPCRouter, TContext> {
  router: TRouter;
  createContext: (request: FastifyRequest, reply: FastifyReply) => TContext | Promise<TContext>;
  onError: HTTPErrorHandler<TRouter, FastifyRequest>;
  responseMeta: ResponseMetaFn<TRouter>;
  maxBatchSize: number;
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
 */
export async function trpcRoutes<TRouter extends AnyTRPCRouter, TContext>(
  app: FastifyInstance,
  options: TrpcRoutesOptions<TRouter, TContext>,
) {
  // Bodies stay text: tRPC parses them itself (a batch arrives as one object keyed by index).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.all<{ Params: { path: string } }>('/:path', async (request, reply) => {
    const aborted = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableEnded) aborted.abort();
    });
    const body = request.body;
    const req = {
      method: request.method,
      url: FIXED_ORIGIN + (request.url.startsWith('/') ? request.url : `/${request.url}`),
      headers: headerView(request.headers),
      signal: aborted.signal,
      json: async () => {
        try {
          return JSON.parse(typeof body === 'string' ? body : '');
        } catch (cause) {
          throw new TRPCError({ code: 'PARSE_ERROR', message: 'The body is not valid JSON', cause });
        }
      },
    } as unknown as Request;
    const response = await resolveResponse<TRouter>({
      router: options.router,
      req,
      path: request.params.path,
      error: null,
      maxBatchSize: options.maxBatchSize,
      responseMeta: options.responseMeta,
      createContext: async () => options.createContext(request, reply) as never,
      onError: (opts) => options.onError({ ...opts, req: request }),
    });
    reply.code(response.status);
    response.headers.forEach((value, name) => {
      reply.header(name, value);
    });
    const type = response.headers.get('content-type') ?? '';
    // Streamed answers (JSON lines, server-sent events) go out as they come; the rest at once.
    if (response.body && (type.includes('jsonl') || type.includes('event-stream'))) return reply.send(response.body);
    return reply.send(response.body ? await response.text() : undefined);
  });
}
