import { hashOpaqueToken } from '@stm/auth';
import { mailOutbox, sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, type TestApp, trpc } from './helpers';
import { deleteRedisKeys, testRedisUrl, uniqueRedisPrefix } from './redis';
import { headerOf, readableText, startSmtpServer, type TestSmtpServer } from './smtp';

const PUBLIC_URL = 'https://tasks.example.test';
const NEW_PASSWORD = 'a brand new passphrase';
const HOUR = 60 * 60 * 1000;

let smtp: TestSmtpServer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({ SMTP_URL: smtp.url, PUBLIC_URL, MAIL_FROM: 'Tasks <tasks@example.test>' });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

/** Everything asked for so far is prepared and handed to the SMTP server; answers the mail `to` received since `from`. */
async function mailTo(address: string, count = 1) {
  await t.app.services.passwordResets.idle();
  await vi.waitFor(
    async () => {
      await t.app.services.mail.deliverDue();
      expect(smtp.received.filter(sentTo(address)).length).toBeGreaterThanOrEqual(count);
    },
    { timeout: 10_000, interval: 50 },
  );
  return smtp.received.filter(sentTo(address));
}

function sentTo(address: string) {
  return (mail: { to: string[] }) => mail.to.some((to) => to.toLowerCase() === address.toLowerCase());
}

function linkIn(raw: string, path: '/verify-email' | '/reset-password'): string {
  const found = new RegExp(`${PUBLIC_URL}${path}#token=([A-Za-z0-9_-]{43})`).exec(readableText(raw));
  if (!found?.[1]) throw new Error(`no ${path} link in:\n${readableText(raw)}`);
  return found[1];
}

async function makeStale(sessionUserId: number) {
  await t.database.db
    .updateTable('sessions')
    .set({ authenticated_at: sql<Date>`now() - make_interval(mins => 10)` })
    .where('user_id', '=', sessionUserId)
    .execute();
}

/** Gives the account an address and confirms it through the mailed link. */
async function confirmed(name: string, address: string) {
  const signed = await signUp(t, name);
  const calls = t.caller(signed.accessToken);
  await calls.account.setEmail({ email: address });
  const [mail] = (await mailTo(address)).slice(-1);
  await t.caller().account.verifyEmail({ token: linkIn(mail!.raw, '/verify-email') });
  return { ...signed, calls };
}

