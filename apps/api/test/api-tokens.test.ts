/**
 * API tokens and service accounts: what a token may call (every procedure × every scope, over
 * tRPC and REST, generated from the router so a new procedure is covered without a word here),
 * how it ends (revoked, expired, its owner demoted or deactivated: at once, on every instance),
 * and what is recorded.
 */
import { hashOpaqueToken } from '@stm/auth';
import { API_TOKEN_SCOPES, type ApiTokenScope } from '@stm/validators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../src/routers';
import type { ProcedureMeta } from '../src/trpc';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

let t: TestApp;
let admin: { accessToken: string; user: { id: number; username: string } };
let person: { accessToken: string; user: { id: number; username: string } };

beforeAll(async () => {
  t = await createTestApp();
  admin = await signUpAdmin(t, 'token_admin');
  person = await signUp(t, 'token_person');
});
afterAll(() => t.close());

async function createToken(accessToken: string, scopes: ApiTokenScope[], name = 'test token', expiresInDays = 30) {
  return t.caller(accessToken).tokens.create({ name, scopes, expiresInDays });
}

async function auditActions(targetId: string) {
  const rows = await t.database.db
    .selectFrom('audit_events')
    .select(['action', 'actor_username', 'details'])
    .where('target_id', '=', targetId)
    .orderBy('id')
    .execute();
  return rows;
}

