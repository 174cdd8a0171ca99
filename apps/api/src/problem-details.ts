import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { answerOf, PROBLEM_CONTENT_TYPE, problemOf, restErrorBody } from './errors';

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

/**
 * Fastify's `clientErrorHandler`: a request Node's parser could not read (headers over the size
 * limit, 431; headers too slow, 408; anything else, 400) answered as a problem document with its
 * reason, like every other refusal, rather than Fastify's own `{error, message, statusCode}`.
 * Which path it was for is not known, so the shape is the REST one. The connection then closes.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nothing left to answer (as Fastify's own handler does).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers are larger than the server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request did not arrive in time']
        : [400, 'The request could not be read as HTTP'];
  const body = JSON.stringify(problemOf('', status, restErrorBody(answerOf(status, message))));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