describe('the email address of an account', () => {
  it('is confirmed by a link mailed to it, which works once', async () => {
    const ana = await signUp(t, 'ana_email');
    const calls = t.caller(ana.accessToken);
    expect(await calls.account.email()).toEqual({ email: null, verifiedAt: null, pendingEmail: null });

    const set = await rest(t.app, 'PUT', '/api/account/email', { token: ana.accessToken, body: { email: 'Ana.Email@Example.test' } });
    expect(set.statusCode, set.body).toBe(200);
    expect(json(set)).toEqual({ email: null, verifiedAt: null, pendingEmail: 'Ana.Email@Example.test' });

    const [mail] = await mailTo('Ana.Email@Example.test');
    expect(headerOf(mail!.raw, 'Subject')).toBe('Secure Task Manager: confirm your email address');
    const token = linkIn(mail!.raw, '/verify-email');
    // Only its hash is stored.
    const stored = await t.database.db
      .selectFrom('email_verification_tokens')
      .select(['token_hash', 'created_at', 'expires_at'])
      .where('user_id', '=', ana.user.id)
      .execute();
    expect(stored.map((row) => row.token_hash)).toEqual([hashOpaqueToken(token)]);
    expect(Math.abs(stored[0]!.expires_at.getTime() - stored[0]!.created_at.getTime() - 24 * HOUR)).toBeLessThan(5_000);

    const verified = await rest(t.app, 'POST', '/api/account/email/verify', { body: { token } });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(json(verified)).toEqual({ ok: true, email: 'Ana.Email@Example.test' });
    expect(await calls.account.email()).toMatchObject({ email: 'Ana.Email@Example.test', verifiedAt: expect.any(String), pendingEmail: null });

    const again = await rest(t.app, 'POST', '/api/account/email/verify', { body: { token } });
    expect(again.statusCode).toBe(400);
    expect(json(again)).toMatchObject({ data: { reason: 'EMAIL_TOKEN_INVALID' } });
    expect(await rejection(t.caller().account.verifyEmail({ token: 'x'.repeat(43) }))).toMatchObject({ code: 'BAD_REQUEST', reason: 'EMAIL_TOKEN_INVALID' });
  });

  it('refuses a link after its 24 hours', async () => {
    const ben = await signUp(t, 'ben_email');
    await t.caller(ben.accessToken).account.setEmail({ email: 'ben@example.test' });
    const token = linkIn((await mailTo('ben@example.test'))[0]!.raw, '/verify-email');
    await t.database.db
      .updateTable('email_verification_tokens')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('token_hash', '=', hashOpaqueToken(token))
      .execute();
    expect(await rejection(t.caller().account.verifyEmail({ token }))).toMatchObject({ reason: 'EMAIL_TOKEN_INVALID' });
    expect(await t.caller(ben.accessToken).account.email()).toEqual({ email: null, verifiedAt: null, pendingEmail: 'ben@example.test' });

    // A new link works, and the old one stays dead.
    await t.caller(ben.accessToken).account.resendVerification();
    const fresh = linkIn((await mailTo('ben@example.test', 2))[1]!.raw, '/verify-email');
    expect(fresh).not.toBe(token);
    expect((await t.caller().account.verifyEmail({ token: fresh })).email).toBe('ben@example.test');
  });

  it('sends one account at most 5 confirmation links an hour, however they are asked for', async () => {
    const rae = await signUp(t, 'rae_email');
    const calls = t.caller(rae.accessToken);
    expect(await rejection(calls.account.resendVerification())).toMatchObject({ code: 'BAD_REQUEST', reason: 'EMAIL_NOT_PENDING' });
    await calls.account.setEmail({ email: 'rae@example.test' });
    for (let i = 0; i < 4; i += 1) await calls.account.resendVerification();
    expect(await rejection(calls.account.resendVerification())).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
    expect(await rejection(calls.account.setEmail({ email: 'rae.other@example.test' }))).toMatchObject({ reason: 'RATE_LIMITED' });
    expect(await calls.account.email()).toMatchObject({ pendingEmail: 'rae@example.test' });
  });

  it("is unique whatever its letter case, and giving someone else's says nothing of whose it is", async () => {
    await confirmed('cy_email', 'cy@example.test');
    const dee = await signUp(t, 'dee_email');
    // Answered as a free address is: pending. Its owner is told instead, and no link goes out.
    const taken = await rest(t.app, 'PUT', '/api/account/email', { token: dee.accessToken, body: { email: 'CY@EXAMPLE.TEST' } });
    const free = await rest(t.app, 'PUT', '/api/account/email', {
      token: (await signUp(t, 'dee_twin')).accessToken,
      body: { email: 'nobody.yet@example.test' },
    });
    expect([taken.statusCode, free.statusCode]).toEqual([200, 200]);
    expect(json(taken)).toEqual({ email: null, verifiedAt: null, pendingEmail: 'CY@EXAMPLE.TEST' });
    expect(Object.keys(json(taken))).toEqual(Object.keys(json(free)));
    await t.caller(dee.accessToken).account.resendVerification();
    const told = (await mailTo('cy@example.test', 3)).slice(-2);
    for (const mail of told) {
      expect(headerOf(mail.raw, 'Subject')).toBe('Secure Task Manager: someone gave your email address to another account');
      expect(readableText(mail.raw)).toContain('Hello cy_email');
      expect(readableText(mail.raw)).not.toContain('/verify-email');
    }
    expect(await t.database.db.selectFrom('email_verification_tokens').select('token_hash').where('user_id', '=', dee.user.id).execute()).toEqual([]);
    // The budget is spent alike: five offers an hour, whoever's the address.
    for (let i = 0; i < 3; i += 1) await t.caller(dee.accessToken).account.resendVerification();
    expect(await rejection(t.caller(dee.accessToken).account.resendVerification())).toMatchObject({ reason: 'RATE_LIMITED' });

    // Two pending on the same address: the first to confirm it wins, the other link is refused.
    const eve = await signUp(t, 'eve_email');
    const fay = await signUp(t, 'fay_email');
    await t.caller(eve.accessToken).account.setEmail({ email: 'shared@example.test' });
    await t.caller(fay.accessToken).account.setEmail({ email: 'Shared@Example.test' });
    const both = await mailTo('shared@example.test', 2);
    const eveMail = both.find((mail) => readableText(mail.raw).includes('Hello eve_email'));
    const fayMail = both.find((mail) => readableText(mail.raw).includes('Hello fay_email'));
    await t.caller().account.verifyEmail({ token: linkIn(eveMail!.raw, '/verify-email') });
    expect(await rejection(t.caller().account.verifyEmail({ token: linkIn(fayMail!.raw, '/verify-email') }))).toMatchObject({
      code: 'CONFLICT',
      reason: 'EMAIL_TAKEN',
    });
  });

  it('is changed only once the new address is confirmed, and the old one is told', async () => {
    const gus = await confirmed('gus_email', 'gus@example.test');
    const changed = await gus.calls.account.setEmail({ email: 'gus.new@example.test' });
    expect(changed).toMatchObject({ email: 'gus@example.test', pendingEmail: 'gus.new@example.test' });
    const notices = await mailTo('gus@example.test', 2);
    expect(headerOf(notices[1]!.raw, 'Subject')).toBe('Secure Task Manager: your email address is being changed');
    expect(readableText(notices[1]!.raw)).toContain('gus.new@example.test');

    // Until then reset mail still goes to the confirmed address.
    expect(await t.caller().auth.forgotPassword({ identifier: 'gus.new@example.test' })).toEqual({ ok: true });
    await t.caller().auth.forgotPassword({ identifier: 'gus_email' });
    await t.app.services.passwordResets.idle();
    expect((await mailOutbox.listMail(t.database.db, { userId: gus.user.id })).filter((m) => m.kind === 'password-reset').map((m) => m.to_address)).toEqual([
      'gus@example.test',
    ]);

    const token = linkIn((await mailTo('gus.new@example.test'))[0]!.raw, '/verify-email');
    await t.caller().account.verifyEmail({ token });
    expect(await gus.calls.account.email()).toMatchObject({ email: 'gus.new@example.test', pendingEmail: null });

    // An administrator sees whether it is confirmed.
    const admin = await signUpAdmin(t, 'email_admin');
    const adminCalls = t.caller(admin.accessToken);
    expect(await adminCalls.admin.users.get({ id: gus.user.id })).toMatchObject({ email: 'gus.new@example.test', emailVerified: true });
    const hal = await signUp(t, 'hal_email');
    await t.caller(hal.accessToken).account.setEmail({ email: 'hal@example.test' });
    expect(json(await rest(t.app, 'GET', `/api/admin/users/${hal.user.id}`, { token: admin.accessToken }))).toMatchObject({
      email: 'hal@example.test',
      emailVerified: false,
    });

    // Removing it tells the address it leaves.
    expect(await gus.calls.account.setEmail({ email: null })).toEqual({ email: null, verifiedAt: null, pendingEmail: null });
    const removed = await mailTo('gus.new@example.test', 2);
    expect(headerOf(removed[1]!.raw, 'Subject')).toBe('Secure Task Manager: your email address was removed');
  });

  it('needs a recent sign-in to change, over tRPC and REST', async () => {
    const ivy = await signUp(t, 'ivy_email');
    await makeStale(ivy.user.id);
    expect(await rejection(t.caller(ivy.accessToken).account.setEmail({ email: 'ivy@example.test' }))).toMatchObject({ reason: 'STEP_UP_REQUIRED' });
    const viaRest = await rest(t.app, 'PUT', '/api/account/email', { token: ivy.accessToken, body: { email: 'ivy@example.test' } });
    expect(viaRest.statusCode).toBe(403);
    expect(json(viaRest)).toMatchObject({ data: { reason: 'STEP_UP_REQUIRED' } });
    await t.caller(ivy.accessToken).auth.reauthenticate({ password: PASSWORD });
    expect(await t.caller(ivy.accessToken).account.setEmail({ email: 'ivy@example.test' })).toMatchObject({ pendingEmail: 'ivy@example.test' });
  });

  it('is not something an API token may change', async () => {
    const jo = await signUp(t, 'jo_email');
    const { token } = await t.caller(jo.accessToken).tokens.create({ name: 'reader', scopes: ['tasks:read'], expiresInDays: 1 });
    expect((await rest(t.app, 'GET', '/api/account/email', { token })).statusCode).toBe(200);
    const refused = await rest(t.app, 'PUT', '/api/account/email', { token, body: { email: 'jo@example.test' } });
    expect(refused.statusCode).toBe(403);
    expect(json(refused)).toMatchObject({ data: { reason: 'TOKEN_NOT_ALLOWED' } });
  });
});

