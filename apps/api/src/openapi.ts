import { generateOpenApiDocument, type OpenAPIObject, type OpenApiRouter } from 'trpc-to-openapi';
import type { AnyTRPCRouter } from '@trpc/server';
import { API_TOKEN_SCOPES } from '@stm/validators';
import { type ErrorReason, httpStatusOf } from './errors';
import { type ProcedureMeta, scopeRefusals, TIER_REFUSALS, type TokenScopeRule } from './trpc';

/** What a refusal says besides its status, in the problem document and in the earlier `data` shape alike. */
const refusalMembers = {
  reason: { type: 'string', description: 'A stable code of the rule that refused the request, e.g. USERNAME_TAKEN' },
  fieldErrors: {
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'Messages by input field',
  },
  retryAfterSeconds: { type: 'integer' },
  details: { type: 'object', additionalProperties: true },
} as const;

const errorSchema = {
  type: 'object',
  description:
    'RFC 9457 problem details (`application/problem+json`). `type` is `urn:stm:problem:<reason>` (the `reason` in lower case, `_` as `-`), or `about:blank` when no rule of the product refused. `code`, `reason`, `fieldErrors`, `retryAfterSeconds` and `details` are extension members; `message`, `data` and `issues` are kept for clients of the earlier shape.',
  required: ['type', 'title', 'status', 'detail', 'message', 'code'],
  properties: {
    type: { type: 'string', format: 'uri-reference', description: 'What kind of problem: `urn:stm:problem:<reason>`, e.g. `urn:stm:problem:username-taken`' },
    title: { type: 'string', description: 'The status in words, e.g. Conflict' },
    status: { type: 'integer', description: 'The HTTP status' },
    detail: { type: 'string', description: 'What went wrong, in English' },
    instance: { type: 'string', description: 'The path the request was sent to' },
    ...refusalMembers,
    error: {
      type: 'string',
      enum: ['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'temporarily_unavailable'],
      description: 'Sign-in (`POST /auth/login`) only: the OAuth 2.0 error code (RFC 6749 §5.2)',
    },
    error_description: { type: 'string', description: 'Sign-in only: `detail` in the characters RFC 6749 allows' },
    message: { type: 'string', description: 'As `detail` (the earlier shape)' },
    code: { type: 'string', description: 'The error class, e.g. BAD_REQUEST, UNAUTHORIZED, CONFLICT' },
    issues: {
      type: 'array',
      description: 'Validation issues (400 only), one per field problem',
      items: {
        type: 'object',
        properties: {
          path: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'number' }] } },
          message: { type: 'string' },
          code: { type: 'string' },
        },
      },
    },
    data: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        httpStatus: { type: 'integer' },
        path: { type: 'string', description: 'The procedure' },
        ...refusalMembers,
      },
    },
  },
} as const;

