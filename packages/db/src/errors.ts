/** PostgreSQL SQLSTATE codes the application reacts to. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';

function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
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

export function isRetryableTransactionError(error: unknown): boolean {
  const state = sqlState(error);
  return state === SERIALIZATION_FAILURE || state === DEADLOCK_DETECTED;
}

/**
 * True when the database could not be reached or dropped the connection: the request may succeed
 * later and the client should be told "unavailable", not "internal error".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state === undefined) {
    const message = error instanceof Error ? error.message : '';
    return /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
      message,
    );
  }
  return (
    state.startsWith('08') || // connection exceptions
    state === '57P01' || // admin_shutdown (pg_terminate_backend)
    state === '57P02' || // crash_shutdown
    state === '57P03' || // cannot_connect_now
    state === '57014' || // query_canceled (statement_timeout)
    state === '53300' || // too_many_connections
    state === '3D000' || // the database is gone or refusing connections
    state === '55000' || // object_not_in_prerequisite_state (database not accepting connections)
    state === 'ECONNREFUSED' ||
    state === 'ECONNRESET' ||
    state === 'ETIMEDOUT' ||
    state === 'EPIPE'
  );
}
