import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { answerOf, restErrorBody } from '../errors';
import type { Metrics } from '../metrics';

/**
 * Times every request into the metrics, by its route's pattern (never the path as sent, which
 * would give each id a series of its own), and serves them at `/metrics` to a scraper holding the
 * token. Without a token, `/metrics` is not a route here (see `startMetricsServer`).
 */
export const metricsPlugin = fp(
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugin contract: it signals completion by resolving
  async (app: FastifyInstance, options: { metrics: Metrics; token: string | undefined }) => {
    const { metrics, token } = options;
    app.addHook('onResponse', (request, reply, done) => {
      // The REST bridge answers every operation from one wildcard route: its operation's pattern instead.
      const route = request.restOperation?.route ?? request.routeOptions.url ?? 'unmatched';
      metrics.requestDone(request.method, route, reply.statusCode, reply.elapsedTime / 1_000);
      done();
    });
    if (token === undefined) return;
    const expected = Buffer.from(`Bearer ${token}`);
    app.get('/metrics', { logLevel: 'warn' }, async (request, reply) => {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        return reply.code(401).send(restErrorBody(answerOf(401, 'Send the metrics token: "Authorization: Bearer <METRICS_TOKEN>"')));
      }
      return exposition(metrics, reply);
    });
  },
  { name: 'metrics' },
);

async function exposition(metrics: Metrics, reply: FastifyReply) {
  reply.header('content-type', metrics.registry.contentType);
  reply.header('cache-control', 'no-store');
  return metrics.registry.metrics();
}

/**
 * The metrics on a listener of their own (`METRICS_PORT`, on `METRICS_HOST`, 127.0.0.1 unless
 * set), for a scraper on a private network: no token, and nothing else served there.
 */
export async function startMetricsServer(metrics: Metrics, listen: { host: string; port: number }): Promise<FastifyInstance> {
  const server = Fastify({ logger: false });
  server.get('/metrics', (_request: FastifyRequest, reply) => exposition(metrics, reply));
  await server.listen(listen);
  return server;
}
