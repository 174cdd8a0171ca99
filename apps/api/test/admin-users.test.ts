import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUpAdmin>>;
let user: Awaited<ReturnType<typeof signUp>>;
let counter = 0;
const fresh = (prefix: string) => `${prefix}_${++counter}`;

beforeAll(async () => {
  t = await createTestApp();
  admin = await signUpAdmin(t, 'boss_admin');
  user = await signUp(t, 'plain_joe');
});
afterAll(() => t.close());

async function userExists(id: number): Promise<boolean> {
  const response = await rest(t.app, 'GET', `/api/admin/users/${id}`, { token: admin.accessToken });
  return response.statusCode === 200;
}

async function createUserAsAdmin(username: string, role: 'admin' | 'user' = 'user') {
  const response = await rest(t.app, 'POST', '/api/admin/users', { token: admin.accessToken, body: { username, password: PASSWORD, role } });
  expect(response.statusCode).toBe(201);
  return json<{ id: number; username: string; role: string }>(response);
}

interface MatrixRow {
  procedure: string;
  kind: 'query' | 'mutation';
  /** Builds the call against fresh targets; `verifyUnchanged` checks a refused call changed nothing. */
  prepare(): MatrixCall | Promise<MatrixCall>;
  adminStatus: number;
}

interface MatrixCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  trpcInput?: unknown;
  verifyUnchanged?: () => void | Promise<void>;
}

const matrix: MatrixRow[] = [
  { procedure: 'admin.users.list', kind: 'query', adminStatus: 200, prepare: () => ({ method: 'GET', url: '/api/admin/users', trpcInput: {} }) },
  {
    procedure: 'admin.users.get',
    kind: 'query',
    adminStatus: 200,
    prepare: () => ({ method: 'GET', url: `/api/admin/users/${user.user.id}`, trpcInput: { id: user.user.id } }),
  },
  {
    procedure: 'admin.users.create',
    kind: 'mutation',
    adminStatus: 201,
    prepare: () => {
      const username = fresh('made');
      const body = { username, password: PASSWORD, role: 'admin' };
      return {
        method: 'POST',
        url: '/api/admin/users',
        body,
        trpcInput: body,
        verifyUnchanged: async () => {
          const list = await rest(t.app, 'GET', `/api/admin/users?search=${username}`, { token: admin.accessToken });
          expect(json(list).items).toEqual([]);
        },
      };
    },
  },
  {
    procedure: 'admin.users.update',
    kind: 'mutation',
    adminStatus: 200,
    prepare: async () => {
      const target = await createUserAsAdmin(fresh('promote'));
      return {
        method: 'PATCH',
        url: `/api/admin/users/${target.id}`,
        body: { role: 'admin' },
        trpcInput: { id: target.id, role: 'admin' },
        verifyUnchanged: async () => {
          const got = await rest(t.app, 'GET', `/api/admin/users/${target.id}`, { token: admin.accessToken });
          expect(json(got).role).toBe('user');
        },
      };
    },
  },
  {
    procedure: 'admin.users.delete',
    kind: 'mutation',
    adminStatus: 200,
    prepare: async () => {
      const target = await createUserAsAdmin(fresh('doomed'));
      return {
        method: 'DELETE',
        url: `/api/admin/users/${target.id}`,
        trpcInput: { id: target.id },
        verifyUnchanged: async () => expect(await userExists(target.id)).toBe(true),
      };
    },
  },
  {
    procedure: 'admin.users.createResetLink',
    kind: 'mutation',
    adminStatus: 200,
    prepare: () => ({ method: 'POST', url: `/api/admin/users/${user.user.id}/reset-link`, body: {}, trpcInput: { id: user.user.id } }),
  },
  {
    procedure: 'admin.audit.list',
    kind: 'query',
    adminStatus: 200,
    prepare: () => ({ method: 'GET', url: '/api/admin/audit', trpcInput: {} }),
  },
  { procedure: 'settings.get', kind: 'query', adminStatus: 200, prepare: () => ({ method: 'GET', url: '/api/settings' }) },
  {
    procedure: 'settings.update',
    kind: 'mutation',
    adminStatus: 200,
    prepare: () => {
      const before = t.app.services.settings.current.accessTokenTtlSeconds;
      const body = { accessTokenTtlSeconds: before === 900 ? 901 : 900 };
      return {
        method: 'PATCH',
        url: '/api/settings',
        body,
        trpcInput: body,
        verifyUnchanged: () => expect(t.app.services.settings.current.accessTokenTtlSeconds).toBe(before),
      };
    },
  },
  { procedure: 'admin.keys.list', kind: 'query', adminStatus: 200, prepare: () => ({ method: 'GET', url: '/api/admin/keys' }) },
  {
    procedure: 'admin.keys.rotate',
    kind: 'mutation',
    adminStatus: 200,
    prepare: () => {
      const current = t.app.services.keyring.currentKid;
      return {
        method: 'POST',
        url: '/api/admin/keys/rotate',
        body: {},
        verifyUnchanged: () => expect(t.app.services.keyring.currentKid).toBe(current),
      };
    },
  },
  {
    procedure: 'admin.keys.revoke',
    kind: 'mutation',
    adminStatus: 200,
    prepare: async () => {
      // A retired key, so revoking it in the admin column leaves everyone's tokens working.
      const rotated = await t.app.services.keyring.rotate({ id: null, username: 'test' }, null);
      const kid = rotated.previousKid as string;
      return {
        method: 'POST',
        url: `/api/admin/keys/${kid}/revoke`,
        body: {},
        trpcInput: { kid },
        verifyUnchanged: async () => {
          const keys = await t.app.services.keyring.list();
          expect(keys.find((key) => key.kid === kid)?.status).toBe('retired');
        },
      };
    },
  },
];

