import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildStm, freePort, PASSWORD, STM_BIN, startApi, type StmUser, stmUser, type TestApi } from './harness';

// A process per command: generous, for a machine that is busy with other work.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let stm: string;
const users: StmUser[] = [];

async function newUser(entry = stm): Promise<StmUser> {
  const user = await stmUser(api, entry);
  users.push(user);
  return user;
}

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('alice');
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await Promise.all(users.map((user) => user.dispose()));
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** What the API says of an access token: the signed-in username, or its refusal. */
async function meWith(accessToken: string) {
  const response = await api.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.statusCode, body: response.json() };
}

describe('stm login', () => {
  it('signs in with the password from standard input and keeps the session readable by its owner only', async () => {
    const user = await newUser();
    // A folder that already exists with loose permissions, and a umask that would allow anything.
    await mkdir(user.configDir, { recursive: true });
    await chmod(user.configDir, 0o755);

    const login = await user.run(['login', 'alice'], { stdin: `${PASSWORD}\n`, umask: '000' });
    expect(login).toMatchObject({ code: 0, stderr: '' });
    expect(login.stdout).toBe(`Signed in as alice (user, id 1) at ${api.url}\n`);

    expect((await stat(user.sessionFile)).mode & 0o777).toBe(0o600);
    expect((await stat(user.configDir)).mode & 0o777).toBe(0o700);
    const saved = await user.session();
    expect(saved).toMatchObject({ apiUrl: api.url, username: 'alice' });
    expect((await meWith(saved.accessToken)).body.username).toBe('alice');
    // Written atomically: nothing but the session is left beside it.
    expect(await readdirNames(user.configDir)).toEqual(['session.json']);

    const whoami = await user.run(['whoami']);
    expect(whoami).toMatchObject({ code: 0, stdout: `alice (user, id 1) at ${api.url}\n` });
    const whoamiJson = await user.run(['whoami', '--json']);
    expect(whoamiJson.code).toBe(0);
    expect(JSON.parse(whoamiJson.stdout)).toMatchObject({ id: 1, username: 'alice', role: 'user', isActive: true });
    const usage = await user.run(['usage']);
    expect(usage).toMatchObject({ code: 0, stdout: 'tasks    0 of 50000\nprojects 0 of 500\ncomments 0 of 50000\n' });
  });

  it('refuses a wrong password with the reason and exit status 1, and saves nothing', async () => {
    const user = await newUser();
    const wrong = await user.run(['login', 'alice'], { stdin: 'not the password\n' });
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect(wrong.stderr).toBe('stm: Incorrect username or password [INVALID_CREDENTIALS]\n');

    const wrongJson = await user.run(['login', 'alice', '--json'], { stdin: 'not the password\n' });
    expect(wrongJson.code).toBe(1);
    expect(JSON.parse(wrongJson.stderr)).toEqual({
      error: { message: 'Incorrect username or password', reason: 'INVALID_CREDENTIALS', httpStatus: 401 },
    });
    await expect(stat(user.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });

    const whoami = await user.run(['whoami']);
    expect(whoami).toMatchObject({ code: 3, stderr: 'stm: Not signed in: run `stm login` first\n' });
  });

  it('takes the password only from standard input (or a terminal), never from the command line', async () => {
    const user = await newUser();
    const asOption = await user.run(['login', 'alice', '--password', PASSWORD]);
    expect(asOption.code).toBe(2);
    expect(asOption.stderr).toContain("Unknown option '--password'");
    const asArgument = await user.run(['login', 'alice', PASSWORD]);
    expect(asArgument).toMatchObject({ code: 2, stderr: 'stm: Usage: stm login [username]\n' });
    const noInput = await user.run(['login', 'alice']);
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toContain('Expected the password on standard input');
    await expect(stat(user.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says which URL it could not reach when nothing listens there', async () => {
    const user = await newUser();
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await user.run(['login', 'alice', '--api', url], { stdin: `${PASSWORD}\n` });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`Cannot reach the API at ${url}: connection refused (ECONNREFUSED)`);
  });

  it('runs the same from the TypeScript source through bin/stm.js', async () => {
    const user = await newUser(STM_BIN);
    expect(await user.login('alice')).toMatchObject({ code: 0, stdout: `Signed in as alice (user, id 1) at ${api.url}\n` });
    expect(await user.run(['whoami'])).toMatchObject({ code: 0, stdout: `alice (user, id 1) at ${api.url}\n` });
  });
});

describe('the saved session', () => {
  it('renews an access token the API finds expired, without the user noticing, and saves the rotated pair', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const before = await user.session();

    // The API's clock (this process) moves past the access token's lifetime; the client's does not.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 20 * 60 * 1000);
    expect(await meWith(before.accessToken)).toMatchObject({ status: 401, body: { data: { reason: 'INVALID_TOKEN', details: { problem: 'expired' } } } });

    const whoami = await user.run(['whoami']);
    expect(whoami).toMatchObject({ code: 0, stdout: `alice (user, id 1) at ${api.url}\n`, stderr: '' });
    const after = await user.session();
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect((await meWith(after.accessToken)).status).toBe(200);
    expect((await stat(user.sessionFile)).mode & 0o777).toBe(0o600);
  });

  it('renews ahead of time when its own clock says the access token is about to expire', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const before = await user.session();
    await writeFile(user.sessionFile, JSON.stringify({ ...before, accessTokenExpiresAt: new Date(Date.now() - 1000).toISOString() }));

    expect((await user.run(['whoami'])).code).toBe(0);
    const after = await user.session();
    // The old token still worked at the API, so only a renewal before the call explains a new pair.
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(Date.parse(after.accessTokenExpiresAt)).toBeGreaterThan(Date.now());
  });

  it('lets commands running at once share one renewal instead of spending the refresh token twice', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const before = await user.session();
    await writeFile(user.sessionFile, JSON.stringify({ ...before, accessTokenExpiresAt: new Date(Date.now() - 1000).toISOString() }));

    // A spent refresh token presented again ends the session: without the lock some would fail.
    const results = await Promise.all([1, 2, 3, 4].map(() => user.run(['whoami'])));
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    const after = await user.session();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect((await meWith(after.accessToken)).status).toBe(200);
    expect(await readdirNames(user.configDir)).toEqual(['session.json']);
  });

  it('asks to sign in again when the session was ended elsewhere, and forgets it', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const saved = await user.session();
    await api.caller(saved.accessToken).auth.logout();

    const whoami = await user.run(['whoami']);
    expect(whoami).toMatchObject({ code: 3, stdout: '' });
    expect(whoami.stderr).toBe('stm: Your session has ended (REFRESH_TOKEN_INVALID): run `stm login` to sign in again\n');
    await expect(stat(user.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lasts past the idle timeout with stm login --remember, and ends at it without', async () => {
    const kept = await newUser();
    const plain = await newUser();
    expect((await kept.run(['login', 'alice', '--remember'], { stdin: `${PASSWORD}\n` })).code).toBe(0);
    expect((await plain.login('alice')).code).toBe(0);
    // 31 minutes without use, as the database sees it.
    for (const user of [kept, plain]) {
      const sessionId = JSON.parse(Buffer.from((await user.session()).accessToken.split('.')[1]!, 'base64url').toString()).sid;
      await api.app.services.database.db
        .updateTable('sessions')
        .set({ last_used_at: new Date(Date.now() - 31 * 60 * 1000) })
        .where('id', '=', sessionId)
        .execute();
    }

    expect(await kept.run(['whoami'])).toMatchObject({ code: 0, stdout: `alice (user, id 1) at ${api.url}\n` });
    const ended = await plain.run(['whoami']);
    expect(ended).toMatchObject({ code: 3, stdout: '' });
    expect(ended.stderr).toBe('stm: Your session has ended (REFRESH_TOKEN_INVALID): run `stm login` to sign in again\n');
  });

  it('stm logout ends the session at the API and deletes the file', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const saved = await user.session();

    const logout = await user.run(['logout']);
    expect(logout).toMatchObject({ code: 0, stdout: `Signed out of ${api.url}\n` });
    await expect(stat(user.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await meWith(saved.accessToken)).toMatchObject({ status: 401, body: { data: { reason: 'INVALID_TOKEN' } } });
    await expect(api.caller().auth.refresh({ refresh_token: saved.refreshToken })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    expect(await user.run(['logout'])).toMatchObject({ code: 0, stdout: 'Not signed in; nothing to do\n' });
    expect((await user.run(['whoami'])).code).toBe(3);
  });

  it('logout --others ends every other session of the account and keeps this one', async () => {
    await api.register('olivia');
    const laptop = await newUser();
    const phone = await newUser();
    expect((await laptop.login('olivia')).code).toBe(0);
    expect((await phone.login('olivia')).code).toBe(0);
    const kept = await laptop.session();
    const ended = await phone.session();
    const result = await laptop.run(['logout', '--others']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Ended \d+ other sessions?; this one stays signed in\n$/) });
    expect((await meWith(ended.accessToken)).status).toBe(401);
    expect((await meWith(kept.accessToken)).status).toBe(200);
    expect((await laptop.run(['whoami'])).code).toBe(0);
    expect((await phone.run(['whoami'])).code).toBe(3);
    await laptop.run(['logout']);
    expect(await laptop.run(['logout', '--others'])).toMatchObject({ code: 3, stderr: expect.stringContaining('Not signed in') });
  });

  it('signing in again ends the session it replaces', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const first = await user.session();
    expect((await user.login('alice')).code).toBe(0);
    const second = await user.session();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await meWith(first.accessToken)).status).toBe(401);
    expect((await meWith(second.accessToken)).status).toBe(200);
  });

  it('refuses to use a session with an API other than the one it belongs to', async () => {
    const user = await newUser();
    expect((await user.login('alice')).code).toBe(0);
    const elsewhere = `http://127.0.0.1:${await freePort()}`;
    const result = await user.run(['whoami', '--api', elsewhere]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`stm: You are signed in at ${api.url}, not at ${elsewhere}: run \`stm login --api ${elsewhere}\`\n`);
    // Without --api or STM_API_URL it goes where the session belongs.
    expect(await user.run(['whoami'], { apiUrl: null })).toMatchObject({ code: 0, stdout: `alice (user, id 1) at ${api.url}\n` });
  });
});

async function readdirNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
