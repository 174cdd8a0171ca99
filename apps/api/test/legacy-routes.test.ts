/**
 * The old FastAPI service's routes at the root, for its old clients. The old Streamlit GUI is
 * replayed call by call and judged as it judges: success is status 200 and nothing else, and
 * what it shows on a failure is the body's `detail`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, signUpAdmin, type TestApp } from './helpers';

/** A strong password of today's policy; the old GUI only asked for six characters. */
const PASSWORD = 'lantern orbit velvet 42';

/** The old GUI's calls, as `streamlit_app.py` makes them with `requests`, and its verdicts. */
function oldGui(app: FastifyInstance) {
  const shown = (response: { statusCode: number; body: string }) => {
    if (response.statusCode === 200) return { ok: true as const, body: JSON.parse(response.body) };
    // `r.json().get('detail', r.text)`
    let detail: unknown;
    try {
      detail = JSON.parse(response.body).detail;
    } catch {
      detail = undefined;
    }
    return { ok: false as const, status: response.statusCode, detail };
  };
  return {
    register: async (username: string, password: string, role: 'user' | 'admin') =>
      shown(
        await app.inject({
          method: 'POST',
          url: '/auth/register',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ username, password, role }),
        }),
      ),
    login: async (username: string, password: string) =>
      shown(
        await app.inject({
          method: 'POST',
          url: '/auth/login',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ username, password }).toString(),
        }),
      ),
    me: async (token: string) => shown(await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } })),
    admin: async (token: string) => shown(await app.inject({ method: 'GET', url: '/auth/admin', headers: { authorization: `Bearer ${token}` } })),
  };
}

describe('the old GUI against the root routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await signUpAdmin(t, 'old_admin', PASSWORD);
  });
  afterAll(async () => t?.close());

  it('replays the old GUI: register as user and as admin, duplicate, login, me, admin, wrong password, bad token', async () => {
    const gui = oldGui(t.app);

    const registered = await gui.register('maria', PASSWORD, 'user');
    expect(registered).toEqual({ ok: true, body: { id: expect.any(Number), username: 'maria', role: 'user' } });

    // The old service made anyone who asked an administrator; today that is refused, in words the GUI shows.
    const asAdmin = await gui.register('mallory', PASSWORD, 'admin');
    expect(asAdmin.ok).toBe(false);
    expect(asAdmin).toMatchObject({ status: 403, detail: expect.stringContaining('administrador') });
    expect((await gui.login('mallory', PASSWORD)).ok).toBe(false);

    const duplicate = await gui.register('maria', PASSWORD, 'user');
    expect(duplicate).toMatchObject({ ok: false, status: 409, detail: 'El nombre de usuario ya existe' });

    const login = await gui.login('maria', PASSWORD);
    expect(login).toEqual({ ok: true, body: { access_token: expect.any(String), token_type: 'bearer' } });
    const token = (login as { body: { access_token: string } }).body.access_token;

    const me = await gui.me(token);
    expect(me).toEqual({ ok: true, body: { id: (registered as { body: { id: number } }).body.id, username: 'maria', role: 'user' } });

    // The GUI asks for the admin route only for an administrator; a user asking is refused as before.
    expect(await gui.admin(token)).toEqual({ ok: false, status: 403, detail: 'Solo administradores' });

    const adminLogin = await gui.login('old_admin', PASSWORD);
    expect(adminLogin.ok).toBe(true);
    const adminToken = (adminLogin as { body: { access_token: string } }).body.access_token;
    expect(await gui.me(adminToken)).toMatchObject({ ok: true, body: { username: 'old_admin', role: 'admin' } });
    expect(await gui.admin(adminToken)).toEqual({ ok: true, body: { msg: 'Bienvenido, admin old_admin' } });

    expect(await gui.login('maria', 'not the password at all')).toEqual({ ok: false, status: 401, detail: 'Credenciales inválidas' });
    expect(await gui.login('nobody_here', PASSWORD)).toEqual({ ok: false, status: 401, detail: 'Credenciales inválidas' });

    expect(await gui.me('not.a.token')).toEqual({ ok: false, status: 403, detail: 'Token inválido' });
    expect(await gui.admin(`${token}x`)).toEqual({ ok: false, status: 403, detail: 'Token inválido' });

    // A deactivated account is told so in the GUI's language too.
    await t.caller(adminToken).admin.users.update({ id: (registered as { body: { id: number } }).body.id, isActive: false });
    expect(await gui.login('maria', PASSWORD)).toEqual({
      ok: false,
      status: 403,
      detail: 'Esta cuenta está desactivada; pide a un administrador que la active',
    });
  });

  it('refuses what the old schema took but today’s rules do not, with a detail to show', async () => {
    const gui = oldGui(t.app);
    // Six characters were enough for the old service; the password policy stands.
    expect(await gui.register('pedro', 'abcdef', 'user')).toMatchObject({ ok: false, status: 400, detail: expect.stringMatching(/al menos 15 caracteres/) });
    expect(await gui.register('pedro', 'password1234567', 'user')).toMatchObject({ ok: false, status: 400, detail: expect.stringMatching(/contraseña/) });
    expect(await gui.register('pe dro', PASSWORD, 'user')).toMatchObject({ ok: false, status: 400, detail: expect.stringMatching(/nombre de usuario/) });
    expect(await gui.register('pedro', PASSWORD, 'root' as 'user')).toEqual({ ok: false, status: 400, detail: 'Rol inválido' });
    // English for a client that asks for it.
    const english = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json', 'accept-language': 'en-GB,en;q=0.8' },
      payload: JSON.stringify({ username: 'pedro', password: PASSWORD, role: 'admin' }),
    });
    expect(json(english).detail).toMatch(/cannot register as an administrator/);
  });

  it('answers a body its schemas would not read with FastAPI’s list of issues and 422', async () => {
    const missing = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":"abc"}',
    });
    expect(missing.statusCode).toBe(422);
    expect(json(missing)).toEqual({
      detail: [
        { type: 'string_too_short', loc: ['body', 'username'], msg: 'String should have at least 4 characters', ctx: { min_length: 4 } },
        { type: 'missing', loc: ['body', 'password'], msg: 'Field required' },
        { type: 'missing', loc: ['body', 'role'], msg: 'Field required' },
      ],
    });
    const notJson = await t.app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
    expect(notJson.statusCode).toBe(422);
    expect(json(notJson).detail[0]).toMatchObject({ type: 'json_invalid', loc: ['body'] });
    const noForm = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":"maria","password":"x"}',
    });
    expect(noForm.statusCode).toBe(422);
    expect(json(noForm).detail.map((issue: { loc: string[] }) => issue.loc)).toEqual([
      ['body', 'username'],
      ['body', 'password'],
    ]);
    const noToken = await t.app.inject({ method: 'GET', url: '/auth/me' });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.headers['www-authenticate']).toBe('Bearer');
    expect(json(noToken)).toEqual({ detail: 'Not authenticated' });
  });
});