describe('authorization matrix: every admin procedure × {admin, user, no token}', () => {
  it.each(matrix)('$procedure over REST', async (row) => {
    const asUser = await row.prepare();
    const userResponse = await rest(t.app, asUser.method, asUser.url, { token: user.accessToken, body: asUser.body });
    expect(userResponse.statusCode).toBe(403);
    expect(userResponse.headers['www-authenticate']).toBeUndefined();
    expect(json(userResponse)).toMatchObject({ code: 'FORBIDDEN', data: { reason: 'FORBIDDEN' } });
    await asUser.verifyUnchanged?.();

    const anonymous = await row.prepare();
    const anonymousResponse = await rest(t.app, anonymous.method, anonymous.url, { body: anonymous.body });
    expect(anonymousResponse.statusCode).toBe(401);
    expect(anonymousResponse.headers['www-authenticate']).toBe('Bearer realm="stm"');
    await anonymous.verifyUnchanged?.();

    const forged = await row.prepare();
    const forgedResponse = await rest(t.app, forged.method, forged.url, { token: `${admin.accessToken}x`, body: forged.body });
    expect(forgedResponse.statusCode).toBe(401);
    expect(forgedResponse.headers['www-authenticate']).toContain('error="invalid_token"');
    await forged.verifyUnchanged?.();

    const asAdmin = await row.prepare();
    const adminResponse = await rest(t.app, asAdmin.method, asAdmin.url, { token: admin.accessToken, body: asAdmin.body });
    expect(adminResponse.statusCode, adminResponse.body).toBe(row.adminStatus);
  });

  it.each(matrix)('$procedure over tRPC', async (row) => {
    const asUser = await row.prepare();
    const userResponse = await trpc(t.app, row.kind, row.procedure, asUser.trpcInput, { token: user.accessToken });
    expect(userResponse.statusCode).toBe(403);
    expect(json(userResponse).error.data).toMatchObject({ code: 'FORBIDDEN', reason: 'FORBIDDEN' });
    await asUser.verifyUnchanged?.();

    const anonymous = await row.prepare();
    const anonymousResponse = await trpc(t.app, row.kind, row.procedure, anonymous.trpcInput);
    expect(anonymousResponse.statusCode).toBe(401);
    expect(anonymousResponse.headers['www-authenticate']).toBe('Bearer realm="stm"');
    await anonymous.verifyUnchanged?.();

    const asAdmin = await row.prepare();
    const adminResponse = await trpc(t.app, row.kind, row.procedure, asAdmin.trpcInput, { token: admin.accessToken });
    expect(adminResponse.statusCode, adminResponse.body).toBe(200);
  });

  it('uses the stored role: an admin demoted a moment ago is refused at once', async () => {
    const other = await createUserAsAdmin(fresh('brief_admin'), 'admin');
    const tokens = await t.caller().auth.login({ username: other.username, password: PASSWORD });
    expect((await rest(t.app, 'GET', '/api/admin/users', { token: tokens.access_token })).statusCode).toBe(200);
    const demote = await rest(t.app, 'PATCH', `/api/admin/users/${other.id}`, { token: admin.accessToken, body: { role: 'user' } });
    expect(demote.statusCode).toBe(200);
    expect((await rest(t.app, 'GET', '/api/admin/users', { token: tokens.access_token })).statusCode).toBe(403);
  });
});

