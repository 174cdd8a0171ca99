import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('registration', () => {
  it('creates a user with role "user" and never returns the password hash', async () => {
    const user = await t.caller().auth.register({ username: 'reg_alice', password: PASSWORD });
    expect(user).toMatchObject({ username: 'reg_alice', role: 'user', isActive: true });
    expect(typeof user.id).toBe('number');
    expect(user.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(JSON.stringify(user)).not.toMatch(/hash|password/i);
  });

  it('answers 201 over REST and the same shape as tRPC', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'reg_rest', password: PASSWORD } });
    expect(response.statusCode).toBe(201);
    expect(json(response)).toMatchObject({ username: 'reg_rest', role: 'user', isActive: true });
    const viaTrpc = await trpc(t.app, 'mutation', 'auth.register', { username: 'reg_trpc', password: PASSWORD });
    expect(viaTrpc.statusCode).toBe(200);
    expect(json(viaTrpc).result.data).toMatchObject({ username: 'reg_trpc', role: 'user' });
  });

  it('refuses a request for the admin role with 403 and creates nothing', async () => {
    const viaCaller = await rejection(t.caller().auth.register({ username: 'want_admin', password: PASSWORD, role: 'admin' }));
    expect(viaCaller).toMatchObject({ code: 'FORBIDDEN', reason: 'ADMIN_REGISTRATION_FORBIDDEN' });
    const viaRest = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'want_admin', password: PASSWORD, role: 'admin' } });
    expect(viaRest.statusCode).toBe(403);
    const login = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'want_admin', password: PASSWORD } });
    expect(login.statusCode).toBe(401);
  });

  it('accepts an explicit role "user"', async () => {
    await expect(t.caller().auth.register({ username: 'plain_user', password: PASSWORD, role: 'user' })).resolves.toMatchObject({ role: 'user' });
  });

  it('refuses a taken username in any letter case with 409', async () => {
    await t.caller().auth.register({ username: 'CaseName', password: PASSWORD });
    for (const variant of ['CaseName', 'casename', 'CASENAME', 'cAsEnAmE']) {
      expect(await rejection(t.caller().auth.register({ username: variant, password: PASSWORD }))).toMatchObject({
        code: 'CONFLICT',
        reason: 'USERNAME_TAKEN',
      });
    }
    const response = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'CASENAME', password: PASSWORD } });
    expect(response.statusCode).toBe(409);
    expect(json(response)).toMatchObject({ code: 'CONFLICT', data: { reason: 'USERNAME_TAKEN', fieldErrors: { username: expect.any(Array) } } });
  });

  it('lets exactly one of 16 simultaneous registrations of a name succeed', async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        rest(t.app, 'POST', '/api/auth/register', { body: { username: i % 2 ? 'race_name' : 'RACE_NAME', password: PASSWORD } }),
      ),
    );
    const statuses = attempts.map((a) => (a.status === 'fulfilled' ? a.value.statusCode : 0)).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(15);
  });

  it.each([
    ['too short', { username: 'abc', password: PASSWORD }, 'username'],
    ['too long', { username: 'a'.repeat(21), password: PASSWORD }, 'username'],
    ['with a space', { username: 'bad name', password: PASSWORD }, 'username'],
    ['with a look-alike Cyrillic letter', { username: 'аdmin_x', password: PASSWORD }, 'username'],
    ['with an invisible character', { username: 'ab\u200bcd', password: PASSWORD }, 'username'],
    ['with a fullwidth letter', { username: 'ａbcdef', password: PASSWORD }, 'username'],
    ['without a password', { username: 'nopass' }, 'password'],
    ['with a short password', { username: 'shortpw', password: 'short' }, 'password'],
    ['with a non-string username', { username: 12345, password: PASSWORD }, 'username'],
  ])('refuses a username or password %s with 400 naming the field', async (_label, body, field) => {
    const response = await rest(t.app, 'POST', '/api/auth/register', { body });
    expect(response.statusCode).toBe(400);
    const error = json(response);
    expect(error.data.fieldErrors[field]).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(JSON.stringify(error)).not.toMatch(/stack|at Object|node_modules/);
  });

  it('accepts the allowed characters: letters, digits, _ . -', async () => {
    await expect(t.caller().auth.register({ username: 'a.b-c_9', password: PASSWORD })).resolves.toMatchObject({ username: 'a.b-c_9' });
  });
});

