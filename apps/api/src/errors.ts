import { STATUS_CODES } from 'node:http';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { isDatabaseUnavailable, isForeignKeyViolation, isRetryableTransactionError, isUniqueViolation } from '@stm/db';
import { BusyError } from '@stm/auth';

/**
 * Every rule a service can refuse by, with the transport status it maps to. The code travels to
 * clients as `data.reason`, so the console can say what happened in the user's language.
 */
const errorTable = {
  VALIDATION_FAILED: 'BAD_REQUEST',
  PASSWORD_TOO_SHORT: 'BAD_REQUEST',
  PASSWORD_TOO_LONG: 'BAD_REQUEST',
  PASSWORD_TOO_COMMON: 'BAD_REQUEST',
  PASSWORD_TOO_WEAK: 'BAD_REQUEST',
  PASSWORD_CONTAINS_USERNAME: 'BAD_REQUEST',
  PASSWORD_UNCHANGED: 'BAD_REQUEST',
  CURRENT_PASSWORD_WRONG: 'BAD_REQUEST',
  RESET_TOKEN_INVALID: 'BAD_REQUEST',
  EMAIL_TOKEN_INVALID: 'BAD_REQUEST',
  EMAIL_NOT_PENDING: 'BAD_REQUEST',
  REFRESH_TOKEN_MISSING: 'BAD_REQUEST',
  TOKEN_LIFETIME_TOO_LONG: 'BAD_REQUEST',
  TOTP_NOT_STARTED: 'BAD_REQUEST',
  PASSKEY_REGISTRATION_FAILED: 'BAD_REQUEST',
  WEBHOOK_URL_NOT_ALLOWED: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  INVALID_TOKEN: 'UNAUTHORIZED',
  INVALID_CREDENTIALS: 'UNAUTHORIZED',
  REFRESH_TOKEN_INVALID: 'UNAUTHORIZED',
  REFRESH_TOKEN_REUSED: 'UNAUTHORIZED',
  MFA_REQUIRED: 'UNAUTHORIZED',
  MFA_CHALLENGE_INVALID: 'UNAUTHORIZED',
  MFA_CODE_INVALID: 'UNAUTHORIZED',
  PASSKEY_INVALID: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  ADMIN_REGISTRATION_FORBIDDEN: 'FORBIDDEN',
  REGISTRATION_CLOSED: 'FORBIDDEN',
  ACCOUNT_DEACTIVATED: 'FORBIDDEN',
  CSRF_FAILED: 'FORBIDDEN',
  PROJECT_ROLE_TOO_LOW: 'FORBIDDEN',
  PROJECT_ARCHIVED: 'FORBIDDEN',
  PROJECT_IS_INBOX: 'FORBIDDEN',
  QUOTA_EXCEEDED: 'FORBIDDEN',
  TOKEN_SCOPE_MISSING: 'FORBIDDEN',
  TOKEN_NOT_ALLOWED: 'FORBIDDEN',
  TOKEN_SCOPE_NOT_ALLOWED: 'FORBIDDEN',
  STEP_UP_REQUIRED: 'FORBIDDEN',
  MFA_ENROLMENT_REQUIRED: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  NO_SUCH_USER: 'NOT_FOUND',
  USERNAME_TAKEN: 'CONFLICT',
  EMAIL_TAKEN: 'CONFLICT',
  VERSION_CONFLICT: 'CONFLICT',
  LAST_ADMIN: 'CONFLICT',
  LAST_OWNER: 'CONFLICT',
  SOLE_PROJECT_OWNER: 'CONFLICT',
  ALREADY_MEMBER: 'CONFLICT',
  LABEL_NAME_TAKEN: 'CONFLICT',
  TOTP_ALREADY_ENABLED: 'CONFLICT',
  CONFLICT: 'CONFLICT',
  ACCOUNT_LOCKED: 'TOO_MANY_REQUESTS',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  SERVER_BUSY: 'SERVICE_UNAVAILABLE',
  DATABASE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  SEARCH_TIMEOUT: 'SERVICE_UNAVAILABLE',
  LOCKOUT_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  // The request itself, refused before any procedure could read it.
  MALFORMED_REQUEST: 'BAD_REQUEST',
  BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
} as const satisfies Record<string, TRPC_ERROR_CODE_KEY>;

export type ErrorReason = keyof typeof errorTable;

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && Object.hasOwn(errorTable, value);
}

/** The HTTP status of a tRPC code, as tRPC itself maps it. */
export function statusOfCode(code: TRPC_ERROR_CODE_KEY): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code }));
}

/** The HTTP status a refusal is answered with, over tRPC and REST alike. */
export function httpStatusOf(reason: ErrorReason): number {
  return statusOfCode(errorTable[reason]);
}

const TRPC_CODES = Object.keys(TRPC_ERROR_CODES_BY_KEY) as TRPC_ERROR_CODE_KEY[];

