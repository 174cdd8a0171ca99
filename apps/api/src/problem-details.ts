import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemOf } from './errors';

/**
 * An onSend hook: a JSON error answered on a REST path becomes a problem document (`problemOf`).
 * Decided by the matched route where there is one (the router decodes `/%61pi/…` to `/api/…`),
 * else by the path. `oauthPaths`: the REST paths whose procedures answer errors in OAuth 2.0's
 * words too (`meta.oauthErrors`).
 */
export function restProblemDetails(oauthPaths: ReadonlySet<string>) {
  return (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? request.requestPath;
    if (status < 400 || typeof payload !== 'string' || !route.startsWith('/api/')) {
      done(null, payload);
      return;
    }
    const type = reply.getHeader('content-type');
    if (typeof type !== 'string' || !type.startsWith('application/json')) {
      done(null, payload);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(payload);
    } catch {
      done(null, payload);
      return;
    }
    const problem = problemOf(request.requestPath, status, body, oauthPaths.has(request.requestPath));
    if (!problem) {
      done(null, payload);
      return;
    }
    reply.header('content-type', PROBLEM_CONTENT_TYPE);
    done(null, JSON.stringify(problem));
  };
}
