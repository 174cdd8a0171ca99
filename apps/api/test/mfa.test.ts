import { totpCodeAt } from '@stm/auth';
import { sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';

const STEP_MS = 30_000;

let addresses = 0;
/** An address of its own per test: the lockout counts per client address. */
function newAddress(): string {
  addresses += 1;
  return `10.77.${Math.floor(addresses / 250)}.${addresses % 250}`;
}

function post(t: TestApp, url: string, body: unknown, options: { from?: string; token?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return t.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body), remoteAddress: options.from ?? '127.0.0.1' });
}

/** Sets up TOTP for a signed-in user, as a person with an authenticator app would; returns the secret and recovery codes. */
async function enrolTotp(t: TestApp, accessToken: string) {
  const begun = await t.caller(accessToken).mfa.totpBegin();
  expect(begun.qrCode).toMatch(/^data:image\/svg\+xml;base64,/);
  expect(begun.uri).toContain(`secret=${begun.secret}`);
  const confirmed = await t.caller(accessToken).mfa.totpConfirm({ code: totpCodeAt(begun.secret, Date.now()) });
  return { secret: begun.secret, recoveryCodes: confirmed.recoveryCodes as string[] };
}

/** A code no earlier request can have used: the next time step's (the window accepts it). */
const stepOffset = 1;
function freshCode(secret: string): string {
  // Each test spends steps ahead of now; one step per call keeps them unused and within the window.
  const code = totpCodeAt(secret, Date.now() + stepOffset * STEP_MS);
  return code;
}

async function challengeOf(t: TestApp, username: string, from = '127.0.0.1') {
  const response = await post(t, '/api/auth/login', { username, password: PASSWORD }, { from });
  expect(response.statusCode).toBe(401);
  const body = json(response);
  expect(body.reason).toBe('MFA_REQUIRED');
  expect(body.error).toBe('mfa_required');
  return body.details as { challenge: string; methods: string[]; expiresIn: number };
}

async function ageSessions(t: TestApp, userId: number, minutes: number) {
  await t.database.db
    .updateTable('sessions')
    .set({ authenticated_at: sql<Date>`now() - make_interval(mins => ${minutes})` })
    .where('user_id', '=', userId)
    .execute();
}