/**
 * The tRPC code of an HTTP status that no rule chose (Fastify's own refusals, a URL too long):
 * the one tRPC maps to that status, else BAD_REQUEST for a client's error and
 * INTERNAL_SERVER_ERROR for the server's.
 */
export function codeOfStatus(status: number): TRPC_ERROR_CODE_KEY {
  // PARSE_ERROR shares 400 with BAD_REQUEST; BAD_REQUEST is the general one.
  const code = TRPC_CODES.find((candidate) => candidate !== 'PARSE_ERROR' && statusOfCode(candidate) === status);
  return code ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR');
}

/**
 * The rule behind an error no service raised (tRPC's or Fastify's own refusals of the request):
 * so that every refusal a client can get carries a reason it can translate.
 */
export function reasonOfCode(code: TRPC_ERROR_CODE_KEY): ErrorReason | undefined {
  switch (code) {
    case 'PARSE_ERROR':
    case 'BAD_REQUEST':
      return 'MALFORMED_REQUEST';
    case 'PAYLOAD_TOO_LARGE':
      return 'BODY_TOO_LARGE';
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 'NOT_FOUND':
      return 'NOT_FOUND';
    default:
      return undefined;
  }
}

export interface DomainErrorOptions {
  /** The input field the error is about, for forms. */
  field?: string;
  /** Seconds after which the client may try again (429, 503). */
  retryAfterSeconds?: number;
  /** Extra facts the client may act on, e.g. the current version in a conflict. Never secrets. */
  details?: Record<string, unknown>;
  /** Why, for the server's log only: what the client must not learn (which check a token failed). */
  logDetails?: Record<string, unknown>;
  cause?: unknown;
}

/** A refusal by a rule of the product. Services throw these; the API layer maps them once. */
export class DomainError extends Error {
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly logDetails: Record<string, unknown> | undefined;

  constructor(
    readonly reason: ErrorReason,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
    this.logDetails = options.logDetails;
  }

  get trpcCode(): TRPC_ERROR_CODE_KEY {
    return errorTable[this.reason];
  }
}

/**
 * Turns what a service or the database threw into a DomainError where the client deserves to
 * know: unique and foreign-key violations and deadlocks are conflicts, an unreachable database
 * is "unavailable", a full hashing queue is "busy". Anything else stays an internal error.
 */
export function toDomainError(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  if (error instanceof BusyError) {
    return new DomainError('SERVER_BUSY', 'The server is busy; try again shortly', {
      retryAfterSeconds: error.retryAfterSeconds,
      cause: error,
    });
  }
  if (isUniqueViolation(error)) {
    return new DomainError('CONFLICT', 'This conflicts with an existing record', { cause: error });
  }
  // The rules lock what they read, in one order; these are the races left to the database to
  // settle (a row referred to deleted at that very moment, two transactions each waiting for the
  // other). The transaction was rolled back whole, so the client may simply try again.
  if (isForeignKeyViolation(error)) {
    return new DomainError('CONFLICT', 'Something this refers to was deleted at the same moment; nothing was changed', { cause: error });
  }
  if (isRetryableTransactionError(error)) {
    return new DomainError('CONFLICT', 'A change made at the same moment got in the way; nothing was changed, try again', { cause: error });
  }
  if (isDatabaseUnavailable(error)) {
    return new DomainError('DATABASE_UNAVAILABLE', 'The database is unavailable; try again shortly', {
      retryAfterSeconds: 2,
      cause: error,
    });
  }
  return undefined;
}

/**
 * `data` of every error body, over tRPC and REST alike: the transport's code and status, and what
 * the client may act on (the rule, fields, when to come back).
 */
export interface ErrorData {
  code: TRPC_ERROR_CODE_KEY;
  httpStatus: number;
  path?: string;
  /** A stable code of what went wrong, for clients to translate. */
  reason?: ErrorReason;
  fieldErrors?: Record<string, string[]>;
  retryAfterSeconds?: number;
  details?: Record<string, unknown>;
}

/** What an error answer says, before it is dressed for a transport. */
export interface ErrorAnswer {
  status: number;
  message: string;
  data: ErrorData;
}

/** The `data` for a refusal by a rule: the reason and what the DomainError tells the client. */
export function refusalData(data: ErrorData, refusal: DomainError): ErrorData {
  data.reason = refusal.reason;
  if (refusal.field) data.fieldErrors = { [refusal.field]: [refusal.message] };
  if (refusal.retryAfterSeconds !== undefined) data.retryAfterSeconds = refusal.retryAfterSeconds;
  if (refusal.details) data.details = refusal.details;
  return data;
}

/**
 * An error answered before any procedure ran (Fastify's refusals of the request, a spent rate
 * limit, no such route): by its status, or the status of the rule that refused.
 */
