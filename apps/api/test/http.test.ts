import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, signUp, signUpAdmin, stockLibraries, type TestApp, trpc } from './helpers';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Operation = {
  'x-stm-token-scope'?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  requestBody?: { content: Record<string, unknown> };
};
const METHODS = ['get', 'post', 'patch', 'put', 'delete'] as const;

async function openApi() {
  const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  return json<{
    openapi: string;
    paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
    components: { securitySchemes: unknown; schemas: Record<string, unknown> };
  }>(response);
}

describe('the OpenAPI document tells the truth', () => {
  it('declares bearer and OAuth2 password-flow security, and the error shape', async () => {
    const document = await openApi();
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer' },
      oauth2: { type: 'oauth2', flows: { password: { tokenUrl: '/api/auth/login' } } },
      apiToken: { type: 'http', scheme: 'bearer', bearerFormat: 'stm_pat_… / stm_sat_…' },
    });
    expect(document.components.schemas.Error).toBeDefined();
  });

  it('names the scope an API token needs on every operation, and says so in words', async () => {
    const document = await openApi();
    const tasksCreate = document.paths['/tasks']!.post! as Operation & { 'x-stm-token-scope': string; description: string };
    expect(tasksCreate['x-stm-token-scope']).toBe('tasks:write');
    expect(tasksCreate.description).toContain('needs the `tasks:write` scope');
    expect(tasksCreate.responses['403']).toMatchObject({ description: expect.stringContaining('TOKEN_SCOPE_MISSING') });
    const login = document.paths['/auth/login']!.post! as Operation & { 'x-stm-token-scope': string };
    expect(login['x-stm-token-scope']).toBe('none');
    expect(login.responses['403']).toMatchObject({ description: expect.stringContaining('TOKEN_NOT_ALLOWED') });
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (operation)
          expect(operation['x-stm-token-scope'], `${method} ${path}`).toMatch(/^(none|any|tasks:read|tasks:write|projects:manage|admin:read|admin:write)$/);
      }
    }
  });

  it('documents login with both the form and the JSON body', async () => {
    const login = (await openApi()).paths['/auth/login']!.post!;
    expect(Object.keys(login.requestBody!.content).sort()).toEqual(['application/json', 'application/x-www-form-urlencoded']);
  });

  it('documents the statuses every operation shares', async () => {
    const document = await openApi();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const statuses = Object.keys(operation.responses);
        expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['429', '503']));
        if (method !== 'get') expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['400', '413', '415']));
        if (operation.security?.length) expect(statuses, `${method} ${path}`).toContain('401');
      }
    }
  });

  it('documents every status the operations answer to bad credentials, bad input and refused rules', async () => {
    const document = await openApi();
    const { accessToken, refreshToken } = await signUp(t, 'doc_user');
    const admin = await signUpAdmin(t, 'doc_admin');
    const spent = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
    expect(spent.statusCode).toBe(200);
    const cookieLogin = await trpc(t.app, 'mutation', 'auth.login', { username: 'doc_user', password: PASSWORD, refresh_token_delivery: 'cookie' });
    const refreshCookie = String(cookieLogin.headers['set-cookie']).match(/stm_refresh=([^;]+)/)![1];
    const lockFailures = Array.from({ length: 6 }, () =>
      rest(t.app, 'POST', '/api/auth/login', { form: { username: 'doc_locked', password: 'wrong password' } }),
    );

    const calls: [string, string, () => Promise<{ statusCode: number }>][] = [
      ['post', '/auth/register', () => rest(t.app, 'POST', '/api/auth/register', { body: {} })],
      ['post', '/auth/register', () => rest(t.app, 'POST', '/api/auth/register', { body: { username: 'doc_other', password: PASSWORD, role: 'admin' } })],
      ['post', '/auth/register', () => rest(t.app, 'POST', '/api/auth/register', { body: { username: 'DOC_USER', password: PASSWORD } })],
      ['post', '/auth/register', () => rest(t.app, 'POST', '/api/auth/register', { body: { username: 'doc_other', password: 'password' } })],
      ['post', '/auth/login', () => rest(t.app, 'POST', '/api/auth/login', { form: { username: 'doc_user', password: 'wrong password' } })],
      ['post', '/auth/login', () => rest(t.app, 'POST', '/api/auth/login', { body: { username: 'doc_user' } })],
      ['post', '/auth/login', async () => (await Promise.all(lockFailures)).at(-1)!],
      ['post', '/auth/refresh', () => rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: 'not-a-token' } })],
      ['post', '/auth/refresh', () => rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } })],
      ['post', '/auth/refresh', () => rest(t.app, 'POST', '/api/auth/refresh', { body: {} })],
      ['post', '/auth/refresh', () => rest(t.app, 'POST', '/api/auth/refresh', { body: {}, headers: { cookie: `stm_refresh=${refreshCookie}` } })],
      ['post', '/auth/reset-password', () => rest(t.app, 'POST', '/api/auth/reset-password', { body: { token: 'nope', newPassword: PASSWORD } })],
      [
        'post',
        '/auth/change-password',
        () =>
          rest(t.app, 'POST', '/api/auth/change-password', {
            token: accessToken,
            body: { currentPassword: 'wrong password', newPassword: 'another long passphrase' },
          }),
      ],
      ['get', '/auth/admin', () => rest(t.app, 'GET', '/api/auth/admin', { token: accessToken })],
      ['get', '/auth/me', () => rest(t.app, 'GET', '/api/auth/me', { token: 'not.a.token' })],
      ['delete', '/auth/sessions/{id}', () => rest(t.app, 'DELETE', `/api/auth/sessions/${crypto.randomUUID()}`, { token: accessToken })],
      ['get', '/admin/users/{id}', () => rest(t.app, 'GET', '/api/admin/users/999999', { token: admin.accessToken })],
      ['patch', '/admin/users/{id}', () => rest(t.app, 'PATCH', `/api/admin/users/${admin.user.id}`, { token: admin.accessToken, body: { role: 'user' } })],
      ['post', '/admin/users', () => rest(t.app, 'POST', '/api/admin/users', { token: admin.accessToken, body: { username: 'doc_user', password: PASSWORD } })],
      ['get', '/tasks/{id}', () => rest(t.app, 'GET', '/api/tasks/999999', { token: accessToken })],
      ['post', '/admin/keys/{kid}/revoke', () => rest(t.app, 'POST', '/api/admin/keys/nope/revoke', { token: admin.accessToken })],
      [
        'patch',
        '/settings',
        () => rest(t.app, 'PATCH', '/api/settings', { token: admin.accessToken, body: { expectedVersion: 999_999, registrationOpen: true } }),
      ],
    ];
    const seen = new Set<number>();
    for (const [method, path, call] of calls) {
      const { statusCode } = await call();
      expect(statusCode, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(statusCode, `${method} ${path}`).toBeLessThan(500);
      seen.add(statusCode);
      const responses = document.paths[path]![method as (typeof METHODS)[number]]!.responses;
      expect(Object.keys(responses), `${method.toUpperCase()} ${path} answered ${statusCode}`).toContain(String(statusCode));
    }
    // The table reaches every kind of refusal, so a missing one in the document cannot hide.
    expect([...seen].sort()).toEqual([400, 401, 403, 404, 409, 429]);
  });

  it('names the reasons behind each documented status', async () => {
    const login = (await openApi()).paths['/auth/login']!.post!.responses as Record<string, { description: string }>;
    expect(login['401']!.description).toMatch(/INVALID_CREDENTIALS/);
    expect(login['429']!.description).toMatch(/ACCOUNT_LOCKED/);
    expect(login['503']!.description).toMatch(/SERVER_BUSY/);
    expect(login['403']!.description).toMatch(/CSRF_FAILED/);
    expect(login['404']).toBeUndefined();
    const refresh = (await openApi()).paths['/auth/refresh']!.post!.responses as Record<string, { description: string }>;
    expect(refresh['401']!.description).toMatch(/REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED/);
    expect(refresh['403']!.description).toMatch(/CSRF_FAILED/);
  });

  it('every operation documented as protected answers 401 without a token, and no public one does', async () => {
    const document = await openApi();
    let checked = 0;
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const url = `/api${path.replace(/\{[^}]+\}/g, '1')}`;
        const response = await t.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          ...(method === 'get' || method === 'delete' ? {} : { headers: { 'content-type': 'application/json' }, payload: '{}' }),
        });
        const isProtected = (operation.security?.length ?? 0) > 0;
        expect(response.statusCode, `${method.toUpperCase()} ${url}`).toBeLessThan(500);
        if (isProtected) {
          expect(response.statusCode, `${method.toUpperCase()} ${url}`).toBe(401);
          expect(response.headers['www-authenticate'], `${method.toUpperCase()} ${url}`).toBe('Bearer realm="stm"');
          // An API token too, with the one scope the operation declares, unless tokens may never call it.
          const scope = (operation as { 'x-stm-token-scope'?: string })['x-stm-token-scope'];
          expect(operation.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }, ...(scope === 'none' ? [] : [{ apiToken: scope === 'any' ? [] : [scope] }])]);
        } else {
          expect(response.statusCode, `${method.toUpperCase()} ${url}`).not.toBe(401);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('serves Swagger UI at /docs under its own content security policy', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect([200, 302]).toContain(page.statusCode);
    const html = page.statusCode === 302 ? await t.app.inject({ method: 'GET', url: page.headers.location as string }) : page;
    expect(html.body).toMatch(/swagger/i);
  });
});

