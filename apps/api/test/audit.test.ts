import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, signUpAdmin, type TestApp } from './helpers';

const AGENT = 'audit-test-agent/1.0';
const CHANGED_PASSWORD = 'the changed passphrase';
const RESET_PASSWORD = 'the reset passphrase';
const CREATED_PASSWORD = 'the created passphrase';
/** A password typed into the username field: it must never be recorded. */
const TYPED_PASSWORD = 'Typed 1nto the username box';

interface Entry {
  id: number;
  occurredAt: string;
  action: string;
  actorId: number | null;
  actorUsername: string | null;
  targetType: string | null;
  targetId: string | null;
  targetLabel: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUpAdmin>>;
/** Everything secret this test sends or receives; none may appear in the log. */
const secrets = new Set<string>([PASSWORD, CHANGED_PASSWORD, RESET_PASSWORD, CREATED_PASSWORD, 'wrong password!', TYPED_PASSWORD, TYPED_PASSWORD.slice(0, 20)]);

function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, options: { token?: string; body?: unknown } = {}) {
  const response = rest(t.app, method, url, { ...options, headers: { 'user-agent': AGENT } });
  return response.then((r) => {
    if (String(r.headers['content-type'] ?? '').includes('json')) {
      const body = r.json<Record<string, unknown>>();
      for (const key of ['access_token', 'refresh_token', 'token']) if (typeof body[key] === 'string') secrets.add(body[key]);
    }
    return r;
  });
}

async function loginAs(username: string, password: string) {
  const response = await call('POST', '/api/auth/login', { body: { username, password } });
  expect(response.statusCode, response.body).toBe(200);
  return json<{ access_token: string; refresh_token: string }>(response);
}

