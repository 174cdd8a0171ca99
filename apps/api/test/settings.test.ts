import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { createTestApp, json, PASSWORD, rest, signUp, signUpAdmin, type TestApp, testConfig, trpc } from './helpers';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUpAdmin>>;
beforeAll(async () => {
  t = await createTestApp({ SETTINGS_REFRESH_MS: '100' });
  admin = await signUpAdmin(t, 'settings_admin');
});
afterAll(() => t.close());

function patch(body: unknown) {
  return rest(t.app, 'PATCH', '/api/settings', { token: admin.accessToken, body });
}

async function update(body: Record<string, unknown>) {
  const response = await patch(body);
  expect(response.statusCode, response.body).toBe(200);
  return json<{ value: Record<string, unknown>; version: number; updatedAt: string }>(response);
}

describe('reading settings', () => {
  it('shows anyone what sign-up and token forms need, and nothing else', async () => {
    const response = await rest(t.app, 'GET', '/api/settings/public');
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ registrationOpen: true, passwordMinLength: 15, apiTokenMaxLifetimeDays: 90 });
    const viaTrpc = await trpc(t.app, 'query', 'settings.public');
    expect(json(viaTrpc).result.data).toEqual({ registrationOpen: true, passwordMinLength: 15, apiTokenMaxLifetimeDays: 90 });
  });

  it('shows an admin every setting with its version', async () => {
    const response = await rest(t.app, 'GET', '/api/settings', { token: admin.accessToken });
    expect(json(response)).toMatchObject({
      value: {
        registrationOpen: true,
        accessTokenTtlSeconds: 900,
        refreshTokenTtlSeconds: 30 * 86_400,
        lockoutThreshold: 5,
        lockoutWindowSeconds: 900,
        passwordMinLength: 15,
        passwordRefuseCommon: true,
      },
      version: expect.any(Number),
      updatedAt: expect.stringMatching(/Z$/),
    });
  });
});

describe('changing settings', () => {
  it('bumps the version and audits before and after, by whom and from where', async () => {
    const before = json<{ version: number }>(await rest(t.app, 'GET', '/api/settings', { token: admin.accessToken }));
    const after = await update({ accessTokenTtlSeconds: 600, lockoutWindowSeconds: 1200 });
    expect(after.version).toBe(before.version + 1);
    expect(after.value).toMatchObject({ accessTokenTtlSeconds: 600, lockoutWindowSeconds: 1200 });
    const event = await t.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'settings.updated')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({
      actor_id: admin.user.id,
      actor_username: 'settings_admin',
      ip: '127.0.0.1',
      user_agent: 'lightMyRequest',
      details: {
        changed: ['accessTokenTtlSeconds', 'lockoutWindowSeconds'],
        before: { accessTokenTtlSeconds: 900, lockoutWindowSeconds: 900 },
        after: { accessTokenTtlSeconds: 600, lockoutWindowSeconds: 1200 },
      },
    });
    await update({ accessTokenTtlSeconds: 900, lockoutWindowSeconds: 900 });
  });

  it('changes only the settings it names, leaving the others as they are', async () => {
    await update({ passwordMinLength: 12, lockoutThreshold: 7 });
    const after = await update({ registrationOpen: false });
    expect(after.value).toMatchObject({ registrationOpen: false, passwordMinLength: 12, lockoutThreshold: 7 });
    const viaTrpc = await t.caller(admin.accessToken).settings.update({ registrationOpen: true });
    expect(viaTrpc.value).toMatchObject({ registrationOpen: true, passwordMinLength: 12, lockoutThreshold: 7 });
    await update({ passwordMinLength: 15, lockoutThreshold: 5 });
  });

  it('refuses a stale expectedVersion with 409 and the current version', async () => {
    const { version } = json<{ version: number }>(await rest(t.app, 'GET', '/api/settings', { token: admin.accessToken }));
    await update({ expectedVersion: version, passwordMinLength: 9 });
    const stale = await patch({ expectedVersion: version, passwordMinLength: 10 });
    expect(stale.statusCode).toBe(409);
    expect(json(stale)).toMatchObject({ code: 'CONFLICT', data: { reason: 'VERSION_CONFLICT', details: { currentVersion: version + 1 } } });
    expect(t.app.services.settings.current.passwordMinLength).toBe(9);
    await update({ passwordMinLength: 15 });
  });

  it.each([
    [{ accessTokenTtlSeconds: 10 }, 'accessTokenTtlSeconds'],
    [{ accessTokenTtlSeconds: 'soon' }, 'accessTokenTtlSeconds'],
    [{ lockoutThreshold: 0 }, 'lockoutThreshold'],
    [{ lockoutThreshold: 2.5 }, 'lockoutThreshold'],
    [{ passwordMinLength: 4 }, 'passwordMinLength'],
    [{ registrationOpen: 'false' }, 'registrationOpen'],
    [{ registrationOpen: 0 }, 'registrationOpen'],
    [{ passwordRefuseCommon: 'no' }, 'passwordRefuseCommon'],
    [{ somethingElse: true }, 'somethingElse'],
  ])('refuses %j with 400 naming the field, and changes nothing', async (body, field) => {
    const before = t.app.services.settings.snapshot.version;
    const response = await patch(body);
    expect(response.statusCode).toBe(400);
    expect(json(response).data.fieldErrors[field]).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(t.app.services.settings.snapshot.version).toBe(before);
  });
});

