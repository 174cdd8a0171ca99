/**
 * The REST bridge is our own Fastify handler over the operations trpc-to-openapi documents; the
 * library's own adapter stays the reference. Two apps on one database, one with each, are sent
 * the same requests (answered, refused, malformed, odd paths): status, body and the headers a
 * client reads must come out the same.
 */
import { createTestDatabase, type TestDatabase } from '@stm/db/testing';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTestApp, signUp, signUpAdmin, type TestApp, withoutFields } from './helpers';

let database: TestDatabase;
let ours: TestApp;
let reference: TestApp;
let userToken: string;
let adminToken: string;
let userId: number;
let taskId: number;

beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
  ours = await createTestApp({}, { database });
  reference = await createTestApp({}, { database, referenceRestBridge: true });
  const user = await signUp(ours, 'bridge_user');
  userToken = user.accessToken;
  userId = user.user.id;
  adminToken = (await signUpAdmin(ours, 'bridge_admin')).accessToken;
  taskId = (await ours.caller(userToken).tasks.create({ title: 'Compare the bridges', priority: 'high' })).id;
  await ours.caller(userToken).tasks.create({ title: 'A second one', status: 'in_progress' });
});
afterAll(async () => {
  await ours?.close();
  await reference?.close();
  await database?.close();
});

interface Call {
  name: string;
  request: InjectOptions;
  /** Fields of the answer each call changes (a second update has its own version and time). */
  varies?: string[];
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };

const calls = (): Call[] => [
  { name: 'a void query', request: { method: 'GET', url: '/api/auth/me', headers: bearer(userToken) } },
  { name: 'a void query without a token', request: { method: 'GET', url: '/api/auth/me' } },
  { name: 'a forged token', request: { method: 'GET', url: '/api/auth/me', headers: bearer('not.a.token') } },
  { name: 'a malformed Authorization header', request: { method: 'GET', url: '/api/auth/me', headers: { authorization: 'Basic abc' } } },
  { name: 'a query string, coerced', request: { method: 'GET', url: '/api/tasks?limit=1&sort=priority&order=asc', headers: bearer(userToken) } },
  { name: 'a repeated query field', request: { method: 'GET', url: '/api/tasks?status=todo&status=in_progress', headers: bearer(userToken) } },
  { name: 'an array field given once', request: { method: 'GET', url: '/api/tasks?status=todo', headers: bearer(userToken) } },
  { name: 'an empty query value', request: { method: 'GET', url: '/api/tasks?search=&limit=', headers: bearer(userToken) } },
  { name: 'a query that fails validation', request: { method: 'GET', url: '/api/tasks?limit=0&extra=1', headers: bearer(userToken) } },
  { name: 'a number that is not one', request: { method: 'GET', url: '/api/tasks?limit=abc', headers: bearer(userToken) } },
  { name: 'a cursor that is not one', request: { method: 'GET', url: '/api/tasks?cursor=%25%25', headers: bearer(userToken) } },
  { name: 'a static path before a parameter', request: { method: 'GET', url: '/api/tasks/stats', headers: bearer(userToken) } },
  { name: 'a path parameter', request: { method: 'GET', url: `/api/tasks/${taskId}`, headers: bearer(userToken) } },
  { name: 'a path parameter in another case', request: { method: 'GET', url: `/API/Tasks/${taskId}`, headers: bearer(userToken) } },
  { name: 'a trailing slash', request: { method: 'GET', url: `/api/tasks/${taskId}/`, headers: bearer(userToken) } },
  { name: 'dot segments', request: { method: 'GET', url: `/api/auth/../tasks/${taskId}`, headers: bearer(userToken) } },
  { name: 'an encoded path parameter', request: { method: 'GET', url: `/api/tasks/%31`, headers: bearer(userToken) } },
  { name: 'a path parameter that is not a number', request: { method: 'GET', url: '/api/tasks/abc', headers: bearer(userToken) } },
  { name: "someone else's task", request: { method: 'GET', url: `/api/tasks/${taskId}`, headers: bearer(adminToken) } },
  { name: 'an unknown path', request: { method: 'GET', url: '/api/nothing/here', headers: bearer(userToken) } },
  { name: 'a known path, wrong method', request: { method: 'PUT', url: '/api/auth/me', headers: { ...bearer(userToken), ...json }, payload: '{}' } },
  { name: 'HEAD of a GET operation', request: { method: 'HEAD', url: `/api/tasks/${taskId}`, headers: bearer(userToken) } },
  { name: 'HEAD without a token', request: { method: 'HEAD', url: '/api/auth/me' } },
  { name: 'HEAD of an unknown path', request: { method: 'HEAD', url: '/api/nothing/here', headers: bearer(userToken) } },
  { name: 'a user at an admin operation', request: { method: 'GET', url: '/api/admin/users?limit=1', headers: bearer(userToken) } },
  { name: 'an admin at an admin operation', request: { method: 'GET', url: `/api/admin/users/${userId}`, headers: bearer(adminToken) } },
  {
    name: 'a body',
    request: { method: 'PATCH', url: `/api/tasks/${taskId}`, headers: { ...bearer(userToken), ...json }, payload: '{"title":"Renamed"}' },
    varies: ['version', 'updatedAt'],
  },
  {
    name: 'a body whose id disagrees with the path',
    request: { method: 'PATCH', url: `/api/tasks/${taskId}`, headers: { ...bearer(userToken), ...json }, payload: '{"id":1,"title":"x"}' },
    varies: ['version', 'updatedAt'],
  },
  {
    name: 'a stale version',
    request: { method: 'PATCH', url: `/api/tasks/${taskId}`, headers: { ...bearer(userToken), ...json }, payload: '{"title":"x","expectedVersion":1}' },
  },
  {
    name: 'a body that fails validation',
    request: { method: 'POST', url: '/api/tasks', headers: { ...bearer(userToken), ...json }, payload: '{"title":"","extra":1}' },
  },
  { name: 'a body that is not an object', request: { method: 'POST', url: '/api/tasks', headers: { ...bearer(userToken), ...json }, payload: '[1,2]' } },
  {
    name: 'a body of the wrong type',
    request: { method: 'POST', url: '/api/tasks', headers: { ...bearer(userToken), 'content-type': 'text/plain' }, payload: 'title' },
  },
  {
    name: 'a media type in capitals, with a parameter',
    request: {
      method: 'POST',
      url: '/api/tasks',
      headers: { ...bearer(userToken), 'content-type': 'Application/JSON; Charset=UTF-8' },
      payload: '{"title":"Shouted"}',
    },
    varies: ['id', 'position', 'createdAt', 'updatedAt'],
  },
  { name: 'a JSON body that is not JSON', request: { method: 'POST', url: '/api/tasks', headers: { ...bearer(userToken), ...json }, payload: '{"title":' } },
  {
    name: 'a created answer',
    request: { method: 'POST', url: '/api/tasks', headers: { ...bearer(userToken), ...json }, payload: '{"title":"New"}' },
    varies: ['id', 'position', 'createdAt', 'updatedAt'],
  },
  { name: 'a void mutation without a body', request: { method: 'POST', url: '/api/auth/logout-all', headers: bearer('not.a.token') } },
  {
    name: 'a public mutation refused',
    request: { method: 'POST', url: '/api/auth/login', headers: json, payload: '{"username":"nobody_here","password":"wrong password here"}' },
  },
  {
    name: 'the OAuth2 form, refused',
    request: {
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=nobody_here&password=wrong+password+here',
    },
  },
  { name: 'a delete of nothing', request: { method: 'DELETE', url: '/api/tasks/999999', headers: bearer(userToken) } },
];

