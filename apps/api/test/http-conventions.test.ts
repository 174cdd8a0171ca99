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
    expect(json(invalid)).toMatchObject({
      type: 'urn:stm:problem:validation-failed',
      status: 400,
      reason: 'VALIDATION_FAILED',
      fieldErrors: { title: expect.any(Array) },
    });
    const missing = await rest(t.app, 'GET', '/api/no-such-thing');
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(json(missing)).toMatchObject({ status: 404, title: 'Not Found', instance: '/api/no-such-thing' });
    const anonymous = await rest(t.app, 'GET', '/api/auth/me');
    expect(json(anonymous)).toMatchObject({ type: 'urn:stm:problem:unauthenticated', status: 401, reason: 'UNAUTHENTICATED' });
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('a conflict keeps its details', async () => {
    const task = json<{ id: number; version: number }>(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Versioned' } }));
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
    const response = await rest(t.app, 'POST', '/api/auth/login', { form: form });
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

describe('Location on every 201', () => {
  it('names where what was created is read', async () => {
    const admin = await t.app.services.auth.createUser(
      { username: 'http_admin', passwordHash: await t.app.services.hasher.hash(PASSWORD), role: 'admin' },
      null,
      null,
      'user.created',
    );
    const adminToken = json(await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'http_admin', password: PASSWORD } })).access_token;
    const friend = await signUp(t, 'http_friend');

    const task = await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Located' } });
    expect([task.statusCode, task.headers.location]).toEqual([201, `/api/tasks/${json(task).id}`]);
    expect((await rest(t.app, 'GET', task.headers.location as string, { token })).statusCode).toBe(200);

    const project = await rest(t.app, 'POST', '/api/projects', { token, body: { name: 'Located project' } });
    const projectId = json(project).id;
    expect([project.statusCode, project.headers.location]).toEqual([201, `/api/projects/${projectId}`]);

    const member = await rest(t.app, 'POST', `/api/projects/${projectId}/members`, { token, body: { username: 'http_friend', role: 'viewer' } });
    expect(member.statusCode, member.body).toBe(201);
    // Relative to the request's path (RFC 9110 §10.2.2): /api/projects/{id}/members/{userId}.
    expect(new URL(member.headers.location as string, `http://host/api/projects/${projectId}/members`).pathname).toBe(
      `/api/projects/${projectId}/members/${friend.user.id}`,
    );

    const label = await rest(t.app, 'POST', `/api/projects/${projectId}/labels`, { token, body: { name: 'urgent' } });
    expect([label.statusCode, label.headers.location]).toEqual([201, `/api/labels/${json(label).id}`]);

    const inProject = json(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Commented', projectId } }));
    const comment = await rest(t.app, 'POST', `/api/tasks/${inProject.id}/comments`, { token, body: { body: 'A comment' } });
    expect([comment.statusCode, comment.headers.location]).toEqual([201, `/api/comments/${json(comment).id}`]);

    const registered = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'http_new', password: PASSWORD } });
    // No Location: the one URL of a user is an administrator's, which the new account may not read.
    expect([registered.statusCode, registered.headers.location]).toEqual([201, undefined]);
    const created = await rest(t.app, 'POST', '/api/admin/users', { token: adminToken, body: { username: 'http_made', password: PASSWORD, role: 'user' } });
    expect([created.statusCode, created.headers.location]).toEqual([201, `/api/admin/users/${json(created).id}`]);
    expect((await rest(t.app, 'GET', created.headers.location as string, { token: adminToken })).statusCode).toBe(200);
    expect(admin.id).toBeGreaterThan(0);
  });
});

