import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { z } from 'zod';
import type { FuzzProcedure } from './catalog';

/** The HTTP status each tRPC error code travels with (tRPC's own table). */
const STATUS_OF_CODE: Record<TRPC_ERROR_CODE_KEY, number> = {
  PARSE_ERROR: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
};
const errorCode = z.enum(Object.keys(STATUS_OF_CODE) as [TRPC_ERROR_CODE_KEY, ...TRPC_ERROR_CODE_KEY[]]);

/** `data` of every error, as the tRPC error formatter writes it (`ErrorData` in src/trpc.ts). */
const errorData = z.strictObject({
  code: errorCode,
  httpStatus: z.number().int(),
  path: z.string().optional(),
  reason: z
    .string()
    .regex(/^[A-Z_]+$/)
    .optional(),
  fieldErrors: z.record(z.string(), z.array(z.string())).optional(),
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** tRPC's JSON-RPC-like envelope. */
const trpcError = z.strictObject({
  error: z.strictObject({ message: z.string().min(1), code: z.number().int(), data: errorData }),
});

/**
 * The REST bridge's body as an RFC 9457 problem document, with the earlier members as extensions
 * (the formatted shape, `code` as a name, zod `issues` on a 400), or Fastify's own `{ message, code }` as one.
 */
const restError = z.strictObject({
  type: z.string().regex(/^(about:blank|urn:stm:problem:[a-z-]+)$/),
  title: z.string().min(1),
  status: z.number().int(),
  detail: z.string().min(1),
  instance: z.string().startsWith('/'),
  reason: z
    .string()
    .regex(/^[A-Z_]+$/)
    .optional(),
  fieldErrors: z.record(z.string(), z.array(z.string())).optional(),
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  error: z.enum(['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'temporarily_unavailable']).optional(),
  error_description: z
    .string()
    .regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/)
    .optional(),
  message: z.string().min(1),
  code: errorCode,
  data: errorData.optional(),
  issues: z.array(z.looseObject({ message: z.string(), path: z.array(z.union([z.string(), z.number()])) })).optional(),
});

export interface Exchange {
  /** The procedure that answered (a mangled REST URL may reach another one, or none). */
  procedure: FuzzProcedure | undefined;
  transport: 'trpc' | 'rest';
  batch: boolean;
  /** The request as text (URL, headers, body), to tell an echo of the caller's own input from a leak. */
  requestText: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** What a caller who is not the victim must never see, and who the caller is. */
export interface LeakGuard {
  secrets: string[];
  /** For answers to the fuzzing user: every task in them must be theirs. */
  ownerId?: number;
}

/** A stack frame's line: in JSON its newline is escaped (`\\n    at f (file.ts:1:2)`). */
const STACK_TRACE = /(?:\\n|\n)\s+at (?:\S+ \()?(?:file:\/\/|node:|\/)[^\s"]*:\d+:\d+/;

function issuesOf(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Every rule an answer breaks, as sentences; none for a good answer. */
export function violationsOf(exchange: Exchange, guard: LeakGuard | undefined): string[] {
  const { status } = exchange;
  const problems: string[] = [];
  if (status >= 500) problems.push(`answered ${status}`);
  if (STACK_TRACE.test(exchange.body)) problems.push('the body carries a stack trace');
  let body: unknown;
  try {
    body = JSON.parse(exchange.body);
  } catch {
    problems.push(`the body is not JSON: ${exchange.body.slice(0, 200)}`);
    return problems;
  }

  const envelopes = exchange.batch && Array.isArray(body) ? body : [body];
  for (const envelope of envelopes) {
    const succeeded = exchange.batch ? typeof envelope === 'object' && envelope !== null && 'result' in envelope : status < 400;
    if (succeeded) problems.push(...successViolations(exchange, envelope));
    else problems.push(...errorViolations(exchange, envelope));
  }
  if (status === 401 && !exchange.batch && !String(exchange.headers['www-authenticate'] ?? '').startsWith('Bearer')) {
    problems.push('a 401 without WWW-Authenticate: Bearer');
  }
  if (status === 429 && exchange.headers['retry-after'] === undefined) problems.push('a 429 without Retry-After');
  if (guard) problems.push(...leakViolations(exchange, body, guard));
  return problems;
}

function successViolations(exchange: Exchange, envelope: unknown): string[] {
  const { procedure, transport, status } = exchange;
  if (!procedure) return [`succeeded with ${status}, though no procedure serves this URL`];
  const problems: string[] = [];
  if (transport === 'rest' && status !== procedure.rest.successStatus) problems.push(`succeeded with ${status}, documented ${procedure.rest.successStatus}`);
  const schema = transport === 'trpc' ? z.strictObject({ result: z.strictObject({ data: procedure.output }) }) : procedure.output;
  const parsed = schema.safeParse(envelope);
  if (!parsed.success) problems.push(`the answer does not match the output schema of ${procedure.path}: ${issuesOf(parsed.error)}`);
  return problems;
}

function errorViolations(exchange: Exchange, envelope: unknown): string[] {
  const { procedure, transport, status } = exchange;
  const parsed = (transport === 'trpc' ? trpcError : restError).safeParse(envelope);
  if (!parsed.success) return [`the error does not have the typed error shape: ${issuesOf(parsed.error)}: ${JSON.stringify(envelope).slice(0, 300)}`];
  const problems: string[] = [];
  // The REST problem has an `error` member of its own (the sign-in's OAuth code): told apart by transport.
  const envelopeOf = parsed.data;
  const data = transport === 'trpc' ? (envelopeOf as z.infer<typeof trpcError>).error.data : (envelopeOf as z.infer<typeof restError>).data;
  const code = transport === 'trpc' ? data?.code : (envelopeOf as z.infer<typeof restError>).code;
  // A 4xx with no tRPC code of its own (414, 431) is a BAD_REQUEST, as the app's error handler says.
  const uncoded = code === 'BAD_REQUEST' && status >= 400 && status < 500 && !Object.values(STATUS_OF_CODE).includes(status);
  if (!exchange.batch && code && STATUS_OF_CODE[code] !== status && !uncoded)
    problems.push(`error code ${code} travels with ${STATUS_OF_CODE[code]}, not ${status}`);
  if (data && !exchange.batch && data.httpStatus !== status) problems.push(`data.httpStatus ${data.httpStatus} but the status is ${status}`);
  if (data && data.code !== code) problems.push(`data.code ${data.code} differs from code ${code}`);
  if (transport === 'trpc' && data) {
    const jsonRpc = (envelopeOf as z.infer<typeof trpcError>).error.code;
    if (jsonRpc !== TRPC_ERROR_CODES_BY_KEY[data.code]) problems.push(`JSON-RPC code ${jsonRpc} is not ${data.code}'s (${TRPC_ERROR_CODES_BY_KEY[data.code]})`);
  }
  if (data?.path !== undefined && data.path !== procedure?.path) problems.push(`data.path ${data.path} is not ${procedure?.path ?? 'absent'}`);
  if (transport === 'rest' && (envelopeOf as z.infer<typeof restError>).status !== status)
    problems.push(`the problem's status ${(envelopeOf as z.infer<typeof restError>).status} but the status is ${status}`);
  return problems;
}

function leakViolations(exchange: Exchange, body: unknown, guard: LeakGuard): string[] {
  const problems: string[] = [];
  const answer = exchange.body.toLowerCase();
  // The request (up to a megabyte) is only read when the answer holds a secret: was it an echo?
  let request: string | undefined;
  for (const secret of guard.secrets) {
    const needle = secret.toLowerCase();
    if (!answer.includes(needle)) continue;
    request ??= exchange.requestText.toLowerCase();
    if (!request.includes(needle)) problems.push(`the answer reveals the victim's ${JSON.stringify(secret)}`);
  }
  if (guard.ownerId !== undefined && exchange.status < 400) {
    const foreign = new Set<number>();
    const visit = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value !== null && typeof value === 'object') {
        const record = value as Record<string, unknown>;
        if (typeof record.ownerId === 'number' && record.ownerId !== guard.ownerId) foreign.add(record.ownerId);
        Object.values(record).forEach(visit);
      }
    };
    visit(body);
    if (foreign.size > 0) problems.push(`the answer holds tasks of other users: ${[...foreign].join(', ')}`);
  }
  return problems;
}
