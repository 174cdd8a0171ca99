import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { AppConfig } from '../env';

/** Routes whose answers carry tokens or personal data: never stored, whatever else was set. */
const PRIVATE_ROUTE_PREFIXES = ['/api/', '/trpc/'];

/**
 * The headers helmet sets for these options. They do not depend on the request, so helmet runs
 * once at start-up and every response gets the same list (the Fastify wrapper would rebuild
 * helmet's middleware, and re-parse the policy, on every request).
 */
export function securityHeaders(options: HelmetOptions): [string, string][] {
  const headers = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: string) => void headers.set(name.toLowerCase(), value),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
  };
  helmet(options)({} as never, response as never, () => {});
  return [...headers];
}

/**
 * Helmet's defaults with a strict Content-Security-Policy (no inline script anywhere), CORS
 * closed unless origins are listed, cookies, and the OAuth2 form body parser that the REST login
 * needs.
 */
export const securityPlugin = fp(
  async (app: FastifyInstance, options: { config: AppConfig }) => {
    const headers = securityHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          upgradeInsecureRequests: options.config.env === 'production' ? [] : null,
        },
      },
      // HSTS only makes sense when TLS terminates in front of us, which production deployments do.
      strictTransportSecurity: options.config.env === 'production',
      frameguard: { action: 'deny' },
    });
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of headers) reply.header(name, value);
      done();
    });

    // Without allowed origins CORS stays closed by simply not answering it: no Access-Control-*
    // header is ever sent, so browsers refuse cross-origin reads, and no hook runs per request.
    if (options.config.server.corsOrigins.length > 0) {
      await app.register(cors, {
        origin: options.config.server.corsOrigins,
        credentials: true,
        methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
        allowedHeaders: ['authorization', 'content-type', 'if-match', 'x-csrf-token', 'x-request-id', 'trpc-accept'],
        exposedHeaders: ['etag', 'location', 'retry-after', 'www-authenticate', 'x-request-id'],
        maxAge: 600,
      });
    }
    // Parsed on demand (only the refresh call reads cookies), not on every request.
    await app.register(cookie, { hook: false });
    await app.register(formbody, { bodyLimit: 16_384 });

    // Decided by the route that matched, not by the path as sent: the router decodes it, so
    // `/%74rpc/auth.login` reaches tRPC too. Anything that did not choose its own caching (the
    // console's files, the JWKS, the OpenAPI document do) is not stored either.
    app.addHook('onSend', (request, reply, payload, done) => {
      const route = request.routeOptions.url;
      const isPrivate = route !== undefined && PRIVATE_ROUTE_PREFIXES.some((prefix) => route.startsWith(prefix));
      if (isPrivate || !reply.hasHeader('cache-control')) {
        reply.header('cache-control', 'no-store');
        reply.header('pragma', 'no-cache');
      }
      done(null, payload);
    });
  },
  { name: 'security' },
);