describe('second factors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('an account without a factor signs in as before, over tRPC and REST', async () => {
    const { user } = await signUp(t, 'plain_user');
    const response = await post(t, '/api/auth/login', { username: user.username, password: PASSWORD });
    expect(response.statusCode).toBe(200);
    expect(json(response).access_token).toEqual(expect.any(String));
  });

  it('TOTP: enrolment by code, then sign-in asks for it; the secret is never shown again', async () => {
    const { user, accessToken } = await signUp(t, 'totp_user');
    const { secret, recoveryCodes } = await enrolTotp(t, accessToken);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const status = await t.caller(accessToken).mfa.status();
    expect(status).toMatchObject({ totp: true, recoveryCodes: { total: 10, unused: 10 } });
    expect(JSON.stringify(status)).not.toContain(secret);
    const stored = await t.database.db.selectFrom('user_totp').select('secret').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(stored.secret).not.toContain(secret);
    const audit = await t.database.db.selectFrom('audit_events').select('details').where('target_id', '=', String(user.id)).execute();
    expect(JSON.stringify(audit)).not.toContain(secret);

    const challenge = await challengeOf(t, user.username);
    expect(challenge.methods).toEqual(['totp', 'recovery_code']);
    expect(challenge.expiresIn).toBe(300);
    const done = await post(t, '/api/auth/login/mfa', { challenge: challenge.challenge, code: freshCode(secret) });
    expect(done.statusCode).toBe(200);
    const tokens = json(done);
    expect((await t.caller(tokens.access_token).auth.me()).username).toBe(user.username);
  });

  it('refuses a replayed TOTP code, and a second enrolment while one is set up', async () => {
    const { user, accessToken } = await signUp(t, 'replay_user');
    const { secret } = await enrolTotp(t, accessToken);
    const code = freshCode(secret);
    const first = await challengeOf(t, user.username);
    expect((await post(t, '/api/auth/login/mfa', { challenge: first.challenge, code })).statusCode).toBe(200);
    const second = await challengeOf(t, user.username);
    const replay = await post(t, '/api/auth/login/mfa', { challenge: second.challenge, code });
    expect(replay.statusCode).toBe(401);
    expect(json(replay).reason).toBe('MFA_CODE_INVALID');
    // The code of the enrolment itself (this step) is spent too.
    const again = await post(t, '/api/auth/login/mfa', { challenge: second.challenge, code: totpCodeAt(secret, Date.now()) });
    expect(json(again).reason).toBe('MFA_CODE_INVALID');
    expect(await rejection(t.caller(accessToken).mfa.totpBegin())).toMatchObject({ reason: 'TOTP_ALREADY_ENABLED' });
  });

  it('a recovery code works once, in any case and spacing', async () => {
    const { user, accessToken } = await signUp(t, 'recovery_user');
    const { recoveryCodes } = await enrolTotp(t, accessToken);
    const code = recoveryCodes[0] as string;
    const first = await challengeOf(t, user.username);
    const used = await t.caller().auth.completeSignIn({ challenge: first.challenge, recoveryCode: ` ${code.toUpperCase()} ` });
    expect(used.access_token).toEqual(expect.any(String));
    const second = await challengeOf(t, user.username);
    expect(await rejection(t.caller().auth.completeSignIn({ challenge: second.challenge, recoveryCode: code }))).toMatchObject({
      code: 'UNAUTHORIZED',
      reason: 'MFA_CODE_INVALID',
    });
    expect((await t.caller(used.access_token).mfa.status()).recoveryCodes).toEqual({ total: 10, unused: 9 });
    const actions = await t.database.db.selectFrom('audit_events').select('action').where('target_id', '=', String(user.id)).execute();
    expect(actions.map((row) => row.action)).toContain('mfa.recovery_code_used');
  });

  it('a challenge is single-use and expires', async () => {
    const { user, accessToken } = await signUp(t, 'challenge_user');
    const { recoveryCodes } = await enrolTotp(t, accessToken);
    const challenge = await challengeOf(t, user.username);
    await t.caller().auth.completeSignIn({ challenge: challenge.challenge, recoveryCode: recoveryCodes[0] });
    expect(await rejection(t.caller().auth.completeSignIn({ challenge: challenge.challenge, recoveryCode: recoveryCodes[1] }))).toMatchObject({
      reason: 'MFA_CHALLENGE_INVALID',
    });

    const late = await challengeOf(t, user.username);
    // Five minutes and a moment later.
    await t.database.db
      .updateTable('auth_challenges')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('user_id', '=', user.id)
      .execute();
    const expired = await post(t, '/api/auth/login/mfa', { challenge: late.challenge, recoveryCode: recoveryCodes[1] as string });
    expect(expired.statusCode).toBe(401);
    expect(json(expired)).toMatchObject({ reason: 'MFA_CHALLENGE_INVALID', error: 'invalid_grant' });
    // The recovery code was not spent by the refused attempt.
    expect((await t.caller(accessToken).mfa.status()).recoveryCodes.unused).toBe(9);
    // A made-up challenge is answered the same way.
    expect(json(await post(t, '/api/auth/login/mfa', { challenge: 'made-up', code: '123456' })).reason).toBe('MFA_CHALLENGE_INVALID');
  });

  it('guesses at the challenge lock the client out as password guesses do', async () => {
    const { user, accessToken } = await signUp(t, 'guessed_user');
    const { secret } = await enrolTotp(t, accessToken);
    const from = newAddress();
    const challenge = await challengeOf(t, user.username, from);
    const statuses: number[] = [];
    for (let guess = 0; guess < 5; guess++) {
      const response = await post(t, '/api/auth/login/mfa', { challenge: challenge.challenge, code: String(100000 + guess) }, { from });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // The fifth wrong answer ended the challenge, and five failures locked this client out of the account:
    // neither the right password nor the right code gets through now.
    const locked = await post(t, '/api/auth/login', { username: user.username, password: PASSWORD }, { from });
    expect(locked.statusCode).toBe(429);
    expect(json(locked).reason).toBe('ACCOUNT_LOCKED');
    expect(locked.headers['retry-after']).toBeDefined();
    const right = await post(t, '/api/auth/login/mfa', { challenge: challenge.challenge, code: freshCode(secret) }, { from });
    expect(right.statusCode).toBe(401);
    // Another address is not locked out by these.
    expect((await post(t, '/api/auth/login', { username: user.username, password: PASSWORD }, { from: newAddress() })).statusCode).toBe(401);
  });

  it('a right password does not clear the failures of wrong codes', async () => {
    const { user, accessToken } = await signUp(t, 'alternating');
    await enrolTotp(t, accessToken);
    const from = newAddress();
    const outcomes: number[] = [];
    for (let round = 0; round < 6; round++) {
      const login = await post(t, '/api/auth/login', { username: user.username, password: PASSWORD }, { from });
      if (login.statusCode !== 401) {
        outcomes.push(login.statusCode);
        continue;
      }
      const guess = await post(t, '/api/auth/login/mfa', { challenge: json(login).details.challenge, code: '000000' }, { from });
      outcomes.push(guess.statusCode);
    }
    expect(outcomes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(outcomes[5]).toBe(429);
  });
});

