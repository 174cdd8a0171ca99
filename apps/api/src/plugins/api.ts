import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type AnyTRPCRouter, TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fastifyTRPCOpenApiPlugin } from 'trpc-to-openapi';
import { type Context, createContext } from '../context';
import { DomainError } from '../errors';
import { jsonNestsDeeperThan } from '../json-depth';
import { buildOpenApiDocument } from '../openapi';
import type { ProcedureMeta } from '../trpc';
import { restBridge } from './rest-bridge';
import { trpcRoutes } from './trpc-adapter';
import type { Services } from '../services';

const MAX_BATCH_SIZE = 20;

/** No input nests deeper than a few levels; far deeper JSON is refused before it is parsed. */
const MAX_JSON_DEPTH = 32;

/** Procedures whose REST form also takes the OAuth2 form encoding. */
const FORM_PATHS = new Set(['/api/auth/login', '/api/auth/refresh']);

interface MetaInput {
  ctx?: Context | undefined;
  errors: TRPCError[];
  paths?: readonly string[] | undefined;
}

/**
 * RFC 6750 §3: a 401 names the Bearer scheme, and says `invalid_token` when a token was sent.
 * 429 and 503 say when to come back.
 */
function errorHeaders({ ctx, errors }: MetaInput): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const error of errors) {
    if (error.code === 'UNAUTHORIZED') {
      const sentToken = ctx?.accessToken || ctx?.malformedAuthorization;
      headers['www-authenticate'] = sentToken
        ? 'Bearer realm="stm", error="invalid_token", error_description="The access token is invalid, expired or revoked"'
        : 'Bearer realm="stm"';
    }
    const cause = error.cause;
    if (cause instanceof DomainError && cause.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(cause.retryAfterSeconds);
    }
  }
  return headers;
}

/** tRPC at /trpc, the REST bridge at /api, the OpenAPI document and Swagger UI, all from one router. */
export async function apiRoutes(
  app: FastifyInstance,
  options: {
    services: Services;
    router: AnyTRPCRouter;
    version: string;
    /** Serve REST through trpc-to-openapi's own Fastify adapter: the reference our bridge is tested against. */
    referenceRestBridge?: boolean;
  },
) {
  const { services, router } = options;
  const onError = ({ error, path, req }: { error: TRPCError; path?: string | undefined; req: unknown }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      const log = (req as FastifyRequest).log ?? services.log;
      log.error({ err: error.cause ?? error, path }, 'procedure failed');
    }
  };

  await app.register(trpcRoutes, {
    prefix: '/trpc',
    router,
    createContext: (req: FastifyRequest, res: FastifyReply) => createContext(services, req, res),
    onError,
    responseMeta: (meta: MetaInput) => ({ headers: errorHeaders(meta) }),
    maxBatchSize: MAX_BATCH_SIZE,
  } as never);

  await app.register(async (rest) => {
    // Fastify's own JSON parser (prototype poisoning refused), behind a depth limit.
    const parseJson = rest.getDefaultJsonParser('error', 'error');
    rest.removeContentTypeParser('application/json');
    rest.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (jsonNestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
        done(Object.assign(new Error(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), { statusCode: 400 }), undefined);
        return;
      }
      parseJson(request, body as string, done);
    });
    // The bridge reads only JSON bodies; @fastify/formbody has already parsed the OAuth2 form into
    // an object, so the login and refresh routes present it as JSON.
    // A request without a body (e.g. `POST /api/auth/logout`) has nothing to declare, so it is
    // treated as JSON too rather than refused with 415 before it is even authenticated.
    rest.addHook('preHandler', async (request) => {
      const type = request.headers['content-type'];
      const isForm = type?.startsWith('application/x-www-form-urlencoded') && FORM_PATHS.has(request.requestPath);
      const isEmpty = type === undefined && (request.body === undefined || request.body === null);
      if (isForm || isEmpty) request.headers['content-type'] = 'application/json';
    });
    const procedures = router._def.procedures as Record<string, { _def: { meta?: ProcedureMeta } }>;
    const responseMeta = (meta: MetaInput) => {
      const headers = errorHeaders(meta);
      if (meta.errors.length > 0) return { headers };
      const status = meta.paths?.length === 1 ? procedures[meta.paths[0] as string]?._def.meta?.successStatus : undefined;
      return status ? { status, headers } : { headers };
    };
    if (options.referenceRestBridge) {
      await rest.register(fastifyTRPCOpenApiPlugin, {
        basePath: '/api',
        router,
        createContext: ({ req, res }: { req: FastifyRequest; res: FastifyReply }) => createContext(services, req, res),
        onError,
        responseMeta,
      } as never);
    } else {
      await rest.register(restBridge<Context>, {
        basePath: '/api',
        router,
        createContext: (request, reply) => createContext(services, request, reply),
        onError,
        responseMeta,
      });
    }
  });

  const document = buildOpenApiDocument(router, options.version);
  app.get('/openapi.json', async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return document;
  });
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: false, displayRequestDuration: true, tryItOutEnabled: true },
    staticCSP: true,
    // Swagger UI needs inline styles; its own pages get their own policy.
    transformStaticCSP: (header: string) => header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  });
}
