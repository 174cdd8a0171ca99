import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { JsonSchema } from './json-schema-arbitrary';

export interface RestOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As the OpenAPI document writes it, under /api: `/tasks/{id}`. */
  path: string;
  pathParameters: string[];
  /** POST, PUT and PATCH read a JSON body; GET and DELETE read the query string. */
  takesBody: boolean;
  /** Also takes the OAuth2 form encoding. */
  takesForm: boolean;
  /** Answers 201 rather than 200. */
  successStatus: 200 | 201;
}

/** One procedure, with all it takes to call it both ways and to judge the answer. */
export interface FuzzProcedure {
  path: string;
  type: 'query' | 'mutation';
  /** The input as JSON Schema (from the zod schema, as a client sends it); none when it takes none. */
  input: JsonSchema | undefined;
  /** The output as it looks on the wire, JSON: dates are ISO strings and no field may be extra. */
  output: z.ZodType;
  rest: RestOperation;
}

interface OpenApiOperation {
  operationId?: string;
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, unknown>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Every procedure of the router, each matched to its REST operation in the served `/openapi.json`
 * (the document a client reads, so what it says is what gets exercised).
 */
export async function loadProcedureCatalog(app: FastifyInstance, router: AnyTRPCRouter): Promise<FuzzProcedure[]> {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  const document = response.json<{ paths: Record<string, Partial<Record<(typeof METHODS)[number], OpenApiOperation>>> }>();
  const operations = new Map<string, RestOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation?.operationId) continue;
      operations.set(operation.operationId, {
        method: method.toUpperCase() as RestOperation['method'],
        path,
        pathParameters: (operation.parameters ?? []).filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name),
        takesBody: method === 'post' || method === 'put' || method === 'patch',
        takesForm: Object.hasOwn(operation.requestBody?.content ?? {}, 'application/x-www-form-urlencoded'),
        successStatus: operation.responses?.['201'] ? 201 : 200,
      });
    }
  }

  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure>;
  // Subscriptions stream over server-sent events and have no REST form.
  return Object.entries(procedures)
    .filter(([, procedure]) => procedure._def.type !== 'subscription')
    .map(([path, procedure]) => {
      // trpc-to-openapi names an operation after its procedure path, dots as dashes.
      const rest = operations.get(path.replaceAll('.', '-'));
      if (!rest) throw new Error(`${path} has no REST operation in /openapi.json`);
      // Every parser of this router is a zod schema; `output` is kept on the definition though its type leaves it out.
      const definition = procedure._def as unknown as { type: string; inputs: z.ZodType[]; output?: z.ZodType };
      const [inputSchema] = definition.inputs;
      if (!definition.output) throw new Error(`${path} declares no output schema`);
      return {
        path,
        type: definition.type === 'query' ? 'query' : 'mutation',
        input: inputSchema ? (z.toJSONSchema(inputSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema) : undefined,
        output: wireFormOf(definition.output),
        rest,
      };
    });
}

/**
 * The JSON a schema's output becomes on the wire: a date (transformed to its ISO string) is an
 * ISO string, every object is strict so a field the schema does not name counts as a leak.
 */
export function wireFormOf(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodType>;
    return z.strictObject(Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, wireFormOf(field)])));
  }
  if (schema instanceof z.ZodPipe) {
    const { in: input, out: output } = schema as z.ZodPipe<z.ZodType, z.ZodType>;
    if (input instanceof z.ZodDate && output instanceof z.ZodTransform) return z.iso.datetime();
    if (output instanceof z.ZodTransform) throw new Error('An output transform other than a date to its ISO string: teach wireFormOf its JSON');
    return wireFormOf(output);
  }
  if (schema instanceof z.ZodOptional) return wireFormOf(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodNullable) return wireFormOf(schema.unwrap() as z.ZodType).nullable();
  if (schema instanceof z.ZodDefault) return wireFormOf(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodArray) return z.array(wireFormOf(schema.element as z.ZodType));
  if (schema instanceof z.ZodRecord) return z.record(z.string(), wireFormOf(schema.valueType as z.ZodType));
  if (schema instanceof z.ZodUnion) return z.union((schema.options as z.ZodType[]).map(wireFormOf));
  return schema;
}

/** The path as the REST bridge compares it: no leading or trailing slash beyond one. */
const normalizePath = (path: string) => `/${path.replace(/^\/|\/$/g, '')}`;

/**
 * The procedure the REST bridge runs for a request, found the way the bridge finds it (the first
 * in router order whose method matches and whose path template matches, ignoring case, after the
 * URL is normalized): a mangled URL may well reach another procedure than the one aimed at.
 */
export function procedureAnswering(catalog: FuzzProcedure[], method: string, url: string): FuzzProcedure | undefined {
  const withoutPrefix = url.replace('/api', '');
  const path = normalizePath(new URL(`http://127.0.0.1${withoutPrefix.startsWith('/') ? '' : '/'}${withoutPrefix}`).pathname);
  return catalog.find((procedure) => {
    if (procedure.rest.method !== method) return false;
    const template = normalizePath(procedure.rest.path).replace(/\{(.+?)\}/g, '[^/]+');
    return new RegExp(`^${template}$`, 'i').test(path);
  });
}
