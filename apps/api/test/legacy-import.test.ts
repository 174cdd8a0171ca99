/**
 * `pnpm ops import:legacy`: the old FastAPI service's accounts, read from a PostgreSQL database
 * made with its schema (SQLAlchemy's `users` table) and passlib-style bcrypt hashes (`$2b$12$`,
 * made here by the `bcrypt` package). The old database is always PostgreSQL, as the old service's
 * was, so this file needs TEST_DATABASE_URL even in the PGlite project, where the accounts are
 * imported into the embedded database; without it the file is skipped, saying so.
 */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { createDb, sql } from '@stm/db';
import { withDatabase } from '@stm/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, PASSWORD, rest, signUp, startTestApp, type TestApp } from './helpers';
import { type Place, pglitePlace, postgresPlace } from './places';
import { runCli } from './processes';

const driver = process.env.STM_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
const adminUrl = process.env.TEST_DATABASE_URL;

/** The old service's accounts: [username, password, role, is_active, hash prefix]. */
const OLD_ACCOUNTS: [string, string, string, boolean, string?][] = [
  ['maria', 'maria1', 'user', true], // six characters: all the old service asked for
  ['boss', 'boss-password', 'admin', true], // registered as admin, as anyone could
  ['root_admin', 'root-password', 'admin', true],
  ['josé', 'jose-password', 'user', true],
  ['ana lópez', 'ana-password', 'user', true],
  ['Maria', 'other-maria', 'user', true], // the old names were case-sensitive
  ['taken', 'taken-password', 'user', true], // an account of that name exists here already
  ['al', 'al-password', 'user', true], // shorter than any rule ever allowed, in the table all the same
  ['gone', 'gone-password', 'user', false],
  ['php_user', 'php-password', 'user', true, '$2y$'],
];