describe('creating, listing and revoking a personal access token', () => {
  it('shows a stm_pat_ secret once, stores only its SHA-256, and records who made it', async () => {
    const created = await createToken(person.accessToken, ['tasks:read', 'tasks:write'], 'ci export');
    expect(created.token).toMatch(/^stm_pat_[A-Za-z0-9_-]{43}$/);
    expect(created.hint).toBe(created.token.slice(0, 'stm_pat_'.length + 4));
    expect(created.status).toBe('active');
    const rows = await t.database.db.selectFrom('api_tokens').select(['token_hash', 'hint']).where('id', '=', created.id).execute();
    expect(rows).toEqual([{ token_hash: hashOpaqueToken(created.token), hint: created.hint }]);
    const listed = await t.caller(person.accessToken).tokens.list();
    expect(listed.items.map((item) => item.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    const events = await auditActions(created.id);
    expect(events).toEqual([
      expect.objectContaining({
        action: 'api_token.created',
        actor_username: 'token_person',
        details: expect.objectContaining({ scopes: ['tasks:read', 'tasks:write'], kind: 'personal' }),
      }),
    ]);
    expect(JSON.stringify(events)).not.toContain(created.token);
  });

  it('works as a Bearer credential on tRPC and REST, and records when and from where it was last used', async () => {
    const created = await createToken(person.accessToken, ['tasks:read']);
    const overTrpc = await trpc(t.app, 'query', 'auth.me', undefined, { token: created.token });
    expect(overTrpc.statusCode).toBe(200);
    expect(json(overTrpc).result.data.username).toBe('token_person');
    const overRest = await rest(t.app, 'GET', '/api/projects', { token: created.token });
    expect(overRest.statusCode).toBe(200);
    await expect
      .poll(async () => (await t.caller(person.accessToken).tokens.list()).items.find((item) => item.id === created.id)?.lastUsedIp)
      .toBe('127.0.0.1');
    const used = (await t.caller(person.accessToken).tokens.list()).items.find((item) => item.id === created.id);
    expect(used?.lastUsedAt).not.toBeNull();
  });

  it('is refused at once after it is revoked, and the revocation is audited', async () => {
    const created = await createToken(person.accessToken, ['tasks:read']);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
    await t.caller(person.accessToken).tokens.revoke({ id: created.id });
    const refused = await rest(t.app, 'GET', '/api/auth/me', { token: created.token });
    expect(refused.statusCode).toBe(401);
    expect(json(refused).reason).toBe('INVALID_TOKEN');
    expect((await auditActions(created.id)).map((event) => event.action)).toEqual(['api_token.created', 'api_token.revoked']);
    expect((await t.caller(person.accessToken).tokens.list()).items.find((item) => item.id === created.id)?.status).toBe('revoked');
  });

  it('cannot be revoked by anyone but its owner: another\'s token is "not found"', async () => {
    const created = await createToken(person.accessToken, ['tasks:read']);
    expect(await rejection(t.caller(admin.accessToken).tokens.revoke({ id: created.id }))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
  });

  it('needs an expiry within the live setting, which an administrator can lower', async () => {
    expect(await rejection(t.caller(person.accessToken).tokens.create({ name: 'forever', scopes: ['tasks:read'] } as never))).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await rejection(createToken(person.accessToken, ['tasks:read'], 'long', 91))).toMatchObject({
      code: 'BAD_REQUEST',
      reason: 'TOKEN_LIFETIME_TOO_LONG',
      fieldErrors: { expiresInDays: [expect.any(String)] },
    });
    await t.caller(admin.accessToken).settings.update({ apiTokenMaxLifetimeDays: 7 });
    try {
      expect(await rejection(createToken(person.accessToken, ['tasks:read'], 'week and a day', 8))).toMatchObject({ reason: 'TOKEN_LIFETIME_TOO_LONG' });
      const week = await createToken(person.accessToken, ['tasks:read'], 'week', 7);
      expect(new Date(week.expiresAt).getTime() - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000);
    } finally {
      await t.caller(admin.accessToken).settings.update({ apiTokenMaxLifetimeDays: 90 });
    }
  });

  it('is refused once it has expired', async () => {
    const created = await createToken(person.accessToken, ['tasks:read']);
    await t.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) } as never)
      .where('id', '=', created.id)
      .execute();
    const refused = await trpc(t.app, 'query', 'auth.me', undefined, { token: created.token });
    expect(refused.statusCode).toBe(401);
    expect(json(refused).error.data.reason).toBe('INVALID_TOKEN');
    expect((await t.caller(person.accessToken).tokens.list()).items.find((item) => item.id === created.id)?.status).toBe('expired');
  });

  it('an unknown token of the right shape is refused like any invalid token', async () => {
    const response = await rest(t.app, 'GET', '/api/auth/me', { token: `stm_pat_${'A'.repeat(43)}` });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});

describe('a token never does more than its owner', () => {
  it('admin scopes are refused to a person who is not an administrator', async () => {
    expect(await rejection(createToken(person.accessToken, ['tasks:read', 'admin:read']))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'TOKEN_SCOPE_NOT_ALLOWED',
    });
  });

  it("a person's token with tasks scopes cannot reach administrators' procedures", async () => {
    const created = await createToken(person.accessToken, ['tasks:read', 'tasks:write', 'projects:manage']);
    const response = await rest(t.app, 'GET', '/api/admin/users', { token: created.token });
    expect(response.statusCode).toBe(403);
    expect(json(response).reason).toBe('TOKEN_SCOPE_MISSING');
  });

  it("an administrator's admin-scoped token stops working when they are demoted, and all tokens when deactivated", async () => {
    const second = await signUpAdmin(t, 'demoted_admin');
    const adminScoped = await createToken(second.accessToken, ['admin:read']);
    const plain = await createToken(second.accessToken, ['tasks:read']);
    expect((await rest(t.app, 'GET', '/api/admin/users', { token: adminScoped.token })).statusCode).toBe(200);
    await t.caller(admin.accessToken).admin.users.update({ id: second.user.id, role: 'user' });
    expect((await rest(t.app, 'GET', '/api/admin/users', { token: adminScoped.token })).statusCode).toBe(401);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: adminScoped.token })).statusCode).toBe(401);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: plain.token })).statusCode).toBe(200);
    await t.caller(admin.accessToken).admin.users.update({ id: second.user.id, isActive: false });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: plain.token })).statusCode).toBe(401);
  });

  it('a token cannot make, list or revoke tokens, sign in, or touch sessions and the password, whatever its scopes', async () => {
    const all = await t.caller(admin.accessToken).tokens.create({ name: 'everything', scopes: [...API_TOKEN_SCOPES], expiresInDays: 1 });
    for (const [kind, path, input] of [
      ['mutation', 'tokens.create', { name: 'child', scopes: ['tasks:read'], expiresInDays: 1 }],
      ['query', 'tokens.list', undefined],
      ['mutation', 'auth.logoutAll', undefined],
      ['mutation', 'auth.changePassword', { currentPassword: PASSWORD, newPassword: 'another long passphrase' }],
      ['mutation', 'auth.login', { username: 'token_admin', password: PASSWORD }],
      ['mutation', 'admin.users.createResetLink', { id: person.user.id }],
    ] as const) {
      const response = await trpc(t.app, kind, path, input, { token: all.token });
      expect(response.statusCode, path).toBe(403);
      expect(json(response).error.data.reason, path).toBe('TOKEN_NOT_ALLOWED');
    }
    // Nor make an administrator, who could then sign in: that needs a recent sign-in, which a token never has.
    const made = await rest(t.app, 'POST', '/api/admin/users', {
      token: all.token,
      body: { username: 'token_made_admin', password: 'a long new passphrase', role: 'admin' },
    });
    expect(made.statusCode).toBe(403);
    expect(json(made)).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    expect(
      (
        await rest(t.app, 'POST', '/api/admin/users', {
          token: all.token,
          body: { username: 'token_made_user', password: 'a long new passphrase', role: 'user' },
        })
      ).statusCode,
    ).toBe(201);
  });
});