describe('forgot password', () => {
  it('mails a one-hour link when asked by username or by address, any case', async () => {
    const kim = await confirmed('kim_forgot', 'kim@example.test');
    for (const identifier of ['KIM_forgot', 'Kim@Example.TEST']) {
      const answer = await rest(t.app, 'POST', '/api/auth/forgot-password', { body: { identifier } });
      expect(answer.statusCode, answer.body).toBe(200);
      expect(json(answer)).toEqual({ ok: true });
    }
    const mails = (await mailTo('kim@example.test', 3)).slice(1);
    expect(mails).toHaveLength(2);
    expect(headerOf(mails[0]!.raw, 'Subject')).toBe('Secure Task Manager: reset your password');
    const first = linkIn(mails[0]!.raw, '/reset-password');
    const second = linkIn(mails[1]!.raw, '/reset-password');
    const row = await t.database.db
      .selectFrom('password_reset_tokens')
      .select(['created_at', 'expires_at', 'created_by'])
      .where('token_hash', '=', hashOpaqueToken(second))
      .executeTakeFirstOrThrow();
    expect(Math.abs(row.expires_at.getTime() - row.created_at.getTime() - HOUR)).toBeLessThan(5_000);
    expect(row.created_by).toBeNull();
    // Only the newest link works.
    expect(await rejection(t.caller().auth.resetPassword({ token: first, newPassword: NEW_PASSWORD }))).toMatchObject({ reason: 'RESET_TOKEN_INVALID' });
    expect(await mailOutbox.listMail(t.database.db, { userId: kim.user.id })).toHaveLength(3);
  });

  it('answers the same, after the same work, for an account that does not exist', async () => {
    await confirmed('lee_forgot', 'lee@example.test');
    const unconfirmed = await signUp(t, 'mo_forgot');
    await t.caller(unconfirmed.accessToken).account.setEmail({ email: 'mo@example.test' });
    const answers = [];
    for (const identifier of ['lee_forgot', 'lee@example.test', 'nobody_here', 'nobody@example.test', 'mo_forgot', 'mo@example.test']) {
      const response = await rest(t.app, 'POST', '/api/auth/forgot-password', { body: { identifier } });
      // What differs from one request to the next whatever it asks: its time, its id, the budget left.
      const { date: _date, 'x-request-id': _id, 'x-ratelimit-remaining': _left, 'x-ratelimit-reset': _reset, ...headers } = response.headers;
      answers.push({ status: response.statusCode, body: response.body, headers });
    }
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    const overTrpc = [];
    for (const identifier of ['lee_forgot', 'nobody_at_all']) {
      const response = await trpc(t.app, 'mutation', 'auth.forgotPassword', { identifier });
      overTrpc.push({ status: response.statusCode, body: response.body });
    }
    expect(overTrpc[1]).toEqual(overTrpc[0]);

    // Only the confirmed address got mail: a pending one never does.
    await t.app.services.passwordResets.idle();
    expect((await mailOutbox.listMail(t.database.db, { kind: 'password-reset' })).map((m) => m.to_address)).not.toContain('mo@example.test');
    expect((await mailOutbox.listMail(t.database.db, { kind: 'password-reset' })).filter((m) => m.to_address === 'lee@example.test')).toHaveLength(3);
  });

  it('sets the new password with the link once, ending every session, audited', async () => {
    const nia = await confirmed('nia_forgot', 'nia@example.test');
    const other = await t.caller().auth.login({ username: 'nia_forgot', password: PASSWORD });
    await t.caller().auth.forgotPassword({ identifier: 'nia@example.test' });
    const token = linkIn((await mailTo('nia@example.test', 2))[1]!.raw, '/reset-password');

    // The password policy applies, and a refused password leaves the link usable.
    expect(await rejection(t.caller().auth.resetPassword({ token, newPassword: 'short' }))).toMatchObject({ code: 'BAD_REQUEST' });
    const reset = await rest(t.app, 'POST', '/api/auth/reset-password', { body: { token, newPassword: NEW_PASSWORD } });
    expect(reset.statusCode, reset.body).toBe(200);

    for (const tokens of [nia, { accessToken: other.access_token, refreshToken: other.refresh_token as string }]) {
      expect((await rest(t.app, 'GET', '/api/auth/me', { token: tokens.accessToken })).statusCode).toBe(401);
      expect((await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: tokens.refreshToken } })).statusCode).toBe(401);
    }
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'nia_forgot', password: NEW_PASSWORD } })).statusCode).toBe(200);
    const again = await rest(t.app, 'POST', '/api/auth/reset-password', { body: { token, newPassword: 'yet another passphrase' } });
    expect(again.statusCode).toBe(400);
    expect(json(again)).toMatchObject({ data: { reason: 'RESET_TOKEN_INVALID' } });

    const events = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('target_id', '=', String(nia.user.id))
      .where('action', 'in', ['auth.password_reset_requested', 'auth.password_reset'])
      .orderBy('id')
      .execute();
    expect(events.map((event) => event.action)).toEqual(['auth.password_reset_requested', 'auth.password_reset']);
    expect(events[1]!.details).toMatchObject({ endedSessions: 2 });
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('refuses a link after its hour', async () => {
    await confirmed('oz_forgot', 'oz@example.test');
    await t.caller().auth.forgotPassword({ identifier: 'oz_forgot' });
    const token = linkIn((await mailTo('oz@example.test', 2))[1]!.raw, '/reset-password');
    await t.database.db
      .updateTable('password_reset_tokens')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('token_hash', '=', hashOpaqueToken(token))
      .execute();
    expect(await rejection(t.caller().auth.resetPassword({ token, newPassword: NEW_PASSWORD }))).toMatchObject({ reason: 'RESET_TOKEN_INVALID' });
  });

  it('sends one account at most 3 reset mails an hour, answering every request alike', async () => {
    const pat = await confirmed('pat_forgot', 'pat@example.test');
    for (let i = 0; i < 5; i += 1) {
      expect(
        await t.caller(null, { ip: `10.9.0.${i}`, userAgent: null }).auth.forgotPassword({ identifier: i % 2 ? 'pat_forgot' : 'PAT@example.test' }),
      ).toEqual({ ok: true });
    }
    await t.app.services.passwordResets.idle();
    expect((await mailOutbox.listMail(t.database.db, { userId: pat.user.id })).filter((m) => m.kind === 'password-reset')).toHaveLength(3);
  });
});