const compared = ['content-type', 'www-authenticate', 'retry-after', 'cache-control', 'etag', 'content-length'];

function withoutVarying(body: unknown, call: Call) {
  if (!call.varies || !body || typeof body !== 'object') return body;
  return withoutFields(body as Record<string, unknown>, call.varies, call.name);
}

describe('the REST bridge and trpc-to-openapi’s own adapter', () => {
  it('answer every kind of request alike', async () => {
    for (const call of calls()) {
      const mine = await ours.app.inject(call.request);
      const theirs = await reference.app.inject(call.request);
      expect(mine.statusCode, call.name).toBe(theirs.statusCode);
      const parse = (text: string) => (text === '' ? '' : JSON.parse(text));
      expect(withoutVarying(parse(mine.body), call), call.name).toEqual(withoutVarying(parse(theirs.body), call));
      // A call that changes what it answers (`varies`) answers a new version, and may differ in length.
      const headers = call.varies ? compared.filter((header) => header !== 'etag' && header !== 'content-length') : compared;
      for (const header of headers) expect(mine.headers[header], `${call.name}: ${header}`).toEqual(theirs.headers[header]);
    }
  });

  it('answers with what the operations promise', async () => {
    const me = await ours.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(userToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: userId, username: 'bridge_user', role: 'user' });
    const page = await ours.app.inject({ method: 'GET', url: '/api/tasks?status=in_progress', headers: bearer(userToken) });
    expect(page.json().items.map((task: { title: string }) => task.title)).toEqual(['A second one']);
    const created = await ours.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: { ...bearer(userToken), ...json },
      payload: '{"title":"Made over REST"}',
    });
    expect(created.statusCode).toBe(201);
    // HEAD is GET without the body: its status and headers, the ETag among them.
    const head = await ours.app.inject({ method: 'HEAD', url: `/api/tasks/${taskId}`, headers: bearer(userToken) });
    const get = await ours.app.inject({ method: 'GET', url: `/api/tasks/${taskId}`, headers: bearer(userToken) });
    expect([head.statusCode, head.body, head.headers.etag, head.headers['content-length']]).toEqual([200, '', get.headers.etag, get.headers['content-length']]);
    expect((await ours.app.inject({ method: 'HEAD', url: '/api/tasks/999999', headers: bearer(userToken) })).statusCode).toBe(404);
    expect((await ours.app.inject({ method: 'HEAD', url: '/api/auth/me' })).statusCode).toBe(401);
    const shouted = await ours.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: { ...bearer(userToken), 'content-type': 'Application/JSON' },
      payload: '{"title":"Media types are case-insensitive"}',
    });
    expect(shouted.statusCode).toBe(201);
    const poisoned = await ours.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: { ...bearer(userToken), ...json },
      payload: '{"title":"x","__proto__":{"admin":true}}',
    });
    expect([poisoned.statusCode, poisoned.json().detail]).toEqual([400, 'The JSON body has a "__proto__" or "constructor.prototype" key, which is refused']);
    const plain = await ours.app.inject({ method: 'POST', url: '/api/tasks', headers: { ...bearer(userToken), 'content-type': 'text/plain' }, payload: 'x' });
    expect([plain.statusCode, plain.json().reason, plain.json().detail]).toEqual([
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Unsupported content-type "text/plain": send application/json',
    ]);
    const unknown = await ours.app.inject({ method: 'GET', url: '/api/tasks/stats/extra', headers: bearer(userToken) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND', message: 'Not found' });
  });
});
