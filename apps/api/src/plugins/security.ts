import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../env';

/** Paths whose answers carry tokens or personal data: never stored by a browser or proxy. */
const PRIVATE_PREFIXES = ['/api/', '/trpc/'];

/**
 * Helmet's defaults with a strict Content-Security-Policy (no inline script anywhere), CORS
 * closed unless origins are listed, cookies, and the OAuth2 form body parser that the REST login
 * needs.
 */
export const securityPlugin = fp(
  async (app: FastifyInstance, options: { config: AppConfig }) => {
    await app.register(helmet, {
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
    await app.register(cors, {
      origin: options.config.server.corsOrigins.length > 0 ? options.config.server.corsOrigins : false,
      credentials: true,
      methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-csrf-token', 'x-request-id', 'trpc-accept'],
      exposedHeaders: ['retry-after', 'www-authenticate', 'x-request-id'],
      maxAge: 600,
    });
    // Parsed on demand (only the refresh call reads cookies), not on every request.
    await app.register(cookie, { hook: false });
    await app.register(formbody, { bodyLimit: 16_384 });

    app.addHook('onSend', async (request, reply, payload) => {
      if (PRIVATE_PREFIXES.some((prefix) => request.requestPath.startsWith(prefix))) {
        reply.header('cache-control', 'no-store');
        reply.header('pragma', 'no-cache');
      }
      return payload;
    });
  },
  { name: 'security' },
);