describe('forgot password, limited per client address', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await createTestApp({ RECOVERY_RATE_LIMIT_MAX: '2', RECOVERY_RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(() => limited?.close());

  it('refuses a client past its budget, whichever account it names', async () => {
    const ask = (identifier: string, ip: string) =>
      limited.app.inject({
        method: 'POST',
        url: '/api/auth/forgot-password',
        remoteAddress: ip,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ identifier }),
      });
    expect((await ask('someone', '10.1.1.1')).statusCode).toBe(200);
    expect((await ask('someone@example.test', '10.1.1.1')).statusCode).toBe(200);
    const third = await ask('anyone_else', '10.1.1.1');
    expect(third.statusCode).toBe(429);
    expect(json(third)).toMatchObject({ data: { reason: 'RATE_LIMITED' } });
    expect(third.headers['retry-after']).toBeDefined();
    // Over tRPC as well, and another client is not held back.
    expect(
      (
        await limited.app.inject({
          method: 'POST',
          url: '/trpc/auth.forgotPassword',
          remoteAddress: '10.1.1.1',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ identifier: 'x_y_z' }),
        })
      ).statusCode,
    ).toBe(429);
    expect((await ask('someone', '10.1.1.2')).statusCode).toBe(200);
    await limited.app.services.passwordResets.idle();
  });
});