describe('login', () => {
  beforeAll(async () => {
    await t.caller().auth.register({ username: 'login_bob', password: PASSWORD });
  });

  it('accepts the OAuth2 password form and answers a bearer token', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/login', {
      form: { username: 'login_bob', password: PASSWORD, grant_type: 'password', scope: '' },
    });
    expect(response.statusCode).toBe(200);
    const body = json(response);
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(body.access_token.split('.')).toHaveLength(3);
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('accepts JSON, and the username in any case', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'LOGIN_BOB', password: PASSWORD } });
    expect(response.statusCode).toBe(200);
    const me = await rest(t.app, 'GET', '/api/auth/me', { token: json(response).access_token });
    expect(json(me)).toMatchObject({ username: 'login_bob' });
  });

  it('refuses a wrong password and an unknown user alike, with 401', async () => {
    const wrong = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'login_bob', password: 'not the password' } });
    const unknown = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'nobody_here', password: 'not the password' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(json(wrong).message).toBe(json(unknown).message);
    expect(json(wrong).data.reason).toBe('INVALID_CREDENTIALS');
  });

  // U+0000 reached PostgreSQL (the user lookup, the audit record), which cannot hold it in text: 500.
  it('refuses a username with U+0000 with 400 naming it, over REST and tRPC', async () => {
    const overRest = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'login_bob\u0000', password: PASSWORD } });
    expect(overRest.statusCode).toBe(400);
    expect(json(overRest).data.fieldErrors.username).toEqual(['Must not contain the character U+0000']);
    const overTrpc = await trpc(t.app, 'mutation', 'auth.login', { username: '\u0000', password: PASSWORD });
    expect(overTrpc.statusCode).toBe(400);
  });

  it('spends exactly one bounded bcrypt compare on an unknown username, from the very first sign-in', async () => {
    const fresh = await createTestApp();
    try {
      const hasher = fresh.app.services.hasher;
      // What an unknown name is compared with was made at start, not by the first request.
      expect(hasher.done).toEqual({ hashes: 1, compares: 0 });
      await fresh.caller().auth.register({ username: 'known_one', password: PASSWORD });
      const cases = [
        { username: 'nobody_at_all', password: 'not the password' },
        { username: 'known_one', password: 'not the password' },
        { username: 'nobody_else', password: 'not the password' },
      ];
      for (const credentials of cases) {
        const before = hasher.done;
        const response = await rest(fresh.app, 'POST', '/api/auth/login', { body: credentials });
        expect(response.statusCode).toBe(401);
        expect(hasher.done, credentials.username).toEqual({ hashes: before.hashes, compares: before.compares + 1 });
      }
    } finally {
      await fresh.close();
    }
  });

  it.each([
    ['no username', { password: PASSWORD }, 'username'],
    ['an empty username', { username: '', password: PASSWORD }, 'username'],
    ['no password', { username: 'login_bob' }, 'password'],
    ['an empty password', { username: 'login_bob', password: '' }, 'password'],
  ])('refuses a login with %s with 400 naming the field, over REST (JSON and form) and tRPC', async (_case, body, field) => {
    const form = Object.fromEntries(Object.entries(body).map(([key, value]) => [key, value]));
    for (const response of [
      await rest(t.app, 'POST', '/api/auth/login', { body }),
      await rest(t.app, 'POST', '/api/auth/login', { form }),
      await trpc(t.app, 'mutation', 'auth.login', body),
    ]) {
      expect(response.statusCode).toBe(400);
      const data = response.raw.req.url?.startsWith('/trpc') ? json(response).error.data : json(response).data;
      expect(data.reason).toBe('VALIDATION_FAILED');
      expect(Object.keys(data.fieldErrors)).toEqual([field]);
    }
  });

  it('refuses a form body on a route that only takes JSON', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/register', { form: { username: 'formuser', password: PASSWORD } });
    expect(response.statusCode).toBe(415);
  });

  it('refuses malformed JSON with 400, not 500', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "x", ',
    });
    expect(response.statusCode).toBe(400);
  });

  it('refuses a body over the size limit with 413', async () => {
    const response = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'x', password: 'y'.repeat(2 * 1024 * 1024) } });
    expect(response.statusCode).toBe(413);
  });
});

