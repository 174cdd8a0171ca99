import type { FastifyInstance } from 'fastify';

// `/auth` is the old service's (legacy routes): never the app's page, even with those routes off.
// `/metrics` likewise when it is not served here (no METRICS_TOKEN, or on METRICS_PORT): a
// scraper pointed at it must see a 404, not the app's page with 200.
const API_PREFIXES = ['/api', '/trpc', '/auth', '/docs', '/openapi.json', '/healthz', '/readyz', '/.well-known', '/metrics'];

/**
 * Serves the built console at `/`, same origin as the API, precompressed. Hashed assets are cached for a year;
 * `index.html` is revalidated so a deploy is seen at once. Unknown non-API paths get the app
 * (client-side routes); unknown API paths get the app's 404 (its not-found handler).
 */
export async function consoleRoutes(app: FastifyInstance, options: { root: string }) {
  // Loaded only when there is a console to serve (an API-only deployment never needs it).
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // The build writes a brotli and a gzip copy beside each asset (compressed once, at the
    // highest levels, never per request); the one the browser accepts is sent, with
    // `Vary: Accept-Encoding`, and the file itself to anyone else.
    preCompressed: true,
    setHeaders(reply, filePath) {
      reply.header('cache-control', filePath.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.get('/*', (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)) || /\.[a-z0-9]+$/i.test(path)) {
      reply.callNotFound();
      return;
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
}
