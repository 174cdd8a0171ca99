/**
 * A single plain tRPC call is answered by the adapter's own short path, everything else by tRPC's
 * `resolveResponse`. A batch of one goes the long way, so for every kind of call (answered,
 * refused, malformed) the two must agree: same status, same envelope, same auth headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, signUpAdmin, type TestApp, withoutFields } from './helpers';

let t: TestApp;
let userToken: string;
let adminToken: string;
let taskId: number;

beforeAll(async () => {
  t = await createTestApp();
  userToken = (await signUp(t, 'single_call_user')).accessToken;
  adminToken = (await signUpAdmin(t, 'single_call_admin')).accessToken;
  taskId = (await t.caller(userToken).tasks.create({ title: 'Compare the paths' })).id;
});
afterAll(() => t.close());

type Kind = 'query' | 'mutation';
interface Call {
  name: string;
  kind: Kind;
  path: string;
  /** The input as sent: JSON text, or absent. */
  input?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Fields of the answer each call changes (a second update has its own version and time). */
  varies?: string[];
  /** The parser's message quotes the text it failed on, which the batch wraps. */
  messageQuotesInput?: boolean;
}

const compared = ['www-authenticate', 'retry-after', 'content-type', 'vary', 'cache-control'];

async function single(call: Call) {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.kind === 'query') {
    const query = call.input === undefined ? '' : `?input=${encodeURIComponent(call.input)}`;
    return t.app.inject({ method: 'GET', url: `/trpc/${call.path}${query}`, headers });
  }
  return t.app.inject({ method: 'POST', url: `/trpc/${call.path}`, headers: { 'content-type': 'application/json', ...headers }, payload: call.input ?? '' });
}

/** The same call as a batch of one: `{"0": input}` in place of the input. */
async function batchOfOne(call: Call) {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const wrapped = call.input === undefined ? undefined : `{"0":${call.input}}`;
  if (call.kind === 'query') {
    const query = wrapped === undefined ? '' : `&input=${encodeURIComponent(wrapped)}`;
    return t.app.inject({ method: 'GET', url: `/trpc/${call.path}?batch=1${query}`, headers });
  }
  return t.app.inject({
    method: 'POST',
    url: `/trpc/${call.path}?batch=1`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: wrapped ?? '{}',
  });
}

const calls = (): Call[] => [
  { name: 'a query answered', kind: 'query', path: 'auth.me', token: userToken },
  { name: 'a query with input answered', kind: 'query', path: 'tasks.list', input: '{"limit":5,"sort":"dueAt"}', token: userToken },
  {
    name: 'a mutation answered',
    kind: 'mutation',
    path: 'tasks.update',
    input: JSON.stringify({ id: taskId, title: 'Renamed' }),
    token: userToken,
    varies: ['version', 'updatedAt'],
  },
  { name: 'no token', kind: 'query', path: 'auth.me' },
  { name: 'a forged token', kind: 'query', path: 'auth.me', token: 'not.a.token' },
  { name: 'a malformed Authorization header', kind: 'query', path: 'auth.me', headers: { authorization: 'Basic abc' } },
  { name: 'a user at an admin procedure', kind: 'query', path: 'admin.users.list', input: '{}', token: userToken },
  { name: 'an admin at an admin procedure', kind: 'query', path: 'admin.users.list', input: '{"limit":2}', token: adminToken },
  { name: 'input that fails validation', kind: 'query', path: 'tasks.list', input: '{"limit":0,"extra":1}', token: userToken },
  { name: 'a missing required input', kind: 'query', path: 'tasks.get', token: userToken },
  { name: 'a task that is not there', kind: 'query', path: 'tasks.get', input: '{"id":999999}', token: userToken },
  { name: 'a stale version', kind: 'mutation', path: 'tasks.update', input: JSON.stringify({ id: taskId, title: 'x', expectedVersion: 1 }), token: userToken },
  { name: 'a cursor that is not one', kind: 'query', path: 'tasks.list', input: '{"cursor":"%%%"}', token: userToken },
  { name: 'input that is not JSON', kind: 'query', path: 'tasks.list', input: 'NaN', token: userToken, messageQuotesInput: true },
  { name: 'JSON with a prototype key', kind: 'mutation', path: 'tasks.create', input: '{"title":"t","__proto__":{"x":1}}', token: userToken },
  { name: 'a public mutation refused', kind: 'mutation', path: 'auth.login', input: '{"username":"nobody_here","password":"wrong password here"}' },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
function withoutVarying(body: any, call: Call) {
  if (call.messageQuotesInput && body?.error) {
    expect(body.error.message, call.name).toMatch(/JSON/);
    delete body.error.message;
  }
  const data = body?.result?.data;
  if (!call.varies || !data) return body;
  body.result.data = withoutFields(data, call.varies, call.name);
  return body;
}

describe('a single tRPC call and the same call in a batch of one', () => {
  it('answer alike, whatever the outcome', async () => {
    for (const call of calls()) {
      const [alone, batched] = [await single(call), await batchOfOne(call)];
      const batchedBody = batched.json<unknown[]>();
      expect(Array.isArray(batchedBody), call.name).toBe(true);
      expect(alone.statusCode, call.name).toBe(batched.statusCode);
      expect(withoutVarying(alone.json(), call), call.name).toEqual(withoutVarying(batchedBody[0], call));
      for (const header of compared) expect(alone.headers[header], `${call.name}: ${header}`).toEqual(batched.headers[header]);
    }
  });

  it('agree on a body that is not JSON and on an empty one', async () => {
    for (const payload of ['{"title":', '']) {
      const alone = await t.app.inject({
        method: 'POST',
        url: '/trpc/tasks.create',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken}` },
        payload,
      });
      const batched = await t.app.inject({
        method: 'POST',
        url: '/trpc/tasks.create?batch=1',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken}` },
        payload,
      });
      expect(alone.statusCode, JSON.stringify(payload)).toBe(400);
      expect(batched.statusCode, JSON.stringify(payload)).toBe(400);
      // Batched, tRPC answers each call of the batch: here, the one.
      expect(alone.json()).toEqual(batched.json<unknown[]>()[0]);
    }
  });
});
