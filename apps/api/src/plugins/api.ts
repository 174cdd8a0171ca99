import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type AnyTRPCRouter, type TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { fastifyTRPCOpenApiPlugin, forEachOpenApiProcedure, getPathRegExp, normalizePath, type OpenApiProcedureRecord } from 'trpc-to-openapi';
import { type Context, createContext } from '../context';
import { answerOf, DomainError, restErrorBody } from '../errors';
import { jsonNestsDeeperThan } from '../json-depth';
import { buildOpenApiDocument } from '../openapi';
import { operationPathOf, resolvesElsewhere } from '../rest-paths';
import type { ProcedureMeta } from '../trpc';
import type { FastPaths } from '../fastpath/switch';
import { restBridge } from '../fastpath/rest-bridge';
import { trpcRoutes } from '../fastpath/trpc-adapter';
import { trpcStockRoutes } from './trpc';
import type { Services } from '../services';

const MAX_BATCH_SIZE = 20;

/** No input nests deeper than a few levels; far deeper JSON is refused before it is parsed. */
const MAX_JSON_DEPTH = 32;

const FORM_TYPE = 'application/x-www-form-urlencoded';

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The REST paths (under /api) of the procedures whose meta passes `test`. */
export function restPathsWhere(router: AnyTRPCRouter, test: (meta: ProcedureMeta) => boolean | undefined): Set<string> {
  const procedures = router._def.procedures as Record<string, { _def: { meta?: ProcedureMeta } }>;
  const paths = new Set<string>();
  for (const procedure of Object.values(procedures)) {
    const meta = procedure._def.meta;
    if (meta?.openapi && test(meta)) paths.add(`/api${meta.openapi.path}`);
  }
  return paths;
}

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

/** A task's version as an entity tag: strong, as a version names one exact state. */
function etagOf(version: number): string {
  return `"${version}"`;
}

/** `location` of the procedure's meta with the output's fields put in, under /api unless relative. */
function locationOf(template: string, output: Record<string, unknown>): string {
  const path = template.replace(/\{(\w+)\}/g, (_match, field: string) => encodeURIComponent(String(output[field])));
  return path.startsWith('/') ? `/api${path}` : path;
}

interface IfMatchOperation {
  method: string;
  pattern: RegExp;
}

