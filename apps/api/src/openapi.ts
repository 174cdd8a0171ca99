import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import type { AnyTRPCRouter } from '@trpc/server';

/** Procedures whose REST form answers 201 Created. */
export const CREATED_PROCEDURES = new Set<string>(['auth.register', 'tasks.create', 'admin.users.create']);

const errorSchema = {
  type: 'object',
  required: ['message', 'code'],
  properties: {
    message: { type: 'string', description: 'What went wrong, in English' },
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
        reason: { type: 'string', description: 'A stable code of the rule that refused the request, e.g. USERNAME_TAKEN' },
        fieldErrors: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string' } },
          description: 'Messages by input field',
        },
        retryAfterSeconds: { type: 'integer' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

const errorResponses = {
  '400': 'Invalid input: see `issues` and `data.fieldErrors`',
  '401': 'Missing, invalid, expired or revoked token (`WWW-Authenticate: Bearer`)',
  '403': 'Signed in, but not allowed',
  '404': 'Not found (or not yours)',
  '409': 'Conflict with the current state, e.g. a taken name or a stale version',
  '413': 'Body too large',
  '429': 'Too many requests (`Retry-After`)',
  '503': 'Temporarily unavailable (`Retry-After`)',
} as const;

const RESPONSES_BY_KIND = {
  public: ['400', '409', '413', '429', '503'],
  protected: ['400', '401', '403', '404', '409', '413', '429', '503'],
} as const;

type Operation = {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses?: Record<string, unknown>;
  requestBody?: { content?: Record<string, unknown> };
};

/**
 * The document generated from the router, completed with what the generator leaves out: both
 * security schemes on every protected operation, the real error shape and statuses, 201 where
 * something is created.
 */
export function buildOpenApiDocument(appRouter: AnyTRPCRouter, version: string): OpenAPIObject {
  const document = generateOpenApiDocument(appRouter, {
    title: 'Secure Task Manager API',
    description:
      'REST form of the tRPC API: the same procedures, validation and rules. Sign in with `POST /api/auth/login` (or the Authorize button: OAuth2 password flow) and send `Authorization: Bearer <access_token>`.',
    version,
    baseUrl: '/api',
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      oauth2: { type: 'oauth2', flows: { password: { tokenUrl: '/api/auth/login', scopes: {} } } },
    },
  });
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, Error: errorSchema as never };
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of ['get', 'post', 'patch', 'put', 'delete'] as const) {
      const operation = (pathItem as Record<string, Operation | undefined>)[method];
      if (!operation) continue;
      const isProtected = Array.isArray(operation.security) && operation.security.length > 0;
      if (isProtected) operation.security = [{ bearerAuth: [] }, { oauth2: [] }];
      else operation.security = [];
      const responses = (operation.responses ??= {});
      for (const status of Object.keys(responses)) {
        if (status !== '200' && status !== '201' && status !== 'default') delete responses[status];
      }
      delete responses.default;
      if (operation.operationId && CREATED_PROCEDURES.has(operationPath(operation.operationId)) && responses['200']) {
        responses['201'] = responses['200'];
        delete responses['200'];
      }
      for (const status of RESPONSES_BY_KIND[isProtected ? 'protected' : 'public']) {
        responses[status] = {
          description: errorResponses[status],
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      }
    }
  }
  return document;
}

/** trpc-to-openapi names operations after the procedure path with dots replaced. */
function operationPath(operationId: string): string {
  return operationId.replace(/-/g, '.');
}