describe('admin.users.list', () => {
  const names = ['list_Ann', 'list_bob', 'list_cy', 'listXdee', 'list_eve'];
  const ids = new Map<string, number>();
  beforeAll(async () => {
    for (const name of names) ids.set(name, (await createUserAsAdmin(name, name === 'list_cy' ? 'admin' : 'user')).id);
    await rest(t.app, 'PATCH', `/api/admin/users/${ids.get('list_eve')}`, { token: admin.accessToken, body: { isActive: false } });
  });

  const list = async (query: string) => {
    const response = await rest(t.app, 'GET', `/api/admin/users?${query}`, { token: admin.accessToken });
    expect(response.statusCode, response.body).toBe(200);
    return json<{ items: { username: string; role: string; isActive: boolean }[]; nextCursor: string | null }>(response);
  };

  it('searches by part of the username, in any case, with "_" meaning itself', async () => {
    expect((await list('search=LIST_')).items.map((u) => u.username)).toEqual(['list_Ann', 'list_bob', 'list_cy', 'list_eve']);
    expect((await list('search=ann')).items.map((u) => u.username)).toEqual(['list_Ann']);
    expect((await list('search=nobody_like_this')).items).toEqual([]);
  });

  it('filters by role and by activation ("true"/"false" in the query string)', async () => {
    expect((await list('search=list&role=admin')).items.map((u) => u.username)).toEqual(['list_cy']);
    expect((await list('search=list&isActive=false')).items.map((u) => u.username)).toEqual(['list_eve']);
    expect((await list('search=list&isActive=true')).items.map((u) => u.username)).toEqual(['list_Ann', 'list_bob', 'list_cy', 'listXdee']);
    const viaTrpc = await t.caller(admin.accessToken).admin.users.list({ search: 'list', isActive: false, limit: 20 });
    expect(viaTrpc.items.map((u) => u.username)).toEqual(['list_eve']);
  });

  it('pages with an opaque cursor: every user once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const result = await list(`search=list&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(result.items.length).toBeLessThanOrEqual(2);
      seen.push(...result.items.map((u) => u.username));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['list_Ann', 'list_bob', 'list_cy', 'listXdee', 'list_eve']);
  });

  it.each([
    ['isActive=yes', 'isActive'],
    ['role=root', 'role'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from('{"id":"1"}').toString('base64url')}`, 'cursor'],
    // U+0000 reached PostgreSQL, which cannot hold it in text, and answered 500.
    ['search=a%00', 'search'],
  ])('refuses %s with 400 naming the field', async (query, field) => {
    const response = await rest(t.app, 'GET', `/api/admin/users?${query}`, { token: admin.accessToken });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors[field]).toEqual([expect.any(String)]);
  });

  it('never returns a password hash', async () => {
    const response = await rest(t.app, 'GET', '/api/admin/users?limit=100', { token: admin.accessToken });
    expect(response.body).not.toMatch(/hash|password|\$2[aby]\$/i);
  });
});

describe('admin.users.get, create', () => {
  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await rest(t.app, 'GET', '/api/admin/users/999999', { token: admin.accessToken })).statusCode).toBe(404);
    const malformed = await rest(t.app, 'GET', '/api/admin/users/abc', { token: admin.accessToken });
    expect(malformed.statusCode).toBe(400);
    expect(json(malformed).data.fieldErrors.id).toBeDefined();
  });

  it('creates users of any role, who can then sign in with that role', async () => {
    for (const role of ['admin', 'user'] as const) {
      const created = await createUserAsAdmin(fresh(`new_${role}`), role);
      expect(created).toMatchObject({ role, isActive: true });
      const tokens = await t.caller().auth.login({ username: created.username, password: PASSWORD });
      expect(await t.caller(tokens.access_token).auth.me()).toMatchObject({ id: created.id, role });
    }
  });

  it('refuses a taken name (any case) with 409 and a weak password with 400 naming the field', async () => {
    const taken = await rest(t.app, 'POST', '/api/admin/users', {
      token: admin.accessToken,
      body: { username: 'PLAIN_JOE', password: PASSWORD, role: 'user' },
    });
    expect(taken.statusCode).toBe(409);
    expect(json(taken).data.reason).toBe('USERNAME_TAKEN');
    const weak = await rest(t.app, 'POST', '/api/admin/users', {
      token: admin.accessToken,
      body: { username: fresh('weak'), password: 'passwordpassword', role: 'user' },
    });
    expect(weak.statusCode).toBe(400);
    expect(json(weak).data).toMatchObject({ reason: 'PASSWORD_TOO_COMMON', fieldErrors: { password: [expect.any(String)] } });
    const badRole = await rest(t.app, 'POST', '/api/admin/users', {
      token: admin.accessToken,
      body: { username: fresh('role'), password: PASSWORD, role: 'root' },
    });
    expect(badRole.statusCode).toBe(400);
    expect(json(badRole).data.fieldErrors.role).toBeDefined();
  });
});

describe('admin.users.update', () => {
  it('promotes and demotes; the new role applies to the next request', async () => {
    const target = await createUserAsAdmin(fresh('climber'));
    const tokens = await t.caller().auth.login({ username: target.username, password: PASSWORD });
    expect(await rejection(t.caller(tokens.access_token).admin.users.list({ limit: 1 }))).toMatchObject({ code: 'FORBIDDEN' });
    const promoted = await rest(t.app, 'PATCH', `/api/admin/users/${target.id}`, { token: admin.accessToken, body: { role: 'admin' } });
    expect(json(promoted)).toMatchObject({ id: target.id, role: 'admin', isActive: true });
    await expect(t.caller(tokens.access_token).admin.users.list({ limit: 1 })).resolves.toMatchObject({ items: expect.any(Array) });
  });

  it('deactivation ends every session at once; reactivation lets the user sign in again', async () => {
    const target = await createUserAsAdmin(fresh('sleeper'));
    const first = await t.caller().auth.login({ username: target.username, password: PASSWORD });
    const second = await t.caller().auth.login({ username: target.username, password: PASSWORD });
    const deactivated = await rest(t.app, 'PATCH', `/api/admin/users/${target.id}`, { token: admin.accessToken, body: { isActive: false } });
    expect(json(deactivated)).toMatchObject({ isActive: false });
    for (const tokens of [first, second]) {
      expect((await rest(t.app, 'GET', '/api/auth/me', { token: tokens.access_token })).statusCode).toBe(401);
      // Its holder signed in to this account, so may learn why the session ended.
      const refresh = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: tokens.refresh_token } });
      expect(refresh.statusCode).toBe(403);
      expect(json(refresh).data.reason).toBe('ACCOUNT_DEACTIVATED');
    }
    const sessions = await t.database.db.selectFrom('sessions').select(['revoked_at', 'revoke_reason']).where('user_id', '=', target.id).execute();
    expect(sessions).toHaveLength(2);
    expect(sessions.every((s) => s.revoked_at !== null && s.revoke_reason === 'deactivated')).toBe(true);
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: target.username, password: PASSWORD } })).statusCode).toBe(403);

    await rest(t.app, 'PATCH', `/api/admin/users/${target.id}`, { token: admin.accessToken, body: { isActive: true } });
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: target.username, password: PASSWORD } })).statusCode).toBe(200);
  });

  it('treats an unchanged value as a no-op and an unknown user as 404', async () => {
    const target = await createUserAsAdmin(fresh('steady'));
    const same = await rest(t.app, 'PATCH', `/api/admin/users/${target.id}`, { token: admin.accessToken, body: { role: 'user', isActive: true } });
    expect(same.statusCode).toBe(200);
    const events = await t.database.db.selectFrom('audit_events').select('action').where('target_id', '=', String(target.id)).execute();
    expect(events.map((e) => e.action)).toEqual(['user.created']);
    expect((await rest(t.app, 'PATCH', '/api/admin/users/999999', { token: admin.accessToken, body: { role: 'user' } })).statusCode).toBe(404);
  });

  it.each([
    [{ isActive: 'false' }, 'isActive'],
    [{ isActive: 0 }, 'isActive'],
    [{ role: 'owner' }, 'role'],
  ])('refuses %j with 400 (no coercion of "false" into true)', async (body, field) => {
    const target = await createUserAsAdmin(fresh('typed'));
    const response = await rest(t.app, 'PATCH', `/api/admin/users/${target.id}`, { token: admin.accessToken, body });
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors[field]).toBeDefined();
    expect(await t.caller(admin.accessToken).admin.users.get({ id: target.id })).toMatchObject({ role: 'user', isActive: true });
  });
});

describe('admin.users.delete', () => {
  it('deletes the user; their tokens stop working and their name can sign in no more', async () => {
    const target = await createUserAsAdmin(fresh('gone'));
    const tokens = await t.caller().auth.login({ username: target.username, password: PASSWORD });
    const response = await rest(t.app, 'DELETE', `/api/admin/users/${target.id}`, { token: admin.accessToken });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ ok: true });
    expect(await userExists(target.id)).toBe(false);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: tokens.access_token })).statusCode).toBe(401);
    expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: tokens.refresh_token } })).statusCode).toBe(401);
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: target.username, password: PASSWORD } })).statusCode).toBe(401);
    expect((await rest(t.app, 'DELETE', `/api/admin/users/${target.id}`, { token: admin.accessToken })).statusCode).toBe(404);
  });
});
