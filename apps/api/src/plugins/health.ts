import type { FastifyInstance } from 'fastify';
import type { Services } from '../services';

/**
 * Liveness (the process answers) and readiness (its database answers), outside /api. Redis is
 * reported but does not decide readiness: without it every instance counts limits in its own
 * memory (`degraded`), which is better than the whole fleet leaving the load balancer at once.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugin contract: it signals completion by resolving
export async function healthRoutes(app: FastifyInstance, options: { services: Services }) {
  const { services } = options;
  app.get('/healthz', { logLevel: 'warn' }, () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const [database, redis] = await Promise.all([
      services.database.ping(1_000),
      services.redis
        ? services.redis
            .ping()
            .then(() => true)
            .catch(() => false)
        : Promise.resolve(undefined),
    ]);
    const degraded = redis === false || services.sharedCounters?.degraded === true;
    reply.header('cache-control', 'no-store');
    return reply.code(database ? 200 : 503).send({
      status: database ? (degraded ? 'degraded' : 'ready') : 'unavailable',
      checks: { database: database ? 'up' : 'down', ...(redis === undefined ? {} : { redis: redis ? 'up' : 'down' }) },
    });
  });
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Verifiers may cache the set briefly: jose's remote JWK Set fetches again when it meets a new `kid`.
    reply.header('cache-control', 'public, max-age=60');
    return services.keyring.jwks();
  });
}
