import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

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
  data?: { reason?: unknown; fieldErrors?: unknown; retryAfterSeconds?: unknown; details?: unknown };
}

/** The sign-in's errors in OAuth 2.0's words too (RFC 6749 §5.2), as token clients read them. */
const OAUTH_TOKEN_PATHS = new Set(['/api/auth/login', '/api/auth/login/mfa']);

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

/** The problem document for an error body of the earlier shape; undefined when the body is not one. */
export function problemOf(path: string, status: number, body: unknown): Record<string, unknown> | undefined {
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
  if (data?.fieldErrors !== undefined) problem.fieldErrors = data.fieldErrors;
  if (data?.retryAfterSeconds !== undefined) problem.retryAfterSeconds = data.retryAfterSeconds;
  if (data?.details !== undefined) problem.details = data.details;
  if (OAUTH_TOKEN_PATHS.has(path)) {
    problem.error = oauthErrorOf(status, reason, data?.fieldErrors);
    problem.error_description = oauthDescription(earlier.message);
  }
  return problem;
}

/**
 * An onSend hook: a JSON error answered on a REST path becomes a problem document. Decided by the
 * matched route where there is one (the router decodes `/%61pi/…` to `/api/…`), else by the path.
 */
export function restProblemDetails(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) {
  const status = reply.statusCode;
  const route = request.routeOptions.url ?? request.requestPath;
  if (status < 400 || typeof payload !== 'string' || !route.startsWith('/api/')) { done(null, payload); return; }
  const type = reply.getHeader('content-type');
  if (typeof type !== 'string' || !type.startsWith('application/json')) { done(null, payload); return; }
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    done(null, payload); return;
  }
  const problem = problemOf(request.requestPath, status, body);
  if (!problem) { done(null, payload); return; }
  reply.header('content-type', PROBLEM_CONTENT_TYPE);
  done(null, JSON.stringify(problem));
}
