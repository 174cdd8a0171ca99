import { PromptCancelledError } from '@stm/prompt';
import { isApiError } from './api';
import { CliError, ExitCode } from './errors';

/** A failure as the user is told about it. */
export interface Failure {
  message: string;
  exitCode: ExitCode;
  /** The API's stable refusal code (`data.reason`). */
  reason?: string;
  httpStatus?: number;
  fieldErrors?: Record<string, string[]>;
  retryAfterSeconds?: number;
}

/** The API looked at the token itself and refused it, even after a renewal. */
const SESSION_REASONS = new Set(['UNAUTHENTICATED', 'INVALID_TOKEN']);

const NETWORK_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed',
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's TLS certificate is self-signed",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate cannot be verified",
};

export function describeFailure(error: unknown, apiUrl: string | undefined): Failure {
  if (error instanceof CliError) {
    return { message: error.message, exitCode: error.exitCode, ...(error.fieldErrors ? { fieldErrors: error.fieldErrors } : {}) };
  }
  if (error instanceof PromptCancelledError) return { message: 'Cancelled', exitCode: ExitCode.failed };
  if (isApiError(error)) {
    // The session link reports its own failures (not signed in, session ended) through tRPC.
    if (error.cause instanceof CliError || error.cause instanceof PromptCancelledError) return describeFailure(error.cause, apiUrl);
    const data = error.data;
    if (data) {
      const reason = data.reason;
      return {
        message: error.message,
        exitCode: data.httpStatus === 401 && reason && SESSION_REASONS.has(reason) ? ExitCode.signedOut : ExitCode.failed,
        httpStatus: data.httpStatus,
        ...(reason ? { reason } : {}),
        ...(data.fieldErrors ? { fieldErrors: data.fieldErrors } : {}),
        ...(data.retryAfterSeconds !== undefined ? { retryAfterSeconds: data.retryAfterSeconds } : {}),
      };
    }
    return describeTransportFailure(error, apiUrl ?? 'the configured URL');
  }
  return { message: error instanceof Error ? error.message : String(error), exitCode: ExitCode.failed };
}

/** No tRPC answer came back: the request never arrived, or something other than the API replied. */
function describeTransportFailure(error: Error, apiUrl: string): Failure {
  const causes = causesOf(error);
  if (causes.some((cause) => cause.name === 'TimeoutError')) {
    return { message: `The API at ${apiUrl} did not answer in time`, exitCode: ExitCode.unreachable };
  }
  for (const cause of causes) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code && NETWORK_PROBLEMS[code]) {
      return {
        message: `Cannot reach the API at ${apiUrl}: ${NETWORK_PROBLEMS[code]} (${code}). Is the server running there? --api or STM_API_URL point elsewhere`,
        exitCode: ExitCode.unreachable,
      };
    }
  }
  if (causes.some((cause) => cause.name === 'TypeError' && cause.message === 'fetch failed')) {
    const last = causes.at(-1);
    return { message: `Cannot reach the API at ${apiUrl}: ${last?.message ?? 'the request failed'}`, exitCode: ExitCode.unreachable };
  }
  return {
    message: `The server at ${apiUrl} did not answer as the STM API does (${error.message}); is --api right?`,
    exitCode: ExitCode.failed,
  };
}

/** The error and every cause under it, including each error of an AggregateError. */
function causesOf(error: unknown, seen = new Set<unknown>()): Error[] {
  if (!(error instanceof Error) || seen.has(error)) return [];
  seen.add(error);
  const nested = error instanceof AggregateError ? error.errors.flatMap((inner: unknown) => causesOf(inner, seen)) : [];
  return [error, ...causesOf(error.cause, seen), ...nested];
}
