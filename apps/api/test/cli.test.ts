import { totpCodeAt } from '@stm/auth';
import type { DatabaseHandle } from '@stm/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, PASSWORD, rest, startTestApp } from './helpers';
import { type Place, pglitePlace, postgresPlace } from './places';
import { runCli } from './processes';

const driver = process.env.STM_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
const NEW_PASSWORD = 'set by the operator';

/**
 * Where the CLI works: a brand-new, unmigrated database of the project's driver (for the embedded
 * one, a DATA_DIR only one process may open at a time).
 */
let place: Place;

/** The API on the CLI's database, for checking results through the public surface; closed after. */
async function withApp<T>(work: (app: FastifyInstance, database: DatabaseHandle) => Promise<T>): Promise<T> {
  const t = await startTestApp(await place.open());
  try {
    return await work(t.app, t.database);
  } finally {
    await t.close();
  }
}

const cli = (args: string[], stdin?: string) => runCli(args, { env: place.env, ...(stdin === undefined ? {} : { stdin }) });

describe(`the operator CLI on ${driver}`, { timeout: 120_000 }, () => {
  beforeAll(async () => {
    place = driver === 'postgres' ? await postgresPlace() : await pglitePlace();
  }, 60_000);
  afterAll(async () => {
    await place?.dispose();
  });

  it('db:migrate brings a new database up to date, and then has nothing to do', async () => {
    const first = await cli(['db:migrate']);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/^Plan: \d+ migration\(s\) to apply/);
    expect(first.stdout).toMatch(/\nApplied: 2026_11_25_0001_accounts, 2026_11_25_0002_settings_and_audit/);
    const second = await cli(['db:migrate']);
    expect(second.stdout.trim()).toMatch(/^The schema is up to date \(\d+ migrations\)$/);
  });

  it('user:create --role admin reads the password from standard input; the admin can sign in', async () => {
    const result = await cli(['user:create', 'cli_admin', '--role', 'admin'], `${PASSWORD}\n`);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^Created admin "cli_admin" \(id \d+\)/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    await withApp(async (app, database) => {
      const login = await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_admin', password: PASSWORD } });
      expect(login.statusCode).toBe(200);
      const me = await rest(app, 'GET', '/api/auth/me', { token: json(login).access_token });
      expect(json(me)).toMatchObject({ username: 'cli_admin', role: 'admin' });
      const event = await database.db.selectFrom('audit_events').selectAll().where('action', '=', 'user.created').executeTakeFirstOrThrow();
      expect(event).toMatchObject({ actor_id: null, actor_username: 'cli', target_label: 'cli_admin', details: { role: 'admin' } });
    });
  });

  it('user:create makes a plain user by default', async () => {
    const result = await cli(['user:create', 'cli_user'], `${PASSWORD}\n`);
    expect(result.stdout).toMatch(/^Created user "cli_user"/);
  });

  it.each([
    [['user:create', 'CLI_ADMIN'], PASSWORD, 1, /already taken/],
    [['user:create', 'weak_one'], 'short', 1, /at least 15 characters/],
    [['user:create', 'no_password'], '', 1, /standard input/],
    [['user:create', 'bad name!'], PASSWORD, 1, /Username may contain only/],
    [['user:create', 'rooted', '--role', 'root'], PASSWORD, 2, /--role must be "admin" or "user"/],
    [['user:create', 'pw_in_argv', '--password', PASSWORD], PASSWORD, 2, /Usage: pnpm ops user:create/],
    [['user:create'], PASSWORD, 2, /Usage: pnpm ops user:create/],
    [['user:reset-password', 'nobody_at_all'], NEW_PASSWORD, 1, /No user is named "nobody_at_all"/],
    [['user:reset-factors', 'nobody_at_all'], '', 1, /No user is named "nobody_at_all"/],
    [['keys:revoke', 'no-such-kid'], '', 1, /No usable signing key/],
    [['frobnicate'], '', 2, /Unknown command "frobnicate"/],
    [[], '', 2, /No command given/],
  ])('%j fails with a clear message and exit code', async (args, stdin, code, message) => {
    const result = await cli(args, stdin ? `${stdin}\n` : '');
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  // Failing right after start once aborted natively (`terminate called after throwing an instance
  // of 'Napi::Error'`, no exit code): the hashing threads were stopped while loading bcrypt. Each
  // exit path that starts them, repeated.
  it('exits with its code every time when it fails right after starting, never aborting', async () => {
    const exits = [
      { args: ['user:create', 'CLI_ADMIN'], stdin: `${PASSWORD}\n`, code: 1 },
      { args: ['user:reset-password', 'nobody_at_all'], stdin: `${NEW_PASSWORD}\n`, code: 1 },
      { args: ['keys:revoke', 'no-such-kid'], stdin: '', code: 1 },
    ];
    for (let round = 0; round < 2; round++) {
      for (const exit of exits) {
        const result = await cli(exit.args, exit.stdin);
        expect(result.stderr).not.toMatch(/terminate called|Napi::Error/);
        expect(result.code, result.stderr).toBe(exit.code);
      }
    }
  });

  it('user:reset-factors removes the second factors of a user who lost them, and ends their sessions', async () => {
    await withApp(async (app) => {
      const login = json(await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_user', password: PASSWORD } }));
      const begun = json(await rest(app, 'POST', '/api/auth/mfa/totp', { token: login.access_token, body: {} }));
      const confirmed = await rest(app, 'POST', '/api/auth/mfa/totp/confirm', {
        token: login.access_token,
        body: { code: totpCodeAt(begun.secret, Date.now()) },
      });
      expect(confirmed.statusCode).toBe(200);
      expect(json(await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_user', password: PASSWORD } })).reason).toBe('MFA_REQUIRED');
    });
    const result = await cli(['user:reset-factors', 'cli_user']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout.trim()).toBe('Second factors of "cli_user" removed; 1 session(s) ended');
    await withApp(async (app) => {
      const again = await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_user', password: PASSWORD } });
      expect(again.statusCode).toBe(200);
      // No session left behind for the tests after this one to count.
      await rest(app, 'POST', '/api/auth/logout', { token: json(again).access_token });
    });
  });

  it('user:reset-password sets the password and ends every session of the user', async () => {
    const refreshToken = await withApp(async (app) => {
      const login = await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_user', password: PASSWORD } });
      return json(login).refresh_token as string;
    });
    const result = await cli(['user:reset-password', 'CLI_USER'], `${NEW_PASSWORD}\n`);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout.trim()).toBe('Password of "cli_user" changed; 1 session(s) ended');
    await withApp(async (app, database) => {
      expect((await rest(app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } })).statusCode).toBe(401);
      expect((await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_user', password: PASSWORD } })).statusCode).toBe(401);
      expect((await rest(app, 'POST', '/api/auth/login', { body: { username: 'cli_user', password: NEW_PASSWORD } })).statusCode).toBe(200);
      const event = await database.db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.password_reset').executeTakeFirstOrThrow();
      expect(event).toMatchObject({ actor_id: null, actor_username: 'cli', target_label: 'cli_user', details: { via: 'operator', endedSessions: 1 } });
      expect(JSON.stringify(event)).not.toContain(NEW_PASSWORD);
    });
  });

  it('keys:rotate, keys:list and keys:revoke manage the signing keys', async () => {
    const rotated = await cli(['keys:rotate']);
    expect(rotated, rotated.stderr).toMatchObject({ code: 0 });
    const [, kid, previous] = /^New signing key (\S+) \(retired (\S+)\)/.exec(rotated.stdout) ?? [];
    expect(kid).toBeDefined();
    const listed = await cli(['keys:list']);
    expect(listed.stdout).toMatch(new RegExp(`^${kid}\\tcurrent\\t`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${previous}\\tretired\\t`, 'm'));

    const revoked = await cli(['keys:revoke', previous as string]);
    expect(revoked.stdout.trim()).toBe(`Revoked ${previous}`);
    const after = await cli(['keys:list']);
    expect(after.stdout).toMatch(new RegExp(`^${previous}\\trevoked\\t`, 'm'));
    await withApp(async (_app, database) => {
      const events = await database.db
        .selectFrom('audit_events')
        .select(['action', 'actor_username', 'target_id'])
        .where('action', 'in', ['key.rotated', 'key.revoked'])
        .orderBy('id')
        .execute();
      expect(events).toEqual([
        { action: 'key.rotated', actor_username: 'cli', target_id: kid },
        { action: 'key.revoked', actor_username: 'cli', target_id: previous },
      ]);
    });
  });

  it('help lists every command', async () => {
    const result = await cli(['help']);
    expect(result.code).toBe(0);
    for (const command of [
      'db:migrate',
      'user:create',
      'user:reset-password',
      'user:reset-factors',
      'keys:list',
      'keys:rotate',
      'keys:revoke',
      'import:legacy',
    ]) {
      expect(result.stdout).toContain(command);
    }
  });

  it.runIf(driver === 'pglite')('refuses arguments wrong in themselves before opening the database, even one a server holds', async () => {
    const holder = await place.open();
    try {
      const rooted = await cli(['user:create', 'rooted', '--role', 'root'], `${PASSWORD}\n`);
      expect(rooted.code, rooted.stderr).toBe(2);
      expect(rooted.stderr).toMatch(/--role must be "admin" or "user"/);
      const badName = await cli(['user:create', 'bad name!'], `${PASSWORD}\n`);
      expect(badName.code, badName.stderr).toBe(1);
      expect(badName.stderr).toMatch(/Username may contain only/);
      const format = await cli(['db:backup', 'x.backup', '--format', 'sql']);
      expect(format.code, format.stderr).toBe(2);
      expect(format.stderr).toMatch(/--format must be one of/);
    } finally {
      await holder.close();
    }
  });

  it.runIf(driver === 'pglite')('says clearly that the embedded database is in use while a server holds it', async () => {
    const holder = await place.open();
    try {
      const result = await cli(['keys:list']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`is in use by process ${process.pid}`);
      expect(result.stderr).toContain('DATABASE_URL');
    } finally {
      await holder.close();
    }
  });
});
