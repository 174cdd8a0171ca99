import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, rest, signUp, type TestApp, trpc } from './helpers';

/** Bad input answers 400 naming the field (or 404 for an id that can be no task), never 500. */
let t: TestApp;
let token: string;
let taskId: number;

beforeAll(async () => {
  t = await createTestApp();
  ({ accessToken: token } = await signUp(t, 'validator'));
  taskId = (await t.caller(token).tasks.create({ title: 'Valid' })).id;
});
afterAll(() => t.close());

function expectFieldError(response: LightMyRequestResponse, field: string) {
  expect(response.statusCode, response.body).toBe(400);
  const body = json(response);
  expect(body.data.reason).toBe('VALIDATION_FAILED');
  expect(Object.keys(body.data.fieldErrors)).toContain(field);
  expect(response.body).not.toMatch(/stack|node_modules|at \w+ \(/);
}

const invalidTaskFields: [string, Record<string, unknown>, string][] = [
  ['a missing title', {}, 'title'],
  ['an empty title', { title: '' }, 'title'],
  ['a blank title', { title: '   \t\n ' }, 'title'],
  ['a title of 201 characters', { title: 'x'.repeat(201) }, 'title'],
  ['a title with U+0000', { title: 'nul\u0000byte' }, 'title'],
  ['a numeric title', { title: 42 }, 'title'],
  ['a null title', { title: null }, 'title'],
  ['a description of 10001 characters', { title: 'ok', description: 'd'.repeat(10_001) }, 'description'],
  ['a description with U+0000', { title: 'ok', description: '\u0000' }, 'description'],
  ['a null description', { title: 'ok', description: null }, 'description'],
  ['an unknown status', { title: 'ok', status: 'blocked' }, 'status'],
  ['a status in another case', { title: 'ok', status: 'DONE' }, 'status'],
  ['an unknown priority', { title: 'ok', priority: 'urgent' }, 'priority'],
  ['a numeric priority', { title: 'ok', priority: 3 }, 'priority'],
  ['a due date that is not a date', { title: 'ok', dueAt: 'tomorrow' }, 'dueAt'],
  ['a due date without a time', { title: 'ok', dueAt: '2030-01-01' }, 'dueAt'],
  ['a due date without an offset', { title: 'ok', dueAt: '2030-01-01T00:00:00' }, 'dueAt'],
  ['an impossible due date', { title: 'ok', dueAt: '2030-02-30T00:00:00Z' }, 'dueAt'],
  ['a due date in year 0', { title: 'ok', dueAt: '0000-01-01T00:00:00Z' }, 'dueAt'],
  ['a due date past year 9999', { title: 'ok', dueAt: '9999-12-31T23:00:00-05:00' }, 'dueAt'],
  ['a numeric due date', { title: 'ok', dueAt: 1_700_000_000_000 }, 'dueAt'],
];

describe('create', () => {
  it.each(invalidTaskFields)('refuses %s', async (_label, body, field) => {
    expectFieldError(await rest(t.app, 'POST', '/api/tasks', { token, body }), field);
  });

  it('accepts the edges: 200-character title (after trimming), 10000-character description, null due date', async () => {
    const response = await rest(t.app, 'POST', '/api/tasks', {
      token,
      body: { title: ` ${'t'.repeat(200)} `, description: 'd'.repeat(10_000), dueAt: null },
    });
    expect(response.statusCode).toBe(201);
    expect(json(response).title).toHaveLength(200);
  });

  it('refuses a body that is not an object, and malformed JSON', async () => {
    for (const payload of ['[]', '"title"', 'null', '{"title": "x",']) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/tasks',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode, payload).toBe(400);
    }
  });
  // Such names, as keys of a plain object, read Object.prototype's members: collecting the field
  // errors under them once threw, and the client got a 500 instead of a 400.
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'refuses a field named %s with 400 naming it, over tRPC and REST',
    async (field) => {
      const payload = `{"title":"ok",${JSON.stringify(field)}:1}`;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const overTrpc = await t.app.inject({ method: 'POST', url: '/trpc/tasks.create', headers, payload });
      expect(overTrpc.statusCode, overTrpc.body).toBe(400);
      expect(json(overTrpc).error.data.fieldErrors[field]).toEqual(['This field cannot be set']);
      const overRest = await t.app.inject({ method: 'POST', url: '/api/tasks', headers, payload });
      // Fastify's JSON parser refuses "__proto__" itself; every other name reaches the schema.
      expect(overRest.statusCode, overRest.body).toBe(400);
      if (field !== '__proto__') expectFieldError(overRest, field);
    },
  );
});

