import { hashOpaqueToken } from '@stm/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

const NEW_PASSWORD = 'a brand new passphrase';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUpAdmin>>;
beforeAll(async () => {
  t = await createTestApp();
  admin = await signUpAdmin(t, 'reset_admin');
});
afterAll(() => t.close());

async function createLink(userId: number): Promise<{ token: string; expiresAt: string }> {
  const response = await rest(t.app, 'POST', `/api/admin/users/${userId}/reset-link`, { token: admin.accessToken, body: {} });
  expect(response.statusCode, response.body).toBe(200);
  return json(response);
}

function redeem(token: string, newPassword = NEW_PASSWORD) {
  return rest(t.app, 'POST', '/api/auth/reset-password', { body: { token, newPassword } });
}

function login(username: string, password: string) {
  return rest(t.app, 'POST', '/api/auth/login', { body: { username, password } });
}

describe('reset links', () => {
  it('sets a new password once, ends every session, and is refused the second time', async () => {
    const victim = await signUp(t, 'forgetful');
    const other = await t.caller().auth.login({ username: 'forgetful', password: PASSWORD });
    const before = Date.now();
    const link = await createLink(victim.user.id);
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(link.expiresAt) - before;
    expect(ttl).toBeGreaterThan(59 * 60 * 1000);
    expect(ttl).toBeLessThanOrEqual(60 * 60 * 1000 + 1000);

    const response = await redeem(link.token);
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ ok: true });

    for (const tokens of [victim, { accessToken: other.access_token, refreshToken: other.refresh_token as string }]) {
      expect((await rest(t.app, 'GET', '/api/auth/me', { token: tokens.accessToken })).statusCode).toBe(401);
      expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: tokens.refreshToken } })).statusCode).toBe(401);
    }
    expect((await login('forgetful', PASSWORD)).statusCode).toBe(401);
    expect((await login('forgetful', NEW_PASSWORD)).statusCode).toBe(200);

    const again = await redeem(link.token, 'yet another passphrase');
    expect(again.statusCode).toBe(400);
    expect(json(again)).toMatchObject({ code: 'BAD_REQUEST', data: { reason: 'RESET_TOKEN_INVALID', fieldErrors: { token: [expect.any(String)] } } });
    expect((await login('forgetful', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('is refused after its hour, like an unknown token', async () => {
    const victim = await signUp(t, 'too_late');
    const link = await createLink(victim.user.id);
    await t.database.db
      .updateTable('password_reset_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('token_hash', '=', hashOpaqueToken(link.token))
      .execute();
    const expired = await redeem(link.token);
    const unknown = await redeem('x'.repeat(43));
    for (const response of [expired, unknown]) {
      expect(response.statusCode).toBe(400);
      expect(json(response).data.reason).toBe('RESET_TOKEN_INVALID');
    }
    expect(json(expired).message).toBe(json(unknown).message);
    expect((await login('too_late', PASSWORD)).statusCode).toBe(200);
  });

  it('stops working when a newer link is created for the same user', async () => {
    const victim = await signUp(t, 'twice_asked');
    const older = await createLink(victim.user.id);
    const newer = await createLink(victim.user.id);
    expect((await redeem(older.token)).statusCode).toBe(400);
    expect((await redeem(newer.token)).statusCode).toBe(200);
  });

  it('stops working when the user changes their password meanwhile', async () => {
    const victim = await signUp(t, 'changed_meanwhile');
    const link = await createLink(victim.user.id);
    await t.caller(victim.accessToken).auth.changePassword({ currentPassword: PASSWORD, newPassword: 'chosen by the owner' });
    const refused = await redeem(link.token);
    expect(refused.statusCode).toBe(400);
    expect((await login('changed_meanwhile', 'chosen by the owner')).statusCode).toBe(200);
    expect((await login('changed_meanwhile', NEW_PASSWORD)).statusCode).toBe(401);
  });

  it('applies the live password policy and stays usable after a refused password', async () => {
    const victim = await signUp(t, 'picky_pw');
    const link = await createLink(victim.user.id);
    const short = await redeem(link.token, 'short');
    expect(short.statusCode).toBe(400);
    expect(json(short).data).toMatchObject({ reason: 'PASSWORD_TOO_SHORT', fieldErrors: { newPassword: [expect.any(String)] } });
    const common = await redeem(link.token, 'passwordpassword');
    expect(json(common).data.reason).toBe('PASSWORD_TOO_COMMON');
    const weak = await redeem(link.token, 'abcdefghijklmnop');
    expect(json(weak).data.reason).toBe('PASSWORD_TOO_WEAK');
    const withName = await redeem(link.token, 'picky_pw is my password');
    expect(json(withName).data.reason).toBe('PASSWORD_CONTAINS_USERNAME');
    expect((await redeem(link.token)).statusCode).toBe(200);
  });

  it('lets exactly one of several simultaneous redemptions through', async () => {
    const victim = await signUp(t, 'raced_reset');
    const link = await createLink(victim.user.id);
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => redeem(link.token, `${NEW_PASSWORD} ${i}`)));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400]);
    const winner = responses.findIndex((r) => r.statusCode === 200);
    expect((await login('raced_reset', `${NEW_PASSWORD} ${winner}`)).statusCode).toBe(200);
  });

  it('stores only a hash of the token and never writes it to the audit log', async () => {
    const victim = await signUp(t, 'hash_only');
    const link = await createLink(victim.user.id);
    const rows = await t.database.db.selectFrom('password_reset_tokens').selectAll().where('user_id', '=', victim.user.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).toBe(hashOpaqueToken(link.token));
    expect(JSON.stringify(rows)).not.toContain(link.token);
    await redeem(link.token);
    const events = await t.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', String(victim.user.id)).execute();
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['user.reset_link_created', 'auth.password_reset']));
    const serialized = JSON.stringify(events);
    expect(serialized).not.toContain(link.token);
    expect(serialized).not.toContain(NEW_PASSWORD);
  });

  it('clears a lockout: the user who just proved control can sign in', async () => {
    const victim = await signUp(t, 'locked_out');
    for (let i = 0; i < 5; i++) await login('locked_out', 'wrong password!');
    expect((await login('locked_out', PASSWORD)).statusCode).toBe(429);
    const link = await createLink(victim.user.id);
    expect((await redeem(link.token)).statusCode).toBe(200);
    expect((await login('locked_out', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('answers 404 for a link to an unknown user and 400 for malformed input', async () => {
    const missing = await rest(t.app, 'POST', '/api/admin/users/999999/reset-link', { token: admin.accessToken, body: {} });
    expect(missing.statusCode).toBe(404);
    const noToken = await rest(t.app, 'POST', '/api/auth/reset-password', { body: { newPassword: NEW_PASSWORD } });
    expect(noToken.statusCode).toBe(400);
    expect(json(noToken).data.fieldErrors.token).toBeDefined();
    const longToken = await redeem('y'.repeat(201));
    expect(longToken.statusCode).toBe(400);
  });

  it('works over tRPC too, without a sign-in', async () => {
    const victim = await signUp(t, 'trpc_reset');
    const link = await t.caller(admin.accessToken).admin.users.createResetLink({ id: victim.user.id });
    const response = await trpc(t.app, 'mutation', 'auth.resetPassword', { token: link.token, newPassword: NEW_PASSWORD });
    expect(response.statusCode).toBe(200);
    expect(json(response).result.data).toEqual({ ok: true });
    expect((await login('trpc_reset', NEW_PASSWORD)).statusCode).toBe(200);
  });
});