function ifMatchOperationsOf(procedures: Record<string, { _def: { meta?: ProcedureMeta } }>): IfMatchOperation[] {
  return Object.values(procedures)
    .map((procedure) => procedure._def.meta)
    .filter((meta) => meta?.ifMatch && meta.openapi)
    .map((meta) => {
      const openapi = meta?.openapi as { method: string; path: string };
      return { method: openapi.method, pattern: new RegExp(`^/api${openapi.path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i') };
    });
}

const STRONG_ETAG = /^"(\d{1,10})"$/;

function preconditionFailed(message: string) {
  return Object.assign(new Error(message), { statusCode: 412 });
}

/**
 * `If-Match` as the operation's `expectedVersion`: the service compares it under the row's lock,
 * so the check and the change are one step. `*` asks only that the task exist; anything else but
 * one of our entity tags (a weak one, several) cannot match and fails at once.
 */
function takeIfMatch(request: FastifyRequest, operations: IfMatchOperation[]) {
  if (!operations.some((operation) => operation.method === request.method && operation.pattern.test(request.requestPath))) return;
  const header = String(request.headers['if-match']).trim();
  if (header === '*') return;
  const version = STRONG_ETAG.exec(header)?.[1];
  if (version === undefined) throw preconditionFailed('If-Match must be the ETag of the task as last read, e.g. "3"');
  const body = request.body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    if (fields.expectedVersion !== undefined && fields.expectedVersion !== Number(version)) {
      throw Object.assign(new Error('If-Match and expectedVersion name different versions'), { statusCode: 400 });
    }
    fields.expectedVersion = Number(version);
  } else if (request.method === 'DELETE') {
    const query = request.query as Record<string, unknown>;
    if (query.expectedVersion !== undefined && query.expectedVersion !== version) {
      throw Object.assign(new Error('If-Match and expectedVersion name different versions'), { statusCode: 400 });
    }
    query.expectedVersion = version;
  }
}

/**
 * trpc-to-openapi's own Fastify adapter, as it ships, with FAST_PATHS off. Its route is given the
 * one procedure call per request the rate limiter counts (the plugin takes no route options), and
 * names the operation a request is for, as the fast bridge does, for its trace span; a path spelled
 * to resolve to another names none (`resolvesElsewhere`), as with the fast bridge.
 */
async function openApiStockRoutes(app: FastifyInstance, options: Parameters<typeof fastifyTRPCOpenApiPlugin>[1]) {
  const operationOf = restOperations(options.router, options.basePath ?? '');
  const named = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (resolvesElsewhere(request.requestPath)) {
      // Answered as the fast bridge answers a path that names no operation.
      void reply.code(404).send(restErrorBody(answerOf(404, 'Not found')));
      return;
    }
    request.restOperation = operationOf(request.method === 'HEAD' ? 'GET' : request.method, request.requestPath);
    done();
  };
  const counted = Object.create(app, {
    route: {
      value: (route: RouteOptions) =>
        app.route({
          ...route,
          handler: headAsGet(route.handler),
          onRequest: [named, ...[route.onRequest ?? []].flat()],
          config: { ...route.config, procedureCalls: () => 1 },
        }),
    },
  }) as FastifyInstance;
  await new Promise<void>((resolve, reject) => {
    fastifyTRPCOpenApiPlugin(counted, options, (error?: Error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * HEAD answered as its GET, as the fast bridge answers it (the library answers every HEAD 204,
 * empty, as a warm-up probe). The adapter reads the method from the request, so the request shows
 * GET until the answer is sent: Fastify must see HEAD then, as its HEAD route drops the body and
 * keeps the GET's Content-Length. rest-bridge.test's HEAD calls hold the two bridges alike.
 */
function headAsGet(handler: RouteOptions['handler']): RouteOptions['handler'] {
  return function (this: FastifyInstance, request, reply) {
    if (request.method !== 'HEAD') return handler.call(this, request, reply);
    const asHead = () => delete (request as { method?: string }).method;
    Object.defineProperty(request, 'method', { value: 'GET', configurable: true });
    const send = reply.send.bind(reply);
    reply.send = (payload?: unknown) => {
      asHead();
      return send(payload);
    };
    try {
      return handler.call(this, request, reply);
    } catch (error) {
      asHead();
      throw error;
    }
  };
}

/**
 * The OpenAPI operation a REST request is for (its path template and procedure), matched with
 * trpc-to-openapi's own helpers as its adapter matches it: the first in the router's order.
 */
function restOperations(router: AnyTRPCRouter, basePath: string) {
  const operations: { method: string; route: string; procedure: string; pattern: RegExp }[] = [];
  forEachOpenApiProcedure(router._def.procedures as OpenApiProcedureRecord, ({ path, meta: { openapi } }) => {
    operations.push({ method: openapi.method, route: `${basePath}${openapi.path}`, procedure: path, pattern: getPathRegExp(normalizePath(openapi.path)) });
  });
  return (method: string, requestPath: string): { route: string; procedure: string } | undefined => {
    const path = operationPathOf(requestPath, basePath);
    const operation = path === undefined ? undefined : operations.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    return operation && { route: operation.route, procedure: operation.procedure };
  };
}

/** tRPC at /trpc, the REST bridge at /api, the OpenAPI document and Swagger UI, all from one router. */
export async function apiRoutes(
  app: FastifyInstance,
  options: {
    services: Services;
    router: AnyTRPCRouter;
    version: string;
    /** Which of tRPC's and trpc-to-openapi's adapters run as the libraries ship them (FAST_PATHS). */
    fastPaths: Pick<FastPaths, 'trpc' | 'sse' | 'rest'>;
  },
) {
  const { services, router, fastPaths } = options;
  const onError = ({ error, path, req }: { error: TRPCError; path?: string | undefined; req: unknown }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      const log = (req as Partial<FastifyRequest>).log ?? services.log;
      log.error({ err: error.cause ?? error, path }, 'procedure failed');
    }
  };

  const trpcOptions = {
    prefix: '/trpc',
    router,
    createContext: (req: FastifyRequest, res: FastifyReply) => createContext(services, req, res),
    onError,
    responseMeta: (meta: MetaInput) => ({ headers: errorHeaders(meta) }),
    maxBatchSize: MAX_BATCH_SIZE,
  };
  if (fastPaths.trpc) await app.register(trpcRoutes, { ...trpcOptions, referenceSubscriptions: !fastPaths.sse } as never);
  else await app.register(trpcStockRoutes, trpcOptions as never);

  await app.register(async (rest) => {
    // Fastify's own JSON parser (prototype poisoning refused), behind a depth limit.
    const parseJson = rest.getDefaultJsonParser('error', 'error');
    rest.removeContentTypeParser('application/json');
    rest.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (jsonNestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
        done(Object.assign(new Error(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), { statusCode: 400 }), undefined);
        return;
      }
      void parseJson(request, body as string, (error, parsed) => {
        // Fastify calls a body with a `__proto__` or `constructor.prototype` key invalid JSON; it is
        // JSON, refused for what it could do to the objects made from it.
        if (error && isJson(body as string)) {
          done(Object.assign(new Error('The JSON body has a "__proto__" or "constructor.prototype" key, which is refused'), { statusCode: 400 }), undefined);
          return;
        }
        done(error, parsed);
      });
    });
    // The bridge reads only JSON bodies; @fastify/formbody has already parsed the OAuth2 form into
    // an object, so the login and refresh routes present it as JSON.
    // A request without a body (e.g. `POST /api/auth/logout`) has nothing to declare, so it is
    // treated as JSON too rather than refused with 415 before it is even authenticated.
    const procedures = router._def.procedures as Record<string, { _def: { meta?: ProcedureMeta } }>;
    const formPaths = restPathsWhere(router, (meta) => meta.openapi?.contentTypes?.includes(FORM_TYPE));
    // eslint-disable-next-line @typescript-eslint/require-await -- Fastify hook contract: it signals completion by resolving
    rest.addHook('preHandler', async (request) => {
      const type = request.headers['content-type'];
      // Media types are case-insensitive (RFC 9110 §8.3.1); the bridges compare them as sent.
      const mediaType = type?.split(';', 1)[0]?.trim().toLowerCase();
      const isForm = mediaType === FORM_TYPE && formPaths.has(request.requestPath);
      const isEmpty = type === undefined && (request.body === undefined || request.body === null);
      if (isForm || isEmpty || mediaType === 'application/json') request.headers['content-type'] = 'application/json';
      else if (type !== undefined && request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'DELETE') {
        throw Object.assign(new Error(`Unsupported content-type "${type}": send application/json`), { statusCode: 415 });
      }
    });
    const ifMatchOperations = ifMatchOperationsOf(procedures);
    // eslint-disable-next-line @typescript-eslint/require-await -- Fastify hook contract: it signals completion by resolving
    rest.addHook('preHandler', async (request) => {
      if (request.headers['if-match'] !== undefined) takeIfMatch(request, ifMatchOperations);
    });
    const responseMeta = (meta: MetaInput & { data?: unknown[] }) => {
      const headers = errorHeaders(meta);
      const procedure = meta.paths?.length === 1 ? procedures[meta.paths[0] as string]?._def.meta : undefined;
      if (meta.errors.length > 0) {
        // A version named by If-Match that is not the current one fails the precondition (RFC 9110 §13.1.1).
        const conflict = meta.errors[0]?.cause;
        const preconditionFailed =
          procedure?.ifMatch && conflict instanceof DomainError && conflict.reason === 'VERSION_CONFLICT' && meta.ctx?.header('if-match') !== undefined;
        return preconditionFailed ? { status: 412, headers } : { headers };
      }
      const output = meta.data?.[0] as Record<string, unknown> | undefined;
      if (procedure?.etag && typeof output?.version === 'number') headers.etag = etagOf(output.version);
      if (procedure?.successStatus === 201 && procedure.location && output) headers.location = locationOf(procedure.location, output);
      return procedure?.successStatus ? { status: procedure.successStatus, headers } : { headers };
    };
    if (!fastPaths.rest) {
      await rest.register(openApiStockRoutes, {
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