async function createOldDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `stm_test_${process.pid}_legacy_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const server = await createDb({ databaseUrl: adminUrl, pool: { max: 1, statementTimeoutMillis: 120_000 } });
    try {
      await sql.raw(statement).execute(server.db);
    } finally {
      await server.close();
    }
  };
  await admin(`create database ${name}`);
  const url = withDatabase(adminUrl as string, name);
  const old = await createDb({ databaseUrl: url, pool: { max: 1 } });
  try {
    // What SQLAlchemy's `Base.metadata.create_all` made of the old model.
    await sql`create table users (
      id serial not null, username varchar, hashed_password varchar, role varchar, is_active boolean,
      primary key (id), unique (username))`.execute(old.db);
    for (const [username, password, role, isActive, prefix] of OLD_ACCOUNTS) {
      const hash = bcrypt.hashSync(password, 12);
      expect(hash.startsWith('$2b$12$')).toBe(true);
      const stored = prefix ? hash.replace('$2b$', prefix) : hash;
      await sql`insert into users (username, hashed_password, role, is_active) values (${username}, ${stored}, ${role}, ${isActive})`.execute(old.db);
    }
    await sql`insert into users (username, hashed_password, role, is_active) values ('plain_text', 'not a hash', 'user', true)`.execute(old.db);
  } finally {
    await old.close();
  }
  return { url, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

describe.skipIf(!adminUrl)(`import:legacy into ${driver} (needs TEST_DATABASE_URL for the old PostgreSQL database)`, { timeout: 180_000 }, () => {
  let place: Place;
  let old: { url: string; drop(): Promise<void> };
  const cli = (args: string[]) => runCli(args, { env: place.env, timeoutMs: 60_000 });

  /** The API on the imported database, for checking through the public surface. */
  async function withApp<T>(work: (t: TestApp) => Promise<T>): Promise<T> {
    const t = await startTestApp(await place.open());
    try {
      return await work(t);
    } finally {
      await t.close();
    }
  }

  const counts = () =>
    withApp(async (t) => {
      const db = t.database.db;
      const users = await db
        .selectFrom('users')
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      const events = await db
        .selectFrom('audit_events')
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirstOrThrow();
      return { users: users.n, events: events.n };
    });

  beforeAll(async () => {
    old = await createOldDatabase();
    place = driver === 'postgres' ? await postgresPlace() : await pglitePlace();
    expect((await cli(['db:migrate'])).code).toBe(0);
    // An account here already, whose name an old one has.
    await withApp(async (t) => {
      await signUp(t, 'taken');
    });
  }, 120_000);
  afterAll(async () => {
    await place?.dispose();
    await old?.drop();
  });

  it('--dry-run says what it would do and changes nothing', async () => {
    const before = await counts();
    const result = await cli(['import:legacy', '--from', old.url, '--dry-run', '--admin', 'root_admin']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('would import #1 "maria": user');
    expect(result.stdout).toMatch(/Dry run, nothing changed: 7 to import, 0 already imported, 4 not imported/);
    expect(await counts()).toEqual(before);
  });

  it('imports every account as a user unless named, maps names, reports every refusal, and lists the old administrators', async () => {
    const result = await cli(['import:legacy', '--from', old.url, '--admin', 'root_admin', '--admin', 'nobody_old']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    const out = result.stdout;
    expect(out).toContain('imported #1 "maria": user');
    expect(out).toContain('imported #2 "boss": user');
    expect(out).toContain('imported #3 "root_admin": admin');
    expect(out).toContain('imported #4 "josé" as "jose" (renamed): user');
    expect(out).toContain('imported #5 "ana lópez" as "ana_lopez" (renamed): user');
    expect(out).toMatch(/not imported #6 "Maria": would be "Maria", as old account #1 "maria" is/);
    expect(out).toMatch(/not imported #7 "taken": "taken" is already an account here; not merged/);
    expect(out).toMatch(/not imported #8 "al": the name breaks today’s rules/);
    expect(out).toContain('imported #9 "gone": user, inactive');
    expect(out).toContain('imported #10 "php_user": user');
    expect(out).toMatch(/not imported #11 "plain_text": its password hash is not bcrypt/);
    expect(out).toMatch(/Administrators in the old service .*: "boss", "root_admin"\. Each is imported as a user unless named with --admin NAME/);
    expect(out).toContain('--admin "nobody_old" names no account of the old service');
    expect(out).toMatch(/7 imported, 0 already imported, 4 not imported/);
    expect(out + result.stderr).not.toContain(old.url);

    await withApp(async (t) => {
      const events = await t.database.db
        .selectFrom('audit_events')
        .select(['actor_username', 'target_label', 'details'])
        .where('action', '=', 'user.created')
        .where(sql<string>`details->>'source'`, '=', 'legacy-import')
        .orderBy('id')
        .execute();
      expect(events.map((event) => event.target_label)).toEqual(['maria', 'boss', 'root_admin', 'jose', 'ana_lopez', 'gone', 'php_user']);
      expect(events[1]).toMatchObject({ actor_username: 'cli', details: { role: 'user', legacyId: 2, legacyUsername: 'boss', legacyRole: 'admin' } });
    });
  });

  it('the old passwords sign in, and the old hash is replaced by the current scheme at the first sign-in', async () => {
    await withApp(async (t) => {
      const hashOf = async (username: string) =>
        (await t.database.db.selectFrom('users').select('password_hash').where('username', '=', username).executeTakeFirstOrThrow()).password_hash;
      expect(await hashOf('maria')).toMatch(/^legacy-bcrypt:\$2b\$12\$/);

      // Through the old route, as the old GUI signs in, and through today's.
      const oldRoute = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=maria&password=maria1',
      });
      expect(oldRoute.statusCode, oldRoute.body).toBe(200);
      await expect.poll(() => hashOf('maria'), { timeout: 10_000 }).toMatch(/^\$2b\$04\$/);
      const again = await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'maria', password: 'maria1' } });
      expect(again.statusCode).toBe(200);
      expect((await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'maria', password: 'maria2' } })).statusCode).toBe(401);

      // `$2y$`, accents mapped away, roles as decided, inactive stays inactive.
      expect((await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'php_user', password: 'php-password' } })).statusCode).toBe(200);
      const jose = await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'jose', password: 'jose-password' } });
      expect(jose.statusCode).toBe(200);
      const boss = await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'boss', password: 'boss-password' } });
      expect(json(await rest(t.app, 'GET', '/api/auth/me', { token: json(boss).access_token }))).toMatchObject({ username: 'boss', role: 'user' });
      const root = await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'root_admin', password: 'root-password' } });
      expect(json(await rest(t.app, 'GET', '/api/auth/me', { token: json(root).access_token }))).toMatchObject({ role: 'admin' });
      // An inactive account stays inactive: told so only because the password was right.
      const gone = await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'gone', password: 'gone-password' } });
      expect(gone.statusCode).toBe(403);
      expect(json(gone)).toMatchObject({ reason: 'ACCOUNT_DEACTIVATED' });
      // The account that was here first keeps its own password.
      expect((await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'taken', password: PASSWORD } })).statusCode).toBe(200);
    });
  });

  it('a second run changes nothing', async () => {
    const before = await counts();
    const result = await cli(['import:legacy', '--from', old.url, '--admin', 'root_admin']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/0 imported, 7 already imported, 4 not imported/);
    expect(await counts()).toEqual(before);
  });

  it('refuses a --from that is not a PostgreSQL URL, and says so without the URL', async () => {
    const wrong = await cli(['import:legacy', '--from', 'mysql://u:secret@h/db']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--from must be the PostgreSQL URL/);
    const unreachable = await cli(['import:legacy', '--from', withDatabase(adminUrl as string, 'stm_no_such_database')]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/Could not read the old service's users table/);
  });
});
