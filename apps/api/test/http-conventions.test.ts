/**
 * The REST API speaks HTTP as generic clients expect: errors as RFC 9457 problem details, the
 * sign-in's errors in OAuth 2.0's words too (RFC 6749 §5.2), `Location` on what it creates, and
 * `ETag`/`If-Match` on a task beside `expectedVersion`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, signUp, type TestApp } from './helpers';

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await createTestApp();
  token = (await signUp(t, 'http_user')).accessToken;
});
afterAll(async () => t?.close());

describe('errors as problem details (RFC 9457)', () => {
  it('a refusal is application/problem+json with type, title, status, detail and instance, keeping code, reason and fieldErrors', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'http_user', password: PASSWORD } });
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json(response)).toMatchObject({
      type: 'urn:stm:problem:username-taken',
      title: 'Conflict',
      status: 409,
      detail: expect.any(String),
      instance: '/api/auth/register',
      code: 'CONFLICT',
      reason: 'USERNAME_TAKEN',
      fieldErrors: { username: [expect.any(String)] },
    });
  });

  it('invalid input names its fields; a missing route and a missing token are problems too', async () => {
    const invalid = await rest(t.app, 'POST', '/api/tasks', { token, body: { title: '' } });
    expect(invalid.statusCode).toBe(400);
    expect(json(invalid)).toMatchObject({ type: 'urn:stm:problem:validation-failed', status: 400, reason: 'VALIDATION_FAILED', fieldErrors: { title: expect.any(Array) } });
    const missing = await rest(t.app, 'GET', '/api/no-such-thing');
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json(missing)).toMatchObject({ status: 404, title: 'Not Found', instance: '/api/no-such-thing' });
    const anonymous = await rest(t.app, 'GET', '/api/auth/me');
    expect(json(anonymous)).toMatchObject({ type: 'urn:stm:problem:unauthenticated', status: 401, reason: 'UNAUTHENTICATED' });
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('a conflict keeps its details', async () => {
    const task = json(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Versioned' } }));
    const stale = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { title: 'Late', expectedVersion: task.version + 5 } });
    expect(stale.statusCode).toBe(409);
    expect(json(stale)).toMatchObject({ type: 'urn:stm:problem:version-conflict', reason: 'VERSION_CONFLICT', details: { currentVersion: task.version } });
  });

  it('tRPC keeps its own envelope', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/trpc/auth.me' });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(json(response).error.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'UNAUTHENTICATED' });
  });
});

describe('the sign-in errors in OAuth 2.0 words (RFC 6749 §5.2), at the statuses documented', () => {
  it.each([
    ['a wrong password', { username: 'http_user', password: 'not the password' }, 401, 'invalid_grant'],
    ['an unknown user', { username: 'nobody_here', password: 'not the password' }, 401, 'invalid_grant'],
    ['another grant type', { username: 'http_user', password: PASSWORD, grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
    ['no password', { username: 'http_user' }, 400, 'invalid_request'],
  ])('%s', async (_name, form, status, error) => {
    const response = await rest(t.app, 'POST', '/api/auth/login', { form: form as Record<string, string> });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = json(response);
    expect(body).toMatchObject({ error, error_description: expect.any(String), status });
    expect(body.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
  });

  it('other operations carry no OAuth error', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'http_user', password: PASSWORD } });
    expect(json(response).error).toBeUndefined();
  });
});