describe.runIf(testRedisUrl)('forgot password on several instances', () => {
  const prefix = uniqueRedisPrefix('recovery');
  const instances: TestApp[] = [];
  beforeAll(async () => {
    const shared = { RECOVERY_RATE_LIMIT_MAX: '3', REDIS_URL: testRedisUrl as string, REDIS_KEY_PREFIX: prefix, PUBLIC_URL };
    instances.push(await createTestApp(shared, { database: t.database }), await createTestApp(shared, { database: t.database }));
  });
  afterAll(async () => {
    for (const instance of instances) await instance.close();
    await deleteRedisKeys(prefix);
  });

  it('counts a client address across instances in Redis, and an account across them in the database', async () => {
    const [first, second] = instances as [TestApp, TestApp];
    const ask = (instance: TestApp, identifier: string, ip: string) =>
      instance.app.inject({
        method: 'POST',
        url: '/api/auth/forgot-password',
        remoteAddress: ip,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ identifier }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await ask(i % 2 ? second : first, `someone_${i}`, '10.2.2.2')).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);

    const quinn = await confirmed('quinn_forgot', 'quinn@example.test');
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => ask(i % 2 ? second : first, 'quinn_forgot', `10.3.3.${i}`)));
    await Promise.all(instances.map((instance) => instance.app.services.passwordResets.idle()));
    expect((await mailOutbox.listMail(t.database.db, { userId: quinn.user.id })).filter((m) => m.kind === 'password-reset')).toHaveLength(3);
  });
});
