/*
 * Fast path: trpc-to-openapi's Fastify adapter (`fastifyTRPCOpenApiPlugin`). Held to it by
 * test/rest-bridge.test.ts (every operation through both), and by the `stock` Vitest project
 * (FAST_PATHS=false), which runs the whole suite on trpc-to-openapi's own.
 */
import { type AnyTRPCProcedure, type AnyTRPCRouter, getTRPCErrorFromUnknown, getTRPCErrorShape, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operationPathOf } from '../rest-paths';
import {
  acceptsRequestBody,
  coerceSchema,
  forEachOpenApiProcedure,
  getInputOutputParsers,
  getPathRegExp,
  instanceofZodTypeKind,
  instanceofZodTypeLikeVoid,
  instanceofZodTypeObject,
  instanceofZodTypeOptional,
  normalizePath,
  type OpenApiMethod,
  type OpenApiProcedureRecord,
  unwrapZodType,
} from 'trpc-to-openapi';

type ProcedureType = 'query' | 'mutation';

export interface RestBridgeOptions<TContext> {
  /** Where the operations' paths start, e.g. `/api`. */
  basePath: string;
  router: AnyTRPCRouter;
  createContext: (request: FastifyRequest, reply: FastifyReply) => TContext | Promise<TContext>;
  onError: (opts: {
    error: TRPCError;
    type: ProcedureType | 'unknown';
    path: string | undefined;
    input: unknown;
    ctx: TContext | undefined;
    req: FastifyRequest;
  }) => void;
  responseMeta: (opts: { type: ProcedureType | 'unknown'; paths: string[] | undefined; ctx: TContext | undefined; data: unknown[]; errors: TRPCError[] }) => {
    status?: number;
    headers?: Record<string, string | undefined>;
  };
}

/** An operation of the OpenAPI document, and what its input needs, worked out once at start. */
interface Operation {
  path: string;
  /** The OpenAPI path template it answers, under the base path (`/api/tasks/{id}`). */
  route: string;
  type: ProcedureType;
  procedure: AnyTRPCProcedure;
  pattern: RegExp;
  takesInput: boolean;
  /** The input is an object, whose query-string fields are coerced from text. */
  inputObject: ReturnType<typeof unwrapZodType> | undefined;
  /** Fields that are arrays: a query string naming one once still gives an array. */
  arrayFields: string[];
  coerced: boolean;
}

/**
 * The REST bridge: the OpenAPI operations trpc-to-openapi documents, answered exactly as its own
 * Fastify adapter answers them (same routing, input reading, coercion, statuses and error bodies),
 * but as a Fastify handler rather than through Node's request/response shims. The adapter dresses
 * every request up as a Node message (ten bound methods), copies it into a Fetch `Request` for
 * an abort signal no procedure receives, and builds a tRPC caller proxy per call; on a short
 * authenticated call that was much of the server's CPU time per request (bench, `GET /api/auth/me`).
 */