describe('today’s protections on the root routes', () => {
  it('a client past the sign-in budget gets 429 with Retry-After and a detail', async () => {
    const t = await createTestApp({ AUTH_RATE_LIMIT_MAX: '2' });
    try {
      const gui = oldGui(t.app);
      expect((await gui.register('first_one', PASSWORD, 'user')).ok).toBe(true);
      expect((await gui.login('first_one', PASSWORD)).ok).toBe(true);
      const response = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `username=first_one&password=${encodeURIComponent(PASSWORD)}`,
      });
      expect(response.statusCode).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(json(response).detail).toMatch(/Demasiadas peticiones/);
    } finally {
      await t.close();
    }
  });

  it('wrong passwords lock the client out, as under /api', async () => {
    const t = await createTestApp();
    try {
      const gui = oldGui(t.app);
      expect((await gui.register('locked_out', PASSWORD, 'user')).ok).toBe(true);
      for (let attempt = 0; attempt < 5; attempt++) expect(await gui.login('locked_out', 'a wrong password here')).toMatchObject({ ok: false, status: 401 });
      const locked = await gui.login('locked_out', PASSWORD);
      expect(locked).toMatchObject({ ok: false, status: 429, detail: expect.stringMatching(/intentos fallidos/) });
    } finally {
      await t.close();
    }
  });

  it('the global per-address budget counts the root routes', async () => {
    const t = await createTestApp({ RATE_LIMIT_MAX: '2' });
    try {
      const statuses = [];
      for (let call = 0; call < 3; call++) statuses.push((await t.app.inject({ method: 'GET', url: '/auth/me' })).statusCode);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await t.close();
    }
  });
});

describe('switching them off, and the console beside them', () => {
  let consoleDir: string;
  beforeAll(() => {
    consoleDir = mkdtempSync(path.join(tmpdir(), 'stm-console-'));
    writeFileSync(path.join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
  });
  afterAll(() => rmSync(consoleDir, { recursive: true, force: true }));

  it('the GET routes answer JSON, never the console’s page', async () => {
    const t = await createTestApp({ CONSOLE_DIR: consoleDir });
    try {
      const me = await t.app.inject({ method: 'GET', url: '/auth/me' });
      expect(me.statusCode).toBe(401);
      expect(me.headers['content-type']).toMatch(/^application\/json/);
      const other = await t.app.inject({ method: 'GET', url: '/auth/unknown' });
      expect(other.statusCode).toBe(404);
      expect(other.headers['content-type']).toMatch(/^application\/json/);
      // The console's own client-side routes still get the app.
      expect((await t.app.inject({ method: 'GET', url: '/sign-in' })).headers['content-type']).toMatch(/^text\/html/);
    } finally {
      await t.close();
    }
  });

  it('LEGACY_ROUTES=false turns them off, and /auth is still no console page', async () => {
    const t = await createTestApp({ LEGACY_ROUTES: 'false', CONSOLE_DIR: consoleDir });
    try {
      for (const [method, url] of [
        ['POST', '/auth/register'],
        ['POST', '/auth/login'],
        ['GET', '/auth/me'],
        ['GET', '/auth/admin'],
      ] as const) {
        const response = await t.app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: method === 'POST' ? '{}' : undefined });
        expect(response.statusCode, `${method} ${url}`).toBe(404);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
      }
    } finally {
      await t.close();
    }
  });
});