describe('step-up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('each sensitive operation needs a recent sign-in, over tRPC and REST; re-authenticating lets it through', async () => {
    const admin = await signUpAdmin(t, 'stepup_admin');
    const other = await signUp(t, 'stepup_other');
    const { accessToken, user } = await signUp(t, 'stepup_user');
    await ageSessions(t, user.id, 6);
    await ageSessions(t, admin.user.id, 6);

    const userCalls: [string, () => Promise<unknown>][] = [
      ['changePassword', () => t.caller(accessToken).auth.changePassword({ currentPassword: PASSWORD, newPassword: 'another long passphrase here' })],
      ['totpBegin', () => t.caller(accessToken).mfa.totpBegin()],
      ['totpConfirm', () => t.caller(accessToken).mfa.totpConfirm({ code: '123456' })],
      ['totpDisable', () => t.caller(accessToken).mfa.totpDisable()],
      ['regenerateRecoveryCodes', () => t.caller(accessToken).mfa.regenerateRecoveryCodes()],
      ['passkeyRegistrationOptions', () => t.caller(accessToken).mfa.passkeyRegistrationOptions()],
      ['passkeyRemove', () => t.caller(accessToken).mfa.passkeyRemove({ id: 'abc' })],
    ];
    for (const [name, call] of userCalls) {
      expect(await rejection(call()), name).toMatchObject({ code: 'FORBIDDEN', reason: 'STEP_UP_REQUIRED' });
    }
    expect(await rejection(t.caller(admin.accessToken).admin.users.update({ id: other.user.id, role: 'admin' }))).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    expect(await rejection(t.caller(admin.accessToken).admin.users.resetFactors({ id: other.user.id }))).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    // Making an administrator is granting the role; a reset link hands over the account.
    const newAdmin = { username: 'stepup_new_admin', password: 'a new admin passphrase', role: 'admin' as const };
    expect(await rejection(t.caller(admin.accessToken).admin.users.create(newAdmin))).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    expect(await rejection(t.caller(admin.accessToken).admin.users.createResetLink({ id: other.user.id }))).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    // Deactivation is not a role change, nor is a plain account an administrator: no step-up.
    await t.caller(admin.accessToken).admin.users.update({ id: other.user.id, isActive: true });
    await t.caller(admin.accessToken).admin.users.create({ ...newAdmin, username: 'stepup_new_user', role: 'user' });

    const restCalls: [string, string, unknown, string][] = [
      ['POST', '/api/auth/change-password', { currentPassword: PASSWORD, newPassword: 'another long passphrase here' }, accessToken],
      ['POST', '/api/auth/mfa/totp', undefined, accessToken],
      ['POST', '/api/auth/mfa/totp/confirm', { code: '123456' }, accessToken],
      ['DELETE', '/api/auth/mfa/totp', undefined, accessToken],
      ['POST', '/api/auth/mfa/recovery-codes', undefined, accessToken],
      ['POST', '/api/auth/mfa/passkeys/options', undefined, accessToken],
      ['DELETE', '/api/auth/mfa/passkeys/abc', undefined, accessToken],
      ['PATCH', `/api/admin/users/${other.user.id}`, { role: 'admin' }, admin.accessToken],
      ['POST', `/api/admin/users/${other.user.id}/reset-factors`, undefined, admin.accessToken],
      ['POST', '/api/admin/users', { username: 'stepup_rest_admin', password: 'a new admin passphrase', role: 'admin' }, admin.accessToken],
      ['POST', `/api/admin/users/${other.user.id}/reset-link`, undefined, admin.accessToken],
    ];
    for (const [method, url, body, token] of restCalls) {
      const response = await rest(t.app, method as 'POST', url, { token, body: body ?? (method === 'POST' ? {} : undefined) });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(json(response), `${method} ${url}`).toMatchObject({ reason: 'STEP_UP_REQUIRED', details: { maxAgeSeconds: 300 } });
    }
    // Over tRPC's own HTTP transport too.
    const overHttp = await trpc(t.app, 'mutation', 'mfa.totpBegin', undefined, { token: accessToken });
    expect(overHttp.statusCode).toBe(403);
    expect(json(overHttp).error.data.reason).toBe('STEP_UP_REQUIRED');

    // Re-authenticating keeps the session and lets the change through.
    expect(await rejection(t.caller(accessToken).auth.reauthenticate({ password: 'wrong password!' }))).toMatchObject({ reason: 'CURRENT_PASSWORD_WRONG' });
    await t.caller(accessToken).auth.reauthenticate({ password: PASSWORD });
    const begun = await t.caller(accessToken).mfa.totpBegin();
    expect(begun.secret).toEqual(expect.any(String));
    const reauth = await rest(t.app, 'POST', '/api/auth/reauthenticate', { token: admin.accessToken, body: { password: PASSWORD } });
    expect(reauth.statusCode).toBe(200);
    expect((await t.caller(admin.accessToken).admin.users.update({ id: other.user.id, role: 'admin' })).role).toBe('admin');
  });

  it('with a second factor, re-authentication asks for it too', async () => {
    const { accessToken, user } = await signUp(t, 'stepup_mfa');
    const { secret } = await enrolTotp(t, accessToken);
    await ageSessions(t, user.id, 6);
    expect(await rejection(t.caller(accessToken).mfa.totpDisable())).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    const first = await rest(t.app, 'POST', '/api/auth/reauthenticate', { token: accessToken, body: { password: PASSWORD } });
    expect(first.statusCode).toBe(401);
    const { challenge } = json(first).details;
    expect(json(first).reason).toBe('MFA_REQUIRED');
    // The password alone did not count.
    expect(await rejection(t.caller(accessToken).mfa.totpDisable())).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    const second = await rest(t.app, 'POST', '/api/auth/reauthenticate', { token: accessToken, body: { challenge, code: freshCode(secret) } });
    expect(second.statusCode).toBe(200);
    await t.caller(accessToken).mfa.totpDisable();
    expect((await t.caller(accessToken).mfa.status()).totp).toBe(false);
    // Recovery codes go with the last factor.
    expect((await t.caller(accessToken).mfa.status()).recoveryCodes.total).toBe(0);
  });
});

