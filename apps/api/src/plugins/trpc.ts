import type { AnyTRPCRouter } from '@trpc/server';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { HTTPErrorHandler, ResponseMetaFn } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface TrpcStockOptions<TRouter extends AnyTRPCRouter, TContext> {
  router: TRouter;
  createContext: (request: FastifyRequest, reply: FastifyReply) => TContext | Promise<TContext>;
  onError: HTTPErrorHandler<TRouter, FastifyRequest>;
  responseMeta: ResponseMetaFn<TRouter>;
  maxBatchSize: number;
}

/** The procedures a tRPC path names: one, or a batch's comma-separated list. */
function callsIn(path: string): number {
  let calls = 1;
  for (let at = path.indexOf(','); at !== -1; at = path.indexOf(',', at + 1)) calls++;
  return calls;
}

/**
 * What a request to `/:path` spends of the global rate limit: a batch names its calls in the
 * path, and one over the largest batch size is refused whole, costing as much as the largest.
 */
export const procedureCallsOf = (maxBatchSize: number) => (request: FastifyRequest) =>
  Math.min(callsIn((request.params as { path: string }).path), maxBatchSize);

/**
 * tRPC over Fastify as `fastifyTRPCPlugin` serves it (its JSON parser, its request handler), with
 * FAST_PATHS off. Registered by hand to give the route the `procedureCalls` the rate limiter
 * counts, which the plugin's own route has no option for, and without the plugin's multipart
 * parser: no procedure here takes FormData, and tRPC reading a body that claims to be multipart
 * and is not answers 500. Fastify refuses it 415 instead, as the fast adapter does.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugin contract: it signals completion by resolving
export async function trpcStockRoutes<TRouter extends AnyTRPCRouter, TContext>(app: FastifyInstance, options: TrpcStockOptions<TRouter, TContext>) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });
  app.all('/:path', { config: { procedureCalls: procedureCallsOf(options.maxBatchSize) } }, async (request, reply) => {
    await fastifyRequestHandler({
      router: options.router,
      createContext: async ({ req, res }: { req: FastifyRequest; res: FastifyReply }) => options.createContext(req, res),
      onError: options.onError,
      responseMeta: options.responseMeta,
      maxBatchSize: options.maxBatchSize,
      req: request,
      res: reply,
      path: (request.params as { path: string }).path,
    });
  });
}
