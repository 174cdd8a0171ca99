import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type TestApp } from './helpers';

/**
 * Every error a client can get, whoever raised it (a procedure's rule, tRPC, Fastify refusing the
 * request, no such route), comes out of one table (`errors.ts`): the same code, status and reason
 * on tRPC and REST, and in tRPC's envelope the JSON-RPC code of that status.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ BODY_LIMIT_BYTES: '4096' });
});
afterAll(() => t.close());

const tooLarge = JSON.stringify({ username: 'x'.repeat(8_000), password: 'y' });

interface Expected {
  status: number;
  code: keyof typeof TRPC_ERROR_CODES_BY_KEY;
  reason: string;
}

function expectTrpc(response: LightMyRequestResponse, expected: Expected) {
  expect(response.statusCode).toBe(expected.status);
  // (tRPC's own resolver answers some refusals, the 415, as text/plain: the body is JSON all the same.)
  const body = json<{ error: { code: number; message: string; data: Record<string, unknown> } }>(response);
  expect(body.error.data).toMatchObject({ code: expected.code, httpStatus: expected.status, reason: expected.reason });
  expect(body.error.code).toBe(TRPC_ERROR_CODES_BY_KEY[expected.code]);
  expect(body.error.message).toEqual(expect.any(String));
}

function expectRest(response: LightMyRequestResponse, expected: Expected, instance: string) {
  expect(response.statusCode).toBe(expected.status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(json(response)).toMatchObject({
    type: `urn:stm:problem:${expected.reason.toLowerCase().replaceAll('_', '-')}`,
    status: expected.status,
    instance,
    code: expected.code,
    reason: expected.reason,
    data: { code: expected.code, httpStatus: expected.status, reason: expected.reason },
  });
}

const post = (url: string, payload: string, type = 'application/json') => t.app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload });

describe('errors shaped in one place', () => {
  it('a body over the limit is 413 BODY_TOO_LARGE, with JSON-RPC code -32013 on tRPC', async () => {
    const expected = { status: 413, code: 'PAYLOAD_TOO_LARGE', reason: 'BODY_TOO_LARGE' } as const;
    expectTrpc(await post('/trpc/auth.login', tooLarge), expected);
    expectTrpc(await post('/%74rpc/auth.login', tooLarge), expected);
    expectRest(await post('/api/auth/login', tooLarge), expected, '/api/auth/login');
  });

  it('no such route or procedure is 404 NOT_FOUND, with JSON-RPC code -32004 on tRPC', async () => {
    const expected = { status: 404, code: 'NOT_FOUND', reason: 'NOT_FOUND' } as const;
    expectTrpc(await t.app.inject({ method: 'GET', url: '/trpc/nope.nothing' }), expected);
    expectTrpc(await t.app.inject({ method: 'GET', url: '/trpc' }), expected);
    expectRest(await t.app.inject({ method: 'GET', url: '/api/nope' }), expected, '/api/nope');
    // Elsewhere, the earlier shape: the same members, no envelope.
    const elsewhere = await t.app.inject({ method: 'GET', url: '/nope' });
    expect(elsewhere.statusCode).toBe(404);
    expect(json(elsewhere)).toEqual({ message: 'No route GET /nope', code: 'NOT_FOUND', data: { code: 'NOT_FOUND', httpStatus: 404, reason: 'NOT_FOUND' } });
  });

  it('malformed JSON is 400 MALFORMED_REQUEST (JSON-RPC -32600 on tRPC, as tRPC answers it), alone or in a batch', async () => {
    const expected = { status: 400, code: 'BAD_REQUEST', reason: 'MALFORMED_REQUEST' } as const;
    expectTrpc(await post('/trpc/auth.login', '{"username": "half'), expected);
    const batch = await post('/trpc/auth.login,auth.login?batch=1', '{"username": "half');
    expect(batch.statusCode).toBe(400);
    for (const answer of json<{ error: { code: number; data: Record<string, unknown> } }[]>(batch)) {
      expect(answer.error).toMatchObject({ code: TRPC_ERROR_CODES_BY_KEY.BAD_REQUEST, data: { code: 'BAD_REQUEST', reason: 'MALFORMED_REQUEST' } });
    }
    expectRest(await post('/api/auth/login', '{"username": "half'), expected, '/api/auth/login');
  });

  it('a body of a type no route reads is 415 UNSUPPORTED_MEDIA_TYPE, with JSON-RPC code -32015 on tRPC', async () => {
    const expected = { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', reason: 'UNSUPPORTED_MEDIA_TYPE' } as const;
    expectTrpc(await post('/trpc/auth.login', 'hello', 'text/plain'), expected);
    expectRest(await post('/api/tasks', 'hello', 'text/plain'), expected, '/api/tasks');
  });

  it('a rule’s refusal has the same reason and status on both, and the sign-in speaks OAuth 2.0 (its meta says so)', async () => {
    const credentials = JSON.stringify({ username: 'nobody_here', password: 'not the password' });
    const expected = { status: 401, code: 'UNAUTHORIZED', reason: 'INVALID_CREDENTIALS' } as const;
    expectTrpc(await post('/trpc/auth.login', credentials), expected);
    const signIn = await post('/api/auth/login', credentials);
    expectRest(signIn, expected, '/api/auth/login');
    expect(json(signIn)).toMatchObject({ error: 'invalid_grant' });
    // Before the procedure runs, the OAuth words come from the same meta.
    expect(json(await post('/api/auth/login', tooLarge))).toMatchObject({ error: 'invalid_request' });
    // Other operations do not speak OAuth.
    expect(json(await post('/api/tasks', tooLarge))).not.toHaveProperty('error');
  });
});