async function listAll(query = ''): Promise<Entry[]> {
  const entries: Entry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const response = await rest(t.app, 'GET', `/api/admin/audit?limit=100${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      token: admin.accessToken,
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = json<{ items: Entry[]; nextCursor: string | null }>(response);
    entries.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) return entries;
  }
  throw new Error('too many pages');
}

beforeAll(async () => {
  t = await createTestApp();
  admin = await signUpAdmin(t, 'audit_admin');
  secrets.add(admin.accessToken).add(admin.refreshToken);

  // Every security event of the issue, through the public API, from one client.
  expect((await call('POST', '/api/auth/register', { body: { username: 'aud_user', password: PASSWORD } })).statusCode).toBe(201);
  const user = await loginAs('aud_user', PASSWORD);
  expect((await call('POST', '/api/auth/login', { body: { username: 'aud_user', password: 'wrong password!' } })).statusCode).toBe(401);

  await call('POST', '/api/auth/register', { body: { username: 'aud_locked', password: PASSWORD } });
  for (let i = 0; i < 5; i++) await call('POST', '/api/auth/login', { body: { username: 'aud_locked', password: 'wrong password!' } });
  expect((await call('POST', '/api/auth/login', { body: { username: 'aud_locked', password: PASSWORD } })).statusCode).toBe(429);

  // Failed and locked sign-ins of names no account has: one a password, one a possible username.
  for (let i = 0; i < 5; i++) await call('POST', '/api/auth/login', { body: { username: TYPED_PASSWORD, password: 'wrong password!' } });
  expect((await call('POST', '/api/auth/login', { body: { username: TYPED_PASSWORD, password: 'wrong password!' } })).statusCode).toBe(429);
  expect((await call('POST', '/api/auth/login', { body: { username: 'ghost_user', password: 'wrong password!' } })).statusCode).toBe(401);

  const spare = await loginAs('aud_user', PASSWORD);
  const spareSession = json(await call('GET', '/api/auth/sessions', { token: spare.access_token })).items.find((s: { current: boolean }) => s.current).id;
  expect((await call('DELETE', `/api/auth/sessions/${spareSession}`, { token: user.access_token })).statusCode).toBe(200);

  const rotated = json(await call('POST', '/api/auth/refresh', { body: { refresh_token: user.refresh_token } }));
  expect((await call('POST', '/api/auth/refresh', { body: { refresh_token: user.refresh_token } })).statusCode).toBe(401);
  expect(rotated.access_token).toBeDefined();

  const fresh = await loginAs('aud_user', PASSWORD);
  const change = await call('POST', '/api/auth/change-password', {
    token: fresh.access_token,
    body: { currentPassword: PASSWORD, newPassword: CHANGED_PASSWORD },
  });
  expect(change.statusCode).toBe(200);
  expect((await call('POST', '/api/auth/logout', { token: fresh.access_token, body: {} })).statusCode).toBe(200);
  const again = await loginAs('aud_user', CHANGED_PASSWORD);
  expect((await call('POST', '/api/auth/logout-all', { token: again.access_token, body: {} })).statusCode).toBe(200);

  const created = json(
    await call('POST', '/api/admin/users', { token: admin.accessToken, body: { username: 'aud_made', password: CREATED_PASSWORD, role: 'user' } }),
  );
  await call('PATCH', `/api/admin/users/${created.id}`, { token: admin.accessToken, body: { role: 'admin' } });
  await call('PATCH', `/api/admin/users/${created.id}`, { token: admin.accessToken, body: { isActive: false } });
  await call('PATCH', `/api/admin/users/${created.id}`, { token: admin.accessToken, body: { isActive: true } });
  const link = json(await call('POST', `/api/admin/users/${created.id}/reset-link`, { token: admin.accessToken, body: {} }));
  expect((await call('POST', '/api/auth/reset-password', { body: { token: link.token, newPassword: RESET_PASSWORD } })).statusCode).toBe(200);
  expect((await call('DELETE', `/api/admin/users/${created.id}`, { token: admin.accessToken })).statusCode).toBe(200);

  expect((await call('PATCH', '/api/settings', { token: admin.accessToken, body: { lockoutThreshold: 6 } })).statusCode).toBe(200);
  const rotation = json(await call('POST', '/api/admin/keys/rotate', { token: admin.accessToken, body: {} }));
  expect((await call('POST', `/api/admin/keys/${rotation.previousKid}/revoke`, { token: admin.accessToken, body: {} })).statusCode).toBe(200);
  // The revoked key signed the admin's token too.
  admin.accessToken = (await loginAs('audit_admin', PASSWORD)).access_token;

  for (const row of await t.database.db.selectFrom('users').select('password_hash').execute()) secrets.add(row.password_hash);
  for (const row of await t.database.db.selectFrom('password_reset_tokens').select('token_hash').execute()) secrets.add(row.token_hash);
  for (const row of await t.database.db.selectFrom('refresh_tokens').select('token_hash').execute()) secrets.add(row.token_hash);
});
afterAll(() => t.close());

describe('the audit log', () => {
  it.each([
    ['auth.registered', 'aud_user', 'user'],
    ['auth.login_succeeded', 'aud_user', 'session'],
    ['auth.login_failed', 'aud_user', 'user'],
    ['auth.login_locked', 'aud_locked', null],
    ['auth.logged_out', 'aud_user', 'session'],
    ['auth.logged_out_everywhere', 'aud_user', null],
    ['auth.session_revoked', 'aud_user', 'session'],
    ['auth.refresh_token_reused', 'aud_user', 'session'],
    ['auth.password_changed', 'aud_user', 'user'],
    ['auth.password_reset', 'aud_made', 'user'],
    ['user.created', 'audit_admin', 'user'],
    ['user.role_changed', 'audit_admin', 'user'],
    ['user.deactivated', 'audit_admin', 'user'],
    ['user.activated', 'audit_admin', 'user'],
    ['user.reset_link_created', 'audit_admin', 'user'],
    ['user.deleted', 'audit_admin', 'user'],
    ['settings.updated', 'audit_admin', 'settings'],
    ['key.rotated', 'audit_admin', 'signing_key'],
    ['key.revoked', 'audit_admin', 'signing_key'],
  ])('records %s with actor, target, address, user agent and time', async (action, actor, targetType) => {
    const entries = (await listAll(`&action=${action}`)).filter((entry) => entry.actorUsername === actor);
    expect(entries.length, action).toBeGreaterThan(0);
    const entry = entries[0] as Entry;
    expect(entry).toMatchObject({ action, actorUsername: actor, targetType, ip: '127.0.0.1', userAgent: AGENT });
    expect(Date.now() - Date.parse(entry.occurredAt)).toBeLessThan(60_000);
    if (targetType) expect(entry.targetId).toEqual(expect.any(String));
  });

  it('names the people involved and what changed', async () => {
    const [roleChange] = await listAll('&action=user.role_changed');
    expect(roleChange).toMatchObject({ actorId: admin.user.id, targetLabel: 'aud_made', details: { before: 'user', after: 'admin' } });
    const [settings] = await listAll('&action=settings.updated');
    expect(settings?.details).toMatchObject({ before: { lockoutThreshold: 5 }, after: { lockoutThreshold: 6 } });
    const [deleted] = await listAll('&action=user.deleted');
    expect(deleted).toMatchObject({ targetLabel: 'aud_made', details: { role: 'admin' } });
  });

  it('names the account of a failed sign-in only when the typed name could be a username', async () => {
    const failed = await listAll('&action=auth.login_failed');
    const unknown = failed.filter((entry) => entry.details.reason === 'unknown_user');
    expect(unknown.filter((entry) => entry.actorUsername === 'ghost_user')).toHaveLength(1);
    expect(unknown.filter((entry) => entry.actorUsername === null)).toHaveLength(5);
    expect(failed.filter((entry) => entry.details.reason === 'wrong_password').map((entry) => entry.actorUsername)).toContain('aud_user');
    const locked = (await listAll('&action=auth.login_locked')).filter((entry) => entry.actorUsername === null);
    expect(locked).toHaveLength(1);
  });

  it('never contains a password, a token or a hash', async () => {
    expect(secrets.size).toBeGreaterThan(15);
    const viaApi = JSON.stringify(await listAll());
    const raw = JSON.stringify(await t.database.db.selectFrom('audit_events').selectAll().execute());
    for (const secret of secrets) {
      expect(viaApi.includes(secret), `secret of length ${secret.length} in the API answer`).toBe(false);
      expect(raw.includes(secret), `secret of length ${secret.length} in the table`).toBe(false);
    }
  });
});

describe('admin.audit.list filters and pages', () => {
  it('filters by actor name (any case) and by actor id', async () => {
    const byName = await listAll('&actor=AUD_USER');
    expect(byName.length).toBeGreaterThan(5);
    expect(byName.every((entry) => entry.actorUsername === 'aud_user')).toBe(true);
    const byId = await listAll(`&actorId=${admin.user.id}`);
    expect(byId.length).toBeGreaterThan(5);
    expect(byId.every((entry) => entry.actorId === admin.user.id)).toBe(true);
  });

  it('filters by a time range, both ends included', async () => {
    const all = await listAll();
    const middle = all[Math.floor(all.length / 2)] as Entry;
    const from = await listAll(`&from=${encodeURIComponent(middle.occurredAt)}`);
    const to = await listAll(`&to=${encodeURIComponent(middle.occurredAt)}`);
    expect(from.every((entry) => Date.parse(entry.occurredAt) >= Date.parse(middle.occurredAt))).toBe(true);
    expect(to.every((entry) => Date.parse(entry.occurredAt) <= Date.parse(middle.occurredAt) + 1)).toBe(true);
    expect(from.some((entry) => entry.id === middle.id)).toBe(true);
    expect(from.length).toBeLessThan(all.length);
    const future = await listAll(`&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future).toEqual([]);
  });

  it('pages newest first, every entry exactly once', async () => {
    const all = await listAll();
    const paged: Entry[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const response = await rest(t.app, 'GET', `/api/admin/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        token: admin.accessToken,
      });
      const body = json<{ items: Entry[]; nextCursor: string | null }>(response);
      expect(body.items.length).toBeLessThanOrEqual(3);
      paged.push(...body.items);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(paged.map((entry) => entry.id)).toEqual(all.map((entry) => entry.id));
    const times = paged.map((entry) => Date.parse(entry.occurredAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it.each([
    ['action=DROP TABLE', 'action'],
    ['from=yesterday', 'from'],
    [`from=${encodeURIComponent('2030-01-02T00:00:00Z')}&to=${encodeURIComponent('2030-01-01T00:00:00Z')}`, 'from'],
    ['actorId=-1', 'actorId'],
    ['cursor=%7B%7D', 'cursor'],
    // U+0000 reached PostgreSQL, which cannot hold it in text, and answered 500.
    ['actor=a%00b', 'actor'],
    // So did year 0, which PostgreSQL does not have, and a year past 9999 once in UTC.
    [`from=${encodeURIComponent('0000-01-01T00:00:00Z')}`, 'from'],
    [`to=${encodeURIComponent('9999-12-31T23:00:00-05:00')}`, 'to'],
  ])('refuses %s with 400 naming the field', async (query, field) => {
    const response = await rest(t.app, 'GET', `/api/admin/audit?${query}`, { token: admin.accessToken });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors[field]).toBeDefined();
  });
});
