/** PostgreSQL SQLSTATE codes the application reacts to. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';
const QUERY_CANCELED = '57014';
const INVALID_PARAMETER_VALUE = '22023';

function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlState(error) !== UNIQUE_VIOLATION) return false;
  return constraint === undefined || (error as { constraint?: string }).constraint === constraint;
}

export function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === FOREIGN_KEY_VIOLATION;
}

/** A statement stopped by `statement_timeout` (or cancelled): on its own, not the database's health. */
export function isQueryCanceled(error: unknown): boolean {
  return sqlState(error) === QUERY_CANCELED;
}

/** A value the statement cannot use as a parameter of a function, such as an unknown time zone name. */
export function isInvalidParameter(error: unknown): boolean {
  return sqlState(error) === INVALID_PARAMETER_VALUE;
}

/** The database refused who connected (class 28: a wrong password, an unknown role): the configuration's to fix. */
export function isDatabaseLoginRefused(error: unknown): boolean {
  return sqlState(error)?.startsWith('28') ?? false;
}

export function isRetryableTransactionError(error: unknown): boolean {
  const state = sqlState(error);
  return state === SERIALIZATION_FAILURE || state === DEADLOCK_DETECTED;
}

/** Node's socket and name-lookup errors: the database host cannot be reached right now. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * What pg and its pool say when a connection could not be had or was lost: no SQLSTATE, only a
 * message. Among them a connection attempt that timed out, a pool with no free connection in
 * time, a socket closed under a query, a query the client gave up waiting for, a pool being
 * closed on shutdown.
 */
const CONNECTION_LOST =
  /timeout exceeded when trying to connect|^timeout expired$|Connection terminated|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|driver has already been destroyed/i;

/**
 * True when the database could not be reached or dropped the connection: the request may succeed
 * later and the client should be told "unavailable", not "internal error".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state === undefined) return error instanceof Error && CONNECTION_LOST.test(error.message);
  return (
    state.startsWith('08') || // connection exceptions
    state === '57P01' || // admin_shutdown (pg_terminate_backend)
    state === '57P02' || // crash_shutdown
    state === '57P03' || // cannot_connect_now (starting up, shutting down, in recovery)
    state === '57014' || // query_canceled (statement_timeout)
    state === '53300' || // too_many_connections
    state === '3D000' || // invalid_catalog_name: the database does not exist (yet, or any more)
    state === '55000' || // object_not_in_prerequisite_state: the database is not accepting connections
    NETWORK_ERRORS.has(state)
  );
}