export function answerOf(status: number, message: string, refusal?: DomainError): ErrorAnswer {
  if (refusal) {
    const code = refusal.trpcCode;
    return { status: statusOfCode(code), message: refusal.message, data: refusalData({ code, httpStatus: statusOfCode(code) }, refusal) };
  }
  const code = codeOfStatus(status);
  const reason = reasonOfCode(code);
  const data: ErrorData = { code, httpStatus: status };
  if (reason) data.reason = reason;
  return { status, message: status >= 500 ? 'Internal server error' : message, data };
}

/** The JSON-RPC code tRPC's envelope carries for a tRPC code. */
export function jsonRpcCodeOf(code: TRPC_ERROR_CODE_KEY): number {
  return TRPC_ERROR_CODES_BY_KEY[code];
}

/** tRPC's error envelope, as its own error formatter (`trpc.ts`) shapes a procedure's errors. */
export function trpcErrorBody({ message, data }: ErrorAnswer) {
  return { error: { message, code: jsonRpcCodeOf(data.code), data } };
}

/** The REST body before it becomes a problem document (`problemOf`): the bridge's shape. */
export function restErrorBody({ message, data }: ErrorAnswer) {
  return { message, code: data.code, data };
}

/**
 * REST errors as RFC 9457 problem details (`application/problem+json`). The members clients of
 * the earlier shape read stay as extension members: `code` (the status as a word), `reason` (the
 * rule, for translating), `fieldErrors`, `retryAfterSeconds` and `details`, and, for clients
 * written before, `message` and `data` unchanged.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Where a reason's `type` points: one URN per rule, documented in the OpenAPI document. */
export const PROBLEM_TYPE_PREFIX = 'urn:stm:problem:';

export function problemTypeOf(reason: string | undefined): string {
  return reason ? `${PROBLEM_TYPE_PREFIX}${reason.toLowerCase().replaceAll('_', '-')}` : 'about:blank';
}

interface EarlierErrorBody {
  message?: unknown;
  code?: unknown;
  reason?: unknown;
  data?: { reason?: unknown; fieldErrors?: unknown; retryAfterSeconds?: unknown; details?: unknown; httpStatus?: unknown };
}

function oauthErrorOf(status: number, reason: string | undefined, fieldErrors: unknown): string {
  // As token endpoints with a second step say it (the challenge is in `details`).
  if (reason === 'MFA_REQUIRED') return 'mfa_required';
  if (reason === 'INVALID_CREDENTIALS' || reason === 'MFA_CODE_INVALID' || reason === 'MFA_CHALLENGE_INVALID') return 'invalid_grant';
  if (fieldErrors && typeof fieldErrors === 'object' && Object.hasOwn(fieldErrors, 'grant_type')) return 'unsupported_grant_type';
  if (status === 429 || status === 503) return 'temporarily_unavailable';
  return 'invalid_request';
}

/** RFC 6749 allows printable ASCII without `"` and `\` in `error_description`. */
function oauthDescription(text: string): string {
  return text.replaceAll('"', "'").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
}

/**
 * The problem document for an error body of the earlier shape; undefined when the body is not
 * one. `oauth`: the operation answers in OAuth 2.0's words too (RFC 6749 §5.2, the procedure's
 * `meta.oauthErrors`), as token clients read them.
 */
export function problemOf(path: string, status: number, body: unknown, oauth = false): Record<string, unknown> | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const earlier = body as EarlierErrorBody;
  if (typeof earlier.message !== 'string' || typeof earlier.code !== 'string') return undefined;
  const data = earlier.data && typeof earlier.data === 'object' ? earlier.data : undefined;
  const reasonValue = data?.reason ?? earlier.reason;
  const reason = typeof reasonValue === 'string' ? reasonValue : undefined;
  const problem: Record<string, unknown> = {
    type: problemTypeOf(reason),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: earlier.message,
    instance: path,
    ...body,
  };
  if (reason) problem.reason = reason;
  // A request that could not be read names no path.
  if (path === '') delete problem.instance;
  // A refusal answered with another status than its code's (a version conflict named by If-Match
  // fails the precondition, 412): the body says the status the client got.
  if (data && typeof data.httpStatus === 'number' && data.httpStatus !== status) {
    const code = codeOfStatus(status);
    problem.code = code;
    problem.data = { ...data, code, httpStatus: status };
  }
  if (data?.fieldErrors !== undefined) problem.fieldErrors = data.fieldErrors;
  if (data?.retryAfterSeconds !== undefined) problem.retryAfterSeconds = data.retryAfterSeconds;
  if (data?.details !== undefined) problem.details = data.details;
  if (oauth) {
    problem.error = oauthErrorOf(status, reason, data?.fieldErrors);
    problem.error_description = oauthDescription(earlier.message);
  }
  return problem;
}
