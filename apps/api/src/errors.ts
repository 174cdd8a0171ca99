import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
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
} as const satisfies Record<string, TRPC_ERROR_CODE_KEY>;

export type ErrorReason = keyof typeof errorTable;

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && Object.hasOwn(errorTable, value);
}

/** The HTTP status a refusal is answered with, over tRPC and REST alike. */
export function httpStatusOf(reason: ErrorReason): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code: errorTable[reason] }));
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