describe('update', () => {
  it.each(invalidTaskFields.filter(([, body]) => 'title' in body || Object.keys(body).length > 1))('refuses %s', async (_label, body, field) => {
    // Drop the filler title of the create cases so only the field under test is wrong.
    const patch = field === 'title' ? body : Object.fromEntries(Object.entries(body).filter(([key]) => key !== 'title'));
    expectFieldError(await rest(t.app, 'PATCH', `/api/tasks/${taskId}`, { token, body: patch }), field);
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['fractional', 1.5],
    ['a string', 'one'],
    ['huge', 2 ** 31],
  ])('refuses an expectedVersion that is %s', async (_label, expectedVersion) => {
    expectFieldError(await rest(t.app, 'PATCH', `/api/tasks/${taskId}`, { token, body: { title: 'x', expectedVersion } }), 'expectedVersion');
  });

  it('refuses a patch that changes nothing', async () => {
    for (const body of [{}, { expectedVersion: 1 }]) {
      const response = await rest(t.app, 'PATCH', `/api/tasks/${taskId}`, { token, body });
      expect(response.statusCode).toBe(400);
      expect(json(response).data.fieldErrors._).toEqual([expect.stringContaining('at least one')]);
    }
    expect((await t.caller(token).tasks.get({ id: taskId })).version).toBe(1);
  });
});

describe('ids', () => {
  const malformed = ['abc', '-1', '0', '1.5', '99999999999', '2147483648', "1'%20OR%20'1'='1", '1;DROP%20TABLE%20tasks', '%00', 'NaN', 'Infinity'];

  it.each(malformed)('answers 400 for the id %s on every route that takes one', async (id) => {
    for (const [method, body] of [['GET'], ['PATCH', { title: 'x' }], ['DELETE']] as const) {
      const response = await rest(t.app, method, `/api/tasks/${id}`, { token, ...(body ? { body } : {}) });
      expectFieldError(response, 'id');
    }
  });

  it('answers 404 for a well-formed id of no task, at the top of the range too', async () => {
    for (const id of ['2147483647', '1000000']) {
      expect((await rest(t.app, 'GET', `/api/tasks/${id}`, { token })).statusCode).toBe(404);
    }
  });

  it('answers 400 for malformed ids over tRPC too', async () => {
    for (const id of ['abc', -1, 2 ** 40, '1 or 1=1', null]) {
      const response = await trpc(t.app, 'query', 'tasks.get', { id }, { token });
      expect(response.statusCode, String(id)).toBe(400);
    }
  });

  it.each([
    ['no ids', { ids: [] }, 'ids'],
    ['101 ids', { ids: Array.from({ length: 101 }, (_, i) => i + 1) }, 'ids'],
    ['a repeated id', { ids: [taskId, taskId] }, 'ids'],
    ['a malformed id', { ids: [taskId, 'abc'] }, 'ids.1'],
    ['a negative id', { ids: [-5] }, 'ids.0'],
    ['ids that are not a list', { ids: taskId }, 'ids'],
  ])('refuses bulk operations with %s', async (_label, body, field) => {
    expectFieldError(await rest(t.app, 'POST', '/api/tasks/bulk-delete', { token, body }), field);
    expectFieldError(await rest(t.app, 'POST', '/api/tasks/bulk-update', { token, body: { ...body, changes: { status: 'done' } } }), field);
    expect(await t.caller(token).tasks.get({ id: taskId })).toMatchObject({ status: 'todo' });
  });

  it.each([
    ['no changes', {}, 'changes'],
    ['an unknown status', { status: 'paused' }, 'changes.status'],
    ['an unknown priority', { priority: 'p0' }, 'changes.priority'],
    ['a malformed due date', { dueAt: 'soon' }, 'changes.dueAt'],
    ['a title (not bulk-editable)', { title: 'All the same' }, 'changes.title'],
  ])('refuses bulk changes with %s', async (_label, changes, field) => {
    expectFieldError(await rest(t.app, 'POST', '/api/tasks/bulk-update', { token, body: { ids: [taskId], changes } }), field);
  });
});