describe('administrators and policy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("an administrator's reset removes the factors, ends the user's sessions, and is audited", async () => {
    const admin = await signUpAdmin(t, 'reset_admin');
    const { accessToken, user } = await signUp(t, 'reset_target');
    await enrolTotp(t, accessToken);
    const result = await t.caller(admin.accessToken).admin.users.resetFactors({ id: user.id });
    expect(result.endedSessions).toBeGreaterThanOrEqual(1);
    expect(await rejection(t.caller(accessToken).auth.me())).toMatchObject({ reason: 'INVALID_TOKEN' });
    const again = await post(t, '/api/auth/login', { username: user.username, password: PASSWORD });
    expect(again.statusCode).toBe(200);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_id', 'details'])
      .where('action', '=', 'mfa.factors_reset')
      .where('target_id', '=', String(user.id))
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor_id: admin.user.id, details: { totp: true, recoveryCodes: 10 } });
    expect(await rejection(t.caller(accessToken).admin.users.resetFactors({ id: user.id }))).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('a policy with a grace period leads to enrolment; past it, nothing but enrolment is allowed', async () => {
    const admin = await signUpAdmin(t, 'policy_admin');
    // An administrator without a factor would be the first locked out: they enrol first.
    expect(await rejection(t.caller(admin.accessToken).settings.update({ mfaRequiredForEveryone: true }))).toMatchObject({ reason: 'MFA_ENROLMENT_REQUIRED' });
    const adminSecret = (await enrolTotp(t, admin.accessToken)).secret;
    await t.caller(admin.accessToken).settings.update({ mfaRequiredForEveryone: true, mfaEveryoneGraceDays: 7 });
    const graced = await signUp(t, 'policy_graced');
    const status = await t.caller(graced.accessToken).mfa.status();
    expect(status.policy.required).toBe(true);
    expect(status.policy.mustEnrolNow).toBe(false);
    expect(new Date(status.policy.graceEndsAt as string).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    await t.caller(graced.accessToken).tasks.list({});
    // A token of theirs made during the grace period, and a service account's (no factor to enrol).
    const personal = await t.caller(graced.accessToken).tokens.create({ name: 'script', scopes: ['tasks:read'], expiresInDays: 30 });
    const bot = await t.caller(admin.accessToken).admin.serviceAccounts.create({ username: 'policy_bot' });
    const botToken = await t
      .caller(admin.accessToken)
      .admin.serviceAccounts.createToken({ accountId: bot.id, name: 'nightly', scopes: ['tasks:read'], expiresInDays: 30 });
    expect((await rest(t.app, 'GET', '/api/tasks', { token: personal.token })).statusCode).toBe(200);

    // Grace over: the same account may only see its state, enrol, and sign out.
    await t.database.db
      .updateTable('users')
      .set({ mfa_grace_started_at: sql<Date>`now() - interval '8 days'` })
      .where('id', '=', graced.user.id)
      .execute();
    expect(await rejection(t.caller(graced.accessToken).tasks.list({}))).toMatchObject({ code: 'FORBIDDEN', reason: 'MFA_ENROLMENT_REQUIRED' });
    const overRest = await rest(t.app, 'GET', '/api/tasks', { token: graced.accessToken });
    expect(overRest.statusCode).toBe(403);
    expect(json(overRest).reason).toBe('MFA_ENROLMENT_REQUIRED');
    // Their token is held to it too; the service account's is not.
    const byToken = await rest(t.app, 'GET', '/api/tasks', { token: personal.token });
    expect(byToken.statusCode).toBe(403);
    expect(json(byToken).reason).toBe('MFA_ENROLMENT_REQUIRED');
    expect((await rest(t.app, 'GET', '/api/tasks', { token: botToken.token })).statusCode).toBe(200);
    expect((await t.caller(graced.accessToken).mfa.status()).policy.mustEnrolNow).toBe(true);
    await enrolTotp(t, graced.accessToken);
    await t.caller(graced.accessToken).tasks.list({});
    expect((await rest(t.app, 'GET', '/api/tasks', { token: personal.token })).statusCode).toBe(200);

    // The administrators' rule alone leaves users alone, and binds an administrator without a factor at once.
    await t.caller(admin.accessToken).settings.update({ mfaRequiredForEveryone: false, mfaRequiredForAdmins: true, mfaAdminGraceDays: 0 });
    const plain = await signUp(t, 'policy_plain');
    expect((await t.caller(plain.accessToken).mfa.status()).policy.required).toBe(false);
    const otherAdmin = await signUpAdmin(t, 'policy_admin2');
    expect(await rejection(t.caller(otherAdmin.accessToken).admin.users.list({}))).toMatchObject({ reason: 'MFA_ENROLMENT_REQUIRED' });
    expect(adminSecret).toEqual(expect.any(String));
    await t.caller(admin.accessToken).admin.users.list({});
  });
});