describe('service accounts', () => {
  it('are made by administrators, hold stm_sat_ tokens, can never sign in, and are disabled with their tokens', async () => {
    const caller = t.caller(admin.accessToken);
    expect(await rejection(t.caller(person.accessToken).admin.serviceAccounts.create({ username: 'nope_bot' }))).toMatchObject({ code: 'FORBIDDEN' });
    const account = await caller.admin.serviceAccounts.create({ username: 'export_bot' });
    expect(account).toMatchObject({ username: 'export_bot', role: 'user', isActive: true, liveTokens: 0 });
    const created = await caller.admin.serviceAccounts.createToken({ accountId: account.id, name: 'nightly', scopes: ['tasks:read'], expiresInDays: 30 });
    expect(created.token).toMatch(/^stm_sat_/);
    expect(
      await rejection(caller.admin.serviceAccounts.createToken({ accountId: account.id, name: 'too much', scopes: ['admin:read'], expiresInDays: 30 })),
    ).toMatchObject({
      reason: 'TOKEN_SCOPE_NOT_ALLOWED',
    });
    const me = await rest(t.app, 'GET', '/api/auth/me', { token: created.token });
    expect(json(me)).toMatchObject({ username: 'export_bot' });
    expect((await caller.admin.serviceAccounts.list()).items.find((item) => item.id === account.id)?.liveTokens).toBe(1);
    // The users list says which accounts are programs'.
    expect(await caller.admin.users.get({ id: account.id })).toMatchObject({ username: 'export_bot', serviceAccount: true });
    expect(await caller.admin.users.get({ id: person.user.id })).toMatchObject({ serviceAccount: false });
    expect(json(await rest(t.app, 'GET', '/api/admin/users?search=export_bot', { token: admin.accessToken })).items).toEqual([
      expect.objectContaining({ serviceAccount: true }),
    ]);

    // No password matches, not even the stored value itself; the refusal is the one an unknown name gets.
    const stored = await t.database.db.selectFrom('users').select('password_hash').where('id', '=', account.id).executeTakeFirstOrThrow();
    for (const password of [PASSWORD, stored.password_hash, '']) {
      const login = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'export_bot', password } });
      expect(login.statusCode, password).toBe(password === '' ? 400 : 401);
    }
    const failures = await t.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'auth.login_failed')
      .where('target_id', '=', String(account.id))
      .execute();
    expect(failures.map((row) => row.details.reason)).toEqual(['service_account', 'service_account']);

    await caller.admin.serviceAccounts.disable({ id: account.id });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);
    await caller.admin.serviceAccounts.enable({ id: account.id });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
    await caller.admin.serviceAccounts.revokeToken({ accountId: account.id, id: created.id });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);

    expect((await auditActions(String(account.id))).map((event) => event.action)).toEqual(
      expect.arrayContaining(['service_account.created', 'service_account.disabled', 'service_account.enabled']),
    );
    expect((await auditActions(created.id)).map((event) => event.action)).toEqual(['api_token.created', 'api_token.revoked']);
  });

  it("a person's id is no service account", async () => {
    expect(await rejection(t.caller(admin.accessToken).admin.serviceAccounts.tokens({ id: person.user.id }))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

type Procedure = { _def: { type: 'query' | 'mutation' | 'subscription'; meta?: ProcedureMeta } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Procedure>);

/** What a call with a token of only `scope` must meet: refused for the token, or let through to the procedure. */
function expected(meta: ProcedureMeta, scope: ApiTokenScope): 'TOKEN_NOT_ALLOWED' | 'TOKEN_SCOPE_MISSING' | 'through' {
  if (meta.tier === 'public') return meta.scope === 'none' ? 'TOKEN_NOT_ALLOWED' : 'through';
  if (meta.scope === undefined || meta.scope === 'none') return 'TOKEN_NOT_ALLOWED';
  return meta.scope === 'any' || meta.scope === scope ? 'through' : 'TOKEN_SCOPE_MISSING';
}

function checkAnswer(label: string, want: ReturnType<typeof expected>, status: number, reason: string | undefined) {
  if (want === 'through') {
    // Past the token: whatever the procedure makes of this input, never a refusal of the token.
    expect(reason === 'TOKEN_NOT_ALLOWED' || reason === 'TOKEN_SCOPE_MISSING' || status === 401, `${label}: ${status} ${reason}`).toBe(false);
    expect(status, label).toBeLessThan(500);
  } else {
    expect({ status, reason }, label).toEqual({ status: 403, reason: want });
  }
}

/** The error a tRPC subscription's event stream carries (`event: serialized-error`), if any. */
function sseRefusal(body: string): { data?: { httpStatus?: number; reason?: string } } | undefined {
  const match = /event: serialized-error\ndata: (.*)\n/.exec(body);
  return match ? JSON.parse(match[1] as string) : undefined;
}

describe('every procedure × every scope', () => {
  const tokens = new Map<ApiTokenScope, string>();

  beforeAll(async () => {
    // Owned by an administrator, so the only thing between a token and a procedure is its scope.
    for (const scope of API_TOKEN_SCOPES) {
      tokens.set(scope, (await createToken(admin.accessToken, [scope], `matrix ${scope}`)).token);
    }
  });

  it('every signed-in procedure says what a token needs to call it', () => {
    const undeclared = procedures
      .filter(([, procedure]) => procedure._def.meta?.tier !== 'public' && procedure._def.meta?.scope === undefined)
      .map(([path]) => path);
    expect(undeclared).toEqual([]);
    expect(procedures.length).toBeGreaterThan(50);
  });

  it('over tRPC', async () => {
    for (const [path, procedure] of procedures) {
      const meta = procedure._def.meta ?? {};
      // Queries and subscriptions are read with GET, mutations sent with POST.
      const kind = procedure._def.type === 'mutation' ? 'mutation' : 'query';
      for (const scope of API_TOKEN_SCOPES) {
        // An input no procedure takes: a procedure reached answers 400 (or ignores it), and does nothing.
        const response = await trpc(t.app, kind, path, 'not an input', { token: tokens.get(scope) as string });
        if (procedure._def.type === 'subscription') {
          // A subscription answers as a stream of server-sent events: its refusal is an event too.
          const refusal = sseRefusal(response.body);
          checkAnswer(`tRPC ${path} with ${scope}`, expected(meta, scope), refusal?.data?.httpStatus ?? response.statusCode, refusal?.data?.reason);
          continue;
        }
        const body = json(response);
        checkAnswer(`tRPC ${path} with ${scope}`, expected(meta, scope), response.statusCode, body.error?.data?.reason);
      }
    }
  });

  it('over REST', async () => {
    let covered = 0;
    for (const [path, procedure] of procedures) {
      const meta = procedure._def.meta ?? {};
      const openapi = meta.openapi;
      if (!openapi) continue;
      covered++;
      // Path parameters no procedure accepts (ids are positive), so a procedure reached refuses the input.
      const url = `/api${openapi.path.replace(/\{[^}]+\}/g, '0')}`;
      for (const scope of API_TOKEN_SCOPES) {
        const response = await rest(t.app, openapi.method, url, {
          token: tokens.get(scope) as string,
          ...(openapi.method === 'GET' || openapi.method === 'DELETE' ? {} : { body: { expectedVersion: -1 } }),
        });
        checkAnswer(`REST ${openapi.method} ${url} (${path}) with ${scope}`, expected(meta, scope), response.statusCode, json(response).reason);
      }
    }
    expect(covered).toBeGreaterThan(50);
  });
});

describe('two instances on one database', () => {
  let other: TestApp;
  beforeAll(async () => {
    other = await createTestApp({}, { database: t.database });
  });
  afterAll(() => other.close());

  it('a token revoked on one instance is refused by the other on its next request', async () => {
    const created = await createToken(person.accessToken, ['tasks:read']);
    expect((await rest(other.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
    await t.caller(person.accessToken).tokens.revoke({ id: created.id });
    expect((await rest(other.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);
  });

  it('a token that expires is refused by both at once', async () => {
    const created = await createToken(person.accessToken, ['tasks:read']);
    expect((await rest(other.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
    await t.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1) } as never)
      .where('id', '=', created.id)
      .execute();
    expect((await rest(other.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);
  });

  it('a service account disabled on one instance is refused by the other', async () => {
    const account = await t.caller(admin.accessToken).admin.serviceAccounts.create({ username: 'two_instance_bot' });
    const created = await t
      .caller(admin.accessToken)
      .admin.serviceAccounts.createToken({ accountId: account.id, name: 'x', scopes: ['tasks:read'], expiresInDays: 1 });
    expect((await rest(other.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(200);
    await other.caller(admin.accessToken).admin.serviceAccounts.disable({ id: account.id });
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: created.token })).statusCode).toBe(401);
  });
});