/** What Fastify itself answers for a body before any procedure runs: malformed, too large, of an unknown type. */
const BODY_REFUSALS: readonly ErrorReason[] = ['MALFORMED_REQUEST', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

const STATUS_SUMMARIES: Record<string, string> = {
  '400': 'Invalid input: see `fieldErrors`',
  '401': 'Missing, invalid, expired or revoked token (`WWW-Authenticate: Bearer`)',
  '403': 'Not allowed',
  '404': 'Not found (or not yours)',
  '409': 'Conflict with the current state',
  '412': '`If-Match` names another version than the current one',
  '413': 'Body too large',
  '415': 'Unsupported content type',
  '429': 'Too many requests (`Retry-After`)',
  '503': 'Temporarily unavailable (`Retry-After`)',
};

type Operation = {
  operationId?: string;
  description?: string;
  security?: Record<string, string[]>[];
  responses?: Record<string, unknown>;
  requestBody?: { content?: Record<string, unknown> };
  parameters?: unknown[];
};

type ProcedureRecord = Record<string, { _def: { meta?: ProcedureMeta } }>;

/**
 * The error statuses an operation can answer, each with the `data.reason` codes behind it: its
 * tier's refusals and its own (from the procedure's meta), malformed input when it takes any,
 * and Fastify's own body refusals when the method carries a body.
 */
function errorStatuses(meta: ProcedureMeta, method: string, takesInput: boolean): Map<string, Set<string>> {
  const statuses = new Map<string, Set<string>>();
  const add = (status: string, reason?: string) => {
    const reasons = statuses.get(status) ?? new Set<string>();
    if (reason) reasons.add(reason);
    statuses.set(status, reasons);
  };
  const signedIn = meta.tier === 'protected' || meta.tier === 'admin';
  const guards: ErrorReason[] = [...(signedIn ? (['MFA_ENROLMENT_REQUIRED'] as const) : []), ...(meta.stepUp ? (['STEP_UP_REQUIRED'] as const) : [])];
  for (const reason of [...TIER_REFUSALS[meta.tier ?? 'public'], ...guards, ...scopeRefusals(meta), ...(meta.refusals ?? [])]) {
    add(String(httpStatusOf(reason)), reason);
  }
  if (takesInput) add('400', 'VALIDATION_FAILED');
  if (method !== 'get') for (const reason of BODY_REFUSALS) add(String(httpStatusOf(reason)), reason);
  return statuses;
}

function describeStatus(status: string, reasons: Set<string>): string {
  const summary = STATUS_SUMMARIES[status] ?? 'Error';
  return reasons.size > 0 ? `${summary}. \`reason\`: ${[...reasons].join(', ')}` : summary;
}

/** Documents already made, by router and version: every app of a process (tests start hundreds) serves the same one. */
const documents = new WeakMap<AnyTRPCRouter, Map<string, Readonly<OpenAPIObject>>>();

/**
 * The document generated from the router, completed with what the generator leaves out: both
 * security schemes on every protected operation, the real error shape and the statuses each
 * procedure declares, 201 where something is created. Made once per router and version, and
 * frozen, since the apps that serve it share it.
 */
export function buildOpenApiDocument(appRouter: AnyTRPCRouter, version: string): Readonly<OpenAPIObject> {
  let byVersion = documents.get(appRouter);
  if (!byVersion) documents.set(appRouter, (byVersion = new Map<string, Readonly<OpenAPIObject>>()));
  let document = byVersion.get(version);
  if (!document) byVersion.set(version, (document = deepFreeze(generateDocument(appRouter, version))));
  return document;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function generateDocument(appRouter: AnyTRPCRouter, version: string): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter as OpenApiRouter, {
    title: 'Secure Task Manager API',
    description:
      'REST form of the tRPC API: the same procedures, validation and rules. Sign in with `POST /api/auth/login` (or the Authorize button: OAuth2 password flow) and send `Authorization: Bearer <access_token>`. A program may instead send an API token (`Authorization: Bearer stm_pat_…`, or `stm_sat_…` for a service account): each operation names the scope it needs (`x-stm-token-scope`, and the `apiToken` security requirement); operations a token may never call say `none`, and answer a token 403 `TOKEN_NOT_ALLOWED`.',
    version,
    baseUrl: '/api',
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      apiToken: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'stm_pat_… / stm_sat_…',
        description: `An API token (Account → API tokens, or a service account's). Scopes: ${API_TOKEN_SCOPES.map((scope) => `\`${scope}\``).join(', ')}. A call without the operation's scope is refused with 403 \`TOKEN_SCOPE_MISSING\`.`,
      },
      oauth2: { type: 'oauth2', flows: { password: { tokenUrl: '/api/auth/login', scopes: {} } } },
    },
  });
  const procedures = appRouter._def.procedures as ProcedureRecord;
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, Error: errorSchema as never };
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of ['get', 'post', 'patch', 'put', 'delete'] as const) {
      const operation = (pathItem as Record<string, Operation | undefined>)[method];
      if (!operation?.operationId) continue;
      const procedurePath = operationPath(operation.operationId);
      const meta = procedures[procedurePath]?._def.meta;
      if (!meta) throw new Error(`No procedure behind the operation ${operation.operationId}`);
      const isProtected = meta.tier === 'protected' || meta.tier === 'admin';
      if (isProtected !== (meta.openapi?.protect ?? true)) {
        throw new Error(`${procedurePath}: openapi.protect says otherwise than its tier (${meta.tier})`);
      }
      const scope = tokenScopeOf(meta);
      operation.security = isProtected ? [{ bearerAuth: [] }, { oauth2: [] }, ...(scope === 'none' ? [] : [{ apiToken: scope === 'any' ? [] : [scope] }])] : [];
      (operation as Record<string, unknown>)['x-stm-token-scope'] = scope;
      if (isProtected || scope === 'none') {
        const says =
          scope === 'none'
            ? 'API tokens: never (sign in as a person).'
            : scope === 'any'
              ? 'API tokens: any live token.'
              : `API tokens: needs the \`${scope}\` scope.`;
        operation.description = [operation.description, says].filter(Boolean).join('\n\n');
      }
      const responses = (operation.responses ??= {});
      for (const status of Object.keys(responses)) {
        if (status !== '200' && status !== '201' && status !== 'default') Reflect.deleteProperty(responses, status);
      }
      delete responses.default;
      if (meta.successStatus === 201 && responses['200']) {
        responses['201'] = responses['200'];
        delete responses['200'];
      }
      const success = (responses['201'] ?? responses['200']) as { headers?: Record<string, unknown> } | undefined;
      if (success && meta.successStatus === 201 && meta.location) {
        success.headers = {
          ...success.headers,
          Location: {
            description: `Where it is read: \`${meta.location}\`${meta.location.startsWith('/') ? ' under /api' : ", relative to the request's path"}`,
            schema: { type: 'string' },
          },
        };
      }
      if (success && meta.etag) {
        success.headers = {
          ...success.headers,
          ETag: { description: 'The version, as a strong entity tag: send it back as `If-Match`', schema: { type: 'string' } },
        };
      }
      if (meta.ifMatch) {
        operation.parameters = [
          ...(operation.parameters ?? []),
          {
            in: 'header',
            name: 'If-Match',
            required: false,
            schema: { type: 'string' },
            description: 'The `ETag` last read; a task changed since is refused with 412 and nothing is written (as `expectedVersion`, with 409)',
          },
        ];
      }
      const takesInput = Boolean(operation.requestBody) || (operation.parameters?.length ?? 0) > 0;
      const statuses = [...errorStatuses(meta, method, takesInput)].sort(([a], [b]) => a.localeCompare(b));
      if (meta.ifMatch) statuses.push(['412', new Set(['VERSION_CONFLICT'])]);
      for (const [status, reasons] of statuses) {
        responses[status] = {
          description: describeStatus(status, reasons),
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      }
    }
  }
  return document;
}

/** The scope an API token needs for an operation; a public one takes no credential but may refuse tokens (`none`). */
function tokenScopeOf(meta: ProcedureMeta): TokenScopeRule {
  if (meta.tier === 'public') return meta.scope === 'none' ? 'none' : 'any';
  return meta.scope ?? 'none';
}

/** trpc-to-openapi names operations after the procedure path with dots replaced. */
function operationPath(operationId: string): string {
  return operationId.replace(/-/g, '.');
}