describe('long passwords are not truncated', () => {
  it('refuses a login with only the first 72 bytes of an 80-byte password', async () => {
    const password = `${'Gx4kQ9wz'.repeat(9)}TAILTAIL`;
    expect(Buffer.byteLength(password)).toBe(80);
    await t.caller().auth.register({ username: 'long_pw', password });
    await expect(t.caller().auth.login({ username: 'long_pw', password })).resolves.toMatchObject({ token_type: 'bearer' });
    expect(await rejection(t.caller().auth.login({ username: 'long_pw', password: password.slice(0, 72) }))).toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(await rejection(t.caller().auth.login({ username: 'long_pw', password: `${password.slice(0, 72)}OTHERXXX` }))).toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });
});

describe('me and the admin greeting', () => {
  it('answers the signed-in user over tRPC and REST', async () => {
    const { accessToken } = await signUp(t, 'me_carol');
    expect(await t.caller(accessToken).auth.me()).toMatchObject({ username: 'me_carol', role: 'user' });
    const response = await rest(t.app, 'GET', '/api/auth/me', { token: accessToken });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toMatchObject({ username: 'me_carol', role: 'user' });
    const viaTrpc = await trpc(t.app, 'query', 'auth.me', undefined, { token: accessToken });
    expect(json(viaTrpc).result.data).toMatchObject({ username: 'me_carol' });
  });

  it('answers 401 with WWW-Authenticate: Bearer without a token', async () => {
    const response = await rest(t.app, 'GET', '/api/auth/me');
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="stm"');
    const viaTrpc = await trpc(t.app, 'query', 'auth.me');
    expect(viaTrpc.statusCode).toBe(401);
    expect(viaTrpc.headers['www-authenticate']).toBe('Bearer realm="stm"');
    expect(await rejection(t.caller().auth.me())).toMatchObject({ code: 'UNAUTHORIZED', reason: 'UNAUTHENTICATED' });
  });

  it('answers 401 with error="invalid_token" for a malformed header or token, over REST and tRPC', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer not.a.jwt', 'Bearer a b c']) {
      const response = await rest(t.app, 'GET', '/api/auth/me', { headers: { authorization } });
      expect(response.statusCode, authorization).toBe(401);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
      const viaTrpc = await trpc(t.app, 'query', 'auth.me', undefined, { headers: { authorization } });
      expect(viaTrpc.statusCode, authorization).toBe(401);
      expect(viaTrpc.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(json(viaTrpc).error.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_TOKEN' });
    }
  });

  it('answers error="invalid_token" over tRPC for a token that has been revoked', async () => {
    const { accessToken } = await signUp(t, 'revoked_trpc');
    expect((await trpc(t.app, 'mutation', 'auth.logout', undefined, { token: accessToken })).statusCode).toBe(200);
    const response = await trpc(t.app, 'query', 'auth.me', undefined, { token: accessToken });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="stm", error="invalid_token", error_description="The access token is invalid, expired or revoked"',
    );
  });

  it('greets an administrator and refuses a user with 403 and no token with 401', async () => {
    const admin = await signUpAdmin(t, 'greet_admin');
    expect(await t.caller(admin.accessToken).auth.admin()).toEqual({ message: 'Welcome, administrator greet_admin' });
    const adminRest = await rest(t.app, 'GET', '/api/auth/admin', { token: admin.accessToken });
    expect(adminRest.statusCode).toBe(200);

    const user = await signUp(t, 'greet_user');
    expect(await rejection(t.caller(user.accessToken).auth.admin())).toMatchObject({ code: 'FORBIDDEN' });
    const userRest = await rest(t.app, 'GET', '/api/auth/admin', { token: user.accessToken });
    expect(userRest.statusCode).toBe(403);
    expect(userRest.headers['www-authenticate']).toBeUndefined();
    const anonymous = await rest(t.app, 'GET', '/api/auth/admin');
    expect(anonymous.statusCode).toBe(401);

    const adminTrpc = await trpc(t.app, 'query', 'auth.admin', undefined, { token: admin.accessToken });
    expect(adminTrpc.statusCode).toBe(200);
    expect(json(adminTrpc).result.data).toEqual({ message: 'Welcome, administrator greet_admin' });
    const userTrpc = await trpc(t.app, 'query', 'auth.admin', undefined, { token: user.accessToken });
    expect(userTrpc.statusCode).toBe(403);
    expect(json(userTrpc).error.data).toMatchObject({ code: 'FORBIDDEN', reason: 'FORBIDDEN' });
    expect(userTrpc.headers['www-authenticate']).toBeUndefined();
    const anonymousTrpc = await trpc(t.app, 'query', 'auth.admin');
    expect(anonymousTrpc.statusCode).toBe(401);
    expect(anonymousTrpc.headers['www-authenticate']).toBe('Bearer realm="stm"');
  });

  it('uses the role stored now, not the role in the token', async () => {
    const admin = await signUpAdmin(t, 'demoted_admin');
    await t.app.services.database.db.updateTable('users').set({ role: 'user' }).where('id', '=', admin.user.id).execute();
    expect(await rejection(t.caller(admin.accessToken).auth.admin())).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses the live token of a deactivated user at once', async () => {
    const { user, accessToken } = await signUp(t, 'soon_inactive');
    await expect(t.caller(accessToken).auth.me()).resolves.toMatchObject({ id: user.id });
    await t.app.services.database.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute();
    expect(await rejection(t.caller(accessToken).auth.me())).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_TOKEN' });
    const response = await rest(t.app, 'GET', '/api/auth/me', { token: accessToken });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    const login = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'soon_inactive', password: PASSWORD } });
    expect(login.statusCode).toBe(403);
    expect(json(login)).toMatchObject({ data: { reason: 'ACCOUNT_DEACTIVATED' } });
  });

  it('tells a deactivated user so only after the right password: a wrong one is just "incorrect"', async () => {
    const admin = await signUpAdmin(t, 'deact_admin');
    const { user } = await signUp(t, 'deact_target');
    await t.caller(admin.accessToken).admin.users.update({ id: user.id, isActive: false });

    expect(await rejection(t.caller().auth.login({ username: 'deact_target', password: 'not the password at all' }))).toMatchObject({
      code: 'UNAUTHORIZED',
      reason: 'INVALID_CREDENTIALS',
    });
    expect(await rejection(t.caller().auth.login({ username: 'deact_target', password: PASSWORD }))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'ACCOUNT_DEACTIVATED',
    });
    const wrong = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'deact_target', password: 'not the password at all' } });
    expect(wrong.statusCode).toBe(401);
    expect(json(wrong)).toMatchObject({ data: { reason: 'INVALID_CREDENTIALS' } });
    const right = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'deact_target', password: PASSWORD } });
    expect(right.statusCode).toBe(403);
    expect(json(right)).toMatchObject({ data: { reason: 'ACCOUNT_DEACTIVATED' } });
    // The same words as for an account that never existed, whatever the password.
    expect(await rejection(t.caller().auth.login({ username: 'deact_nobody', password: PASSWORD }))).toMatchObject({ reason: 'INVALID_CREDENTIALS' });

    await t.caller(admin.accessToken).admin.users.update({ id: user.id, isActive: true });
    await expect(t.caller().auth.login({ username: 'deact_target', password: PASSWORD })).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  it('tells the holder of an unspent refresh token that the account was deactivated', async () => {
    const admin = await signUpAdmin(t, 'deact_admin2');
    const { user, refreshToken } = await signUp(t, 'deact_refresh');
    const spent = await t.caller().auth.refresh({ refresh_token: refreshToken });
    await t.caller(admin.accessToken).admin.users.update({ id: user.id, isActive: false });
    expect(await rejection(t.caller().auth.refresh({ refresh_token: spent.refresh_token }))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'ACCOUNT_DEACTIVATED',
    });
    // A spent or made-up token learns nothing about the account.
    expect(await rejection(t.caller().auth.refresh({ refresh_token: 'x'.repeat(43) }))).toMatchObject({ reason: 'REFRESH_TOKEN_INVALID' });
  });

  it('refuses the live token of a deleted user', async () => {
    const { user, accessToken } = await signUp(t, 'soon_deleted');
    await t.app.services.database.db.deleteFrom('users').where('id', '=', user.id).execute();
    expect(await rejection(t.caller(accessToken).auth.me())).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('health', () => {
  it('reports the process alive and the database ready', async () => {
    expect(json(await t.app.inject({ method: 'GET', url: '/healthz' }))).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(json(ready)).toMatchObject({ status: 'ready', checks: { database: 'up' } });
  });
});
