import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, type TestApp } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function activeAdminIds(): Promise<number[]> {
  const rows = await t.database.db.selectFrom('users').select('id').where('role', '=', 'admin').where('is_active', '=', true).orderBy('id').execute();
  return rows.map((row) => row.id);
}

async function makeAdmin(username: string, by?: string) {
  if (by) {
    const created = await rest(t.app, 'POST', '/api/admin/users', { token: by, body: { username, password: PASSWORD, role: 'admin' } });
    expect(created.statusCode).toBe(201);
  } else {
    const passwordHash = await t.app.services.hasher.hash(PASSWORD);
    await t.app.services.auth.createUser({ username, passwordHash, role: 'admin' }, null, null, 'user.created');
  }
  const login = await rest(t.app, 'POST', '/api/auth/login', { body: { username, password: PASSWORD } });
  const me = await rest(t.app, 'GET', '/api/auth/me', { token: json(login).access_token });
  return { id: json(me).id as number, token: json(login).access_token as string };
}

type Removal = { method: 'PATCH'; body: unknown } | { method: 'DELETE'; body?: undefined };
const removals: [string, Removal][] = [
  ['demoted', { method: 'PATCH', body: { role: 'user' } }],
  ['deactivated', { method: 'PATCH', body: { isActive: false } }],
  ['deleted', { method: 'DELETE' }],
];

describe('the last active administrator', () => {
  let root: { id: number; token: string };
  beforeAll(async () => {
    root = await makeAdmin('only_root');
  });

  it.each(removals)('cannot be %s, not even by themselves (409 LAST_ADMIN)', async (_label, removal) => {
    const response = await rest(t.app, removal.method, `/api/admin/users/${root.id}`, { token: root.token, body: removal.body });
    expect(response.statusCode).toBe(409);
    expect(json(response)).toMatchObject({ code: 'CONFLICT', data: { reason: 'LAST_ADMIN' } });
    expect(await activeAdminIds()).toEqual([root.id]);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: root.token })).statusCode).toBe(200);
  });

  it('is still the last one while the other admins are inactive', async () => {
    const other = await makeAdmin('sleepy_admin', root.token);
    expect((await rest(t.app, 'PATCH', `/api/admin/users/${other.id}`, { token: root.token, body: { isActive: false } })).statusCode).toBe(200);
    const response = await rest(t.app, 'PATCH', `/api/admin/users/${root.id}`, { token: root.token, body: { role: 'user' } });
    expect(response.statusCode).toBe(409);
    // An inactive admin can be demoted or deleted freely: it removes no active admin.
    expect((await rest(t.app, 'DELETE', `/api/admin/users/${other.id}`, { token: root.token })).statusCode).toBe(200);
  });

  it('can step down once another active admin exists, and its token stops working at once', async () => {
    const successor = await makeAdmin('successor', root.token);
    const stepDown = await rest(t.app, 'PATCH', `/api/admin/users/${root.id}`, { token: root.token, body: { isActive: false } });
    expect(stepDown.statusCode).toBe(200);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: root.token })).statusCode).toBe(401);
    expect(await activeAdminIds()).toEqual([successor.id]);
    const refused = await rest(t.app, 'DELETE', `/api/admin/users/${successor.id}`, { token: successor.token });
    expect(refused.statusCode).toBe(409);
    root = successor;
  });

  it.each(removals)('survives two admins %s each other at the same moment: exactly one wins', async (_label, removal) => {
    const { users } = t.app.services;
    for (let round = 0; round < 4; round++) {
      expect(await activeAdminIds()).toEqual([root.id]);
      const rival = await makeAdmin(`rival_${_label.slice(0, 4)}_${round}`, root.token);
      // Straight to the service, so both get past authentication and only the guard decides.
      const remove = (by: { id: number }, target: number) => {
        const actor = { id: by.id, username: `admin_${by.id}`, role: 'admin' as const };
        return removal.method === 'DELETE'
          ? users.delete(actor, target, null)
          : users.update(actor, target, removal.body as { role?: 'user'; isActive?: boolean }, null);
      };
      const outcomes = await Promise.allSettled([remove(root, rival.id), remove(rival, root.id)]);
      const reasons = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { reason?: string }).reason)).sort();
      expect(reasons).toEqual(['LAST_ADMIN', 'ok']);
      const remaining = await activeAdminIds();
      expect(remaining).toHaveLength(1);
      root = remaining[0] === root.id ? root : rival;
    }
  });

  it('over HTTP, two admins removing each other at once never leave zero admins', async () => {
    const rival = await makeAdmin('http_rival', root.token);
    const [first, second] = await Promise.all([
      rest(t.app, 'PATCH', `/api/admin/users/${rival.id}`, { token: root.token, body: { isActive: false } }),
      rest(t.app, 'PATCH', `/api/admin/users/${root.id}`, { token: rival.token, body: { isActive: false } }),
    ]);
    const statuses = [first.statusCode, second.statusCode];
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The loser is refused by the guard (409) or, if the winner committed first, at sign-in (401).
    expect(statuses.filter((s) => s !== 200).every((s) => s === 409 || s === 401)).toBe(true);
    expect(await activeAdminIds()).toHaveLength(1);
  });
});