export function restBridge<TContext>(app: FastifyInstance, options: RestBridgeOptions<TContext>, done: (error?: Error) => void) {
  const basePath = options.basePath.endsWith('/') ? options.basePath.slice(0, -1) : options.basePath;
  const operations = new Map<string, Operation[]>();
  forEachOpenApiProcedure(options.router._def.procedures as OpenApiProcedureRecord, ({ path, procedure, meta: { openapi } }) => {
    const type = procedure._def.type;
    if (type !== 'query' && type !== 'mutation') return;
    const { inputParser } = getInputOutputParsers(procedure);
    const unwrapped = unwrapZodType(inputParser, true);
    const inputObject = instanceofZodTypeObject(unwrapped) ? unwrapped : undefined;
    const arrayFields = inputObject
      ? Object.entries((inputObject as unknown as { shape: Record<string, never> }).shape)
          .filter(
            ([, field]) =>
              instanceofZodTypeKind(field, 'array') ||
              (instanceofZodTypeOptional(field) && instanceofZodTypeKind((field as { unwrap(): never }).unwrap(), 'array')),
          )
          .map(([name]) => name)
      : [];
    const list = operations.get(openapi.method) ?? [];
    list.push({
      path,
      route: `${basePath}${openapi.path}`,
      type,
      procedure: procedure as AnyTRPCProcedure,
      pattern: getPathRegExp(normalizePath(openapi.path)),
      takesInput: !instanceofZodTypeLikeVoid(unwrapped),
      inputObject,
      arrayFields,
      coerced: false,
    });
    operations.set(openapi.method, list);
  });

  /** The first operation, in the router's order, whose path pattern matches (case-insensitively). */
  const find = (method: string, path: string) => {
    for (const operation of operations.get(method) ?? []) {
      const match = operation.pattern.exec(path);
      if (match) return { operation, pathInput: match.groups ?? {} };
    }
    return undefined;
  };

  const send = (reply: FastifyReply, status: number, headers: Record<string, string | undefined>, body: unknown) => {
    reply.code(status);
    reply.header('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) reply.header(name, value);
    return reply.send(JSON.stringify(body));
  };

  app.route({
    method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    url: `${basePath}/*`,
    // One call per request; a path that names no operation is counted all the same.
    config: { procedureCalls: oneCall },
    handler: async (request, reply) => {
      // HEAD is its GET, answered without the body (Fastify's HEAD route drops it).
      const method = request.method === 'HEAD' ? 'GET' : (request.method as OpenApiMethod);
      const path = operationPathOf(request.requestPath, basePath);
      const found = path === undefined ? undefined : find(method, path);
      const operation = found?.operation;
      if (operation) request.restOperation = { route: operation.route, procedure: operation.path };
      let input: unknown;
      let ctx: TContext | undefined;
      try {
        if (!operation) throw new TRPCError({ code: 'NOT_FOUND', message: 'Not found' });
        const useBody = acceptsRequestBody(method);
        const contentType = request.headers['content-type'];
        if (useBody && !contentType?.startsWith('application/json')) {
          throw new TRPCError({
            code: 'UNSUPPORTED_MEDIA_TYPE',
            message: contentType ? `Unsupported content-type "${contentType}` : 'Missing content-type header',
          });
        }
        if (operation.takesInput) {
          const fields = useBody ? (request.body as object) : queryFields(request.query as Record<string, string | string[]>);
          const assembled: Record<string, unknown> = { ...fields, ...found.pathInput };
          if (operation.inputObject && !useBody) {
            for (const name of operation.arrayFields) {
              if (assembled[name] !== undefined && !Array.isArray(assembled[name])) assembled[name] = [assembled[name]];
            }
          }
          input = assembled;
        }
        // The adapter switches a query's number, boolean and date fields to coercion when first
        // called (it changes the shared schema); so does this, at the same moment.
        if (operation.inputObject && !operation.coerced) {
          coerceSchema(operation.inputObject as never);
          operation.coerced = true;
        }
        ctx = await options.createContext(request, reply);
        const data: unknown = await operation.procedure({
          path: operation.path,
          getRawInput: () => Promise.resolve(input),
          ctx,
          type: operation.type,
          signal: undefined,
          batchIndex: 0,
        });
        const meta = options.responseMeta({ type: operation.type, paths: [operation.path], ctx, data: [data], errors: [] });
        // eslint-disable-next-line @typescript-eslint/return-await -- the reply is a thenable that settles when the response is written; its failure is not the procedure's
        return send(reply, meta.status ?? 200, meta.headers ?? {}, data);
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        const type = operation?.type ?? 'unknown';
        const path = operation?.path;
        options.onError({ error, type, path, input, ctx, req: request });
        const meta = options.responseMeta({ type, paths: path === undefined ? undefined : [path], ctx, data: [undefined], errors: [error] });
        const shape = getTRPCErrorShape({ config: options.router._def._config, error, type, path, input, ctx }) as Record<string, unknown> & {
          message?: string;
        };
        const zodError = error.code === 'BAD_REQUEST' && error.cause instanceof Error && error.cause.name === 'ZodError';
        return send(reply, meta.status ?? getHTTPStatusCodeFromError(error), meta.headers ?? {}, {
          ...shape,
          message: zodError ? 'Input validation failed' : (shape.message ?? error.message),
          code: error.code,
          issues: zodError ? (error.cause as { issues?: unknown }).issues : undefined,
        });
      }
    },
  });
  done();
}

const oneCall = () => 1;

/** Query-string fields as the adapter reads them: empty values dropped, a field given once as itself. */
function queryFields(query: Record<string, string | string[]>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of Object.keys(query)) {
    const value = query[name];
    if (value) fields[name] = Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  return fields;
}