describe('a change is in force at once, without a restart', () => {
  it('closing registration refuses the next sign-up; reopening accepts it', async () => {
    await update({ registrationOpen: false });
    expect(json(await rest(t.app, 'GET', '/api/settings/public')).registrationOpen).toBe(false);
    const closed = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'too_early', password: PASSWORD } });
    expect(closed.statusCode).toBe(403);
    expect(json(closed).data.reason).toBe('REGISTRATION_CLOSED');
    await update({ registrationOpen: true });
    expect((await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'too_early', password: PASSWORD } })).statusCode).toBe(201);
  });

  it('a new access-token lifetime applies to the next sign-in', async () => {
    await update({ accessTokenTtlSeconds: 120 });
    const login = await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'settings_admin', password: PASSWORD } });
    expect(json(login).expires_in).toBe(120);
    const [, payload] = (json(login).access_token as string).split('.');
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(120);
    await update({ accessTokenTtlSeconds: 900 });
  });

  it('a longer minimum password length applies to the next registration', async () => {
    await update({ passwordMinLength: 30 });
    const refused = await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'short_pw', password: PASSWORD } });
    expect(refused.statusCode).toBe(400);
    expect(json(refused).data).toMatchObject({ reason: 'PASSWORD_TOO_SHORT', details: { minLength: 30 } });
    expect(json(await rest(t.app, 'GET', '/api/settings/public')).passwordMinLength).toBe(30);
    await update({ passwordMinLength: 15 });
    expect((await rest(t.app, 'POST', '/api/auth/register', { body: { username: 'short_pw', password: PASSWORD } })).statusCode).toBe(201);
  });

  it('a lower failed-login threshold locks sooner', async () => {
    await signUp(t, 'thresholded');
    await update({ lockoutThreshold: 2 });
    for (let i = 0; i < 2; i++) {
      expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'thresholded', password: 'wrong password' } })).statusCode).toBe(401);
    }
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'thresholded', password: PASSWORD } })).statusCode).toBe(429);
    await update({ lockoutThreshold: 5 });
  });

  it('another instance on the same database applies the change within its poll interval', async () => {
    const second: FastifyInstance = await buildApp({
      config: testConfig({ SETTINGS_REFRESH_MS: '100' }),
      database: t.database,
    });
    try {
      await second.ready();
      expect(json(await rest(second, 'GET', '/api/settings/public')).registrationOpen).toBe(true);
      await update({ registrationOpen: false });
      const deadline = Date.now() + 5_000;
      let seen: boolean | undefined;
      while (Date.now() < deadline) {
        seen = json(await rest(second, 'GET', '/api/settings/public')).registrationOpen;
        if (seen === false) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(seen).toBe(false);
      const refused = await rest(second, 'POST', '/api/auth/register', { body: { username: 'via_second', password: PASSWORD } });
      expect(refused.statusCode).toBe(403);
    } finally {
      await update({ registrationOpen: true });
      await second.close();
    }
  });
});