describe('response headers', () => {
  it('forbid storing anything from /api and /trpc, success or error', async () => {
    const { accessToken } = await signUp(t, 'header_user');
    for (const response of [
      await rest(t.app, 'GET', '/api/auth/me', { token: accessToken }),
      await rest(t.app, 'GET', '/api/auth/me'),
      await trpc(t.app, 'query', 'auth.me', undefined, { token: accessToken }),
      await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'x', password: 'y' } }),
    ]) {
      expect(response.headers['cache-control']).toBe('no-store');
    }
  });

  it('forbid storing tRPC sign-in and refresh answers, and tokens reached through a percent-encoded path', async () => {
    await signUp(t, 'nostore_user');
    const login = await trpc(t.app, 'mutation', 'auth.login', { username: 'nostore_user', password: PASSWORD });
    expect(login.statusCode).toBe(200);
    const refresh = await trpc(t.app, 'mutation', 'auth.refresh', { refresh_token: json(login).result.data.refresh_token });
    expect(refresh.statusCode).toBe(200);
    // The router decodes the path, so `/%74rpc/` is tRPC as well: its tokens must not be stored either.
    const encoded = await t.app.inject({
      method: 'POST',
      url: '/%74rpc/auth.login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: 'nostore_user', password: PASSWORD }),
    });
    expect(encoded.statusCode).toBe(200);
    expect(json(encoded).result.data.access_token).toEqual(expect.any(String));
    const encodedRest = await t.app.inject({
      method: 'GET',
      url: '/%61pi/auth/me',
      headers: { authorization: `Bearer ${json(encoded).result.data.access_token}` },
    });
    for (const response of [login, refresh, encoded, encodedRest]) {
      expect(response.headers['cache-control'], response.raw.req.url).toBe('no-store');
      expect(response.headers.pragma).toBe('no-cache');
    }
  });

  it('answer errors on a percent-encoded tRPC path in the tRPC envelope', async () => {
    const tooLarge = await t.app.inject({
      method: 'POST',
      url: '/%74rpc/auth.login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: 'x'.repeat(1_100_000), password: 'y' }),
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(json(tooLarge)).toMatchObject({ error: { data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } } });
    expect(tooLarge.headers['cache-control']).toBe('no-store');
  });

  it('carry helmet’s protections and a CSP without inline script', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('echo a well-formed request id and replace a malformed one', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const malformed = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\u0000<script>' } });
    expect(malformed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('CORS', () => {
  it('is closed by default', async () => {
    const response = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/auth/me',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('opens to the configured origins only', async () => {
    const open = await createTestApp({ CORS_ORIGINS: 'https://console.example' });
    try {
      const allowed = await open.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://console.example' } });
      expect(allowed.headers['access-control-allow-origin']).toBe('https://console.example');
      const other = await open.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});

describe('protocol edges', () => {
  it('answers unknown routes with a JSON 404', async () => {
    for (const url of ['/api/nope', '/trpc/nope.nothing', '/nope']) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['content-type']).toMatch(url.startsWith('/api/') ? /^application\/problem\+json/ : /^application\/json/);
    }
  });

  it('caps tRPC batches', async () => {
    const paths = Array.from({ length: 21 }, () => 'auth.me').join(',');
    const response = await t.app.inject({ method: 'GET', url: `/trpc/${paths}?batch=1&input=${encodeURIComponent('{}')}` });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
  });

  // The bridge serializes the parsed body again, recursively: a few thousand levels of nesting
  // overflowed the stack and answered 500, before the caller was even authenticated.
  it('refuses a JSON body nested far too deep with 400 on REST, signed in or not', async () => {
    const { accessToken } = await signUp(t, 'deep_nester');
    for (const depth of [33, 5_000, 100_000]) {
      const payload = `{"title":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      for (const headers of [{}, { authorization: `Bearer ${accessToken}` }]) {
        const response = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: { ...headers, 'content-type': 'application/json' }, payload });
        expect(response.statusCode, `depth ${depth}`).toBe(400);
        expect(json(response)).toEqual({
          type: 'urn:stm:problem:malformed-request',
          title: 'Bad Request',
          status: 400,
          detail: 'The JSON body nests deeper than 32 levels',
          instance: '/api/tasks',
          message: 'The JSON body nests deeper than 32 levels',
          code: 'BAD_REQUEST',
          reason: 'MALFORMED_REQUEST',
          data: { code: 'BAD_REQUEST', httpStatus: 400, reason: 'MALFORMED_REQUEST' },
        });
      }
    }
    const nestedInText = await rest(t.app, 'POST', '/api/tasks', { token: accessToken, body: { title: '['.repeat(100), description: '{'.repeat(5_000) } });
    expect(nestedInText.statusCode).toBe(201);
  });

  // Fastify answered these with a body of its own ({ error, code: "FST_ERR_BAD_URL", statusCode }).
  it('answers a URL the router cannot read in the API error body', async () => {
    for (const url of ['/api/tasks/%E0%A4%A', '/api/tasks/%', '/trpc/tasks.get%E0']) {
      const response = await t.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(400);
      const body = json(response);
      const data = { code: 'BAD_REQUEST', httpStatus: 400, reason: 'MALFORMED_REQUEST' };
      if (url.startsWith('/trpc')) expect(body).toEqual({ error: { message: 'The URL is malformed', code: -32600, data } });
      else {
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(body).toEqual({
          type: 'urn:stm:problem:malformed-request',
          title: 'Bad Request',
          status: 400,
          detail: 'The URL is malformed',
          instance: url,
          message: 'The URL is malformed',
          code: 'BAD_REQUEST',
          reason: 'MALFORMED_REQUEST',
          data,
        });
      }
    }
    const longBatch = Array.from({ length: 9 }, () => 'admin.users.createResetLink').join(',');
    const tooLong = await t.app.inject({ method: 'POST', url: `/trpc/${longBatch}?batch=1` });
    expect(tooLong.statusCode).toBe(414);
    expect(json(tooLong).error).toMatchObject({ code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 414, reason: 'MALFORMED_REQUEST' } });
  });

  // A difference from the library: tRPC's own Fastify adapter builds a URL from the Host header and
  // answers 500 to every call with a malformed one; only the fast adapter (src/fastpath/) does not.
  it.skipIf(stockLibraries())('serves tRPC whatever the Host header says: it reads only the path and query', async () => {
    const { accessToken } = await signUp(t, 'host_user');
    for (const host of ['x:99999', 'a b', '[::1', '']) {
      const me = await trpc(t.app, 'query', 'auth.me', undefined, { token: accessToken, headers: { host } });
      expect(me.statusCode, `Host: ${host}`).toBe(200);
      expect(json(me).result.data.username).toBe('host_user');
      const login = await trpc(t.app, 'mutation', 'auth.login', { username: 'host_user', password: 'wrong password' }, { headers: { host } });
      expect(login.statusCode, `Host: ${host}`).toBe(401);
    }
  });

  it('serves tRPC behind a trusted proxy that forwards a malformed host or protocol', async () => {
    const proxied = await createTestApp({ TRUST_PROXY: 'true' });
    try {
      const { accessToken } = await signUp(proxied, 'proxied_user');
      const forwarded: Record<string, string>[] = [{ 'x-forwarded-host': 'x:99999' }, { 'x-forwarded-host': 'a b' }, { 'x-forwarded-proto': 'no such://' }];
      for (const headers of forwarded) {
        const me = await trpc(proxied.app, 'query', 'auth.me', undefined, { token: accessToken, headers });
        expect(me.statusCode, JSON.stringify(headers)).toBe(200);
      }
    } finally {
      await proxied.close();
    }
  });

  it('refuses an unsupported content type with 415', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'text/xml' }, payload: '<x/>' });
    expect(response.statusCode).toBe(415);
  });
});