describe('ETag and If-Match on a task, beside expectedVersion', () => {
  it('GET answers the version as a strong ETag; PATCH with the current one succeeds and answers the next', async () => {
    const task = json<{ id: number; version: number }>(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Tagged' } }));
    const read = await rest(t.app, 'GET', `/api/tasks/${task.id}`, { token });
    expect(read.headers.etag).toBe(`"${task.version}"`);
    const updated = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, {
      token,
      body: { title: 'Tagged again' },
      headers: { 'if-match': read.headers.etag as string },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.headers.etag).toBe(`"${task.version + 1}"`);
  });

  it('a stale If-Match is 412 and writes nothing, on PATCH and DELETE', async () => {
    const task = json<{ id: number; version: number }>(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Raced' } }));
    const stale = `"${task.version}"`;
    await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { title: 'Someone else' } });
    const patch = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, { token, body: { title: 'Mine' }, headers: { 'if-match': stale } });
    expect(patch.statusCode).toBe(412);
    expect(json(patch)).toMatchObject({ status: 412, reason: 'VERSION_CONFLICT', details: { currentVersion: task.version + 1 } });
    // The body names the status the client got, not the 409 of expectedVersion's refusal.
    expect(json(patch)).toMatchObject({ code: 'PRECONDITION_FAILED', data: { code: 'PRECONDITION_FAILED', httpStatus: 412 } });
    const remove = await rest(t.app, 'DELETE', `/api/tasks/${task.id}`, { token, headers: { 'if-match': stale } });
    expect(remove.statusCode).toBe(412);
    const after = await rest(t.app, 'GET', `/api/tasks/${task.id}`, { token });
    expect(json(after).title).toBe('Someone else');
    // Weak or malformed tags cannot match.
    for (const tag of [`W/"${task.version + 1}"`, 'nonsense']) {
      expect((await rest(t.app, 'DELETE', `/api/tasks/${task.id}`, { token, headers: { 'if-match': tag } })).statusCode, tag).toBe(412);
    }
    const current = await rest(t.app, 'DELETE', `/api/tasks/${task.id}`, { token, headers: { 'if-match': after.headers.etag as string } });
    expect(current.statusCode).toBe(200);
    expect((await rest(t.app, 'GET', `/api/tasks/${task.id}`, { token })).statusCode).toBe(404);
  });

  it('expectedVersion stays, with 409; on DELETE too', async () => {
    const task = json<{ id: number; version: number }>(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Versioned delete' } }));
    const stale = await rest(t.app, 'DELETE', `/api/tasks/${task.id}?expectedVersion=${task.version + 1}`, { token });
    expect(stale.statusCode).toBe(409);
    expect((await t.caller(token).tasks.delete({ id: task.id, expectedVersion: task.version })).ok).toBe(true);
  });

  it('If-Match and expectedVersion that disagree are refused', async () => {
    const task = json<{ id: number; version: number }>(await rest(t.app, 'POST', '/api/tasks', { token, body: { title: 'Disagreeing' } }));
    const response = await rest(t.app, 'PATCH', `/api/tasks/${task.id}`, {
      token,
      body: { title: 'x', expectedVersion: task.version },
      headers: { 'if-match': `"${task.version + 3}"` },
    });
    expect(response.statusCode).toBe(400);
  });
});

describe('the OpenAPI document says all of it', () => {
  it('problem details, Location, ETag, If-Match and 412', async () => {
    const document = json(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const createTask = document.paths['/tasks'].post;
    expect(createTask.responses['201'].headers.Location).toBeDefined();
    expect(createTask.responses['400'].content['application/problem+json']).toBeDefined();
    expect(document.paths['/tasks/{id}'].get.responses['200'].headers.ETag).toBeDefined();
    for (const method of ['patch', 'delete']) {
      const operation = document.paths['/tasks/{id}'][method];
      expect(
        operation.parameters.some((parameter: { in: string; name: string }) => parameter.in === 'header' && parameter.name === 'If-Match'),
        method,
      ).toBe(true);
      expect(operation.responses['412'], method).toBeDefined();
    }
    expect(document.components.schemas.Error.properties).toHaveProperty('type');
  });
});
