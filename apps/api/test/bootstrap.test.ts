import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PASSWORD, rejection, type TestApp } from './helpers';
import { pglitePlace, postgresPlace } from './places';
import { API_DIR, childEnvironment, outcomeOf, serverCommand } from './processes';

const ADMIN_PASSWORD = 'the bootstrap admin passphrase';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ ADMIN_USERNAME: 'first-admin', ADMIN_PASSWORD });
});
afterAll(() => t.close());

async function account(username: string) {
  return t.database.db
    .selectFrom('users')
    .select(['id', 'username', 'role', 'is_active', 'password_hash', 'updated_at'])
    .where('username', '=', username)
    .executeTakeFirst();
}

async function countUsers(): Promise<number> {
  const row = await t.database.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return row.count;
}

describe('the first administrator from ADMIN_USERNAME / ADMIN_PASSWORD', () => {
  it('is created at start when no account has the name, and can sign in as admin', async () => {
    expect(await account('first-admin')).toMatchObject({ role: 'admin', is_active: true });
    const { access_token } = await t.caller().auth.login({ username: 'first-admin', password: ADMIN_PASSWORD });
    await expect(t.caller(access_token).auth.admin()).resolves.toEqual({ message: 'Welcome, administrator first-admin' });
  });

  it('never changes an existing account of that name (any case), nor makes another one', async () => {
    await t.caller().auth.register({ username: 'Taken_Name', password: PASSWORD });
    const before = await account('Taken_Name');
    const usersBefore = await countUsers();
    // A restart whose environment names that account, with another password.
    const restarted = await createTestApp({ ADMIN_USERNAME: 'taken_name', ADMIN_PASSWORD: 'someone elses passphrase' }, { database: t.database });
    try {
      expect(await account('Taken_Name')).toEqual(before);
      expect(await account('taken_name')).toBeUndefined();
      expect(await countUsers()).toBe(usersBefore);
      expect(await rejection(restarted.caller().auth.login({ username: 'Taken_Name', password: 'someone elses passphrase' }))).toMatchObject({
        code: 'UNAUTHORIZED',
      });
      const { access_token } = await restarted.caller().auth.login({ username: 'Taken_Name', password: PASSWORD });
      expect(await rejection(restarted.caller(access_token).auth.admin())).toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await restarted.close();
    }
  });

  it('leaves an existing administrator, deactivated or not, exactly as it was', async () => {
    const before = await account('first-admin');
    await t.database.db.updateTable('users').set({ is_active: false }).where('username', '=', 'first-admin').execute();
    const deactivated = await account('first-admin');
    const restarted = await createTestApp({ ADMIN_USERNAME: 'first-admin', ADMIN_PASSWORD: 'a different admin passphrase' }, { database: t.database });
    try {
      expect(await account('first-admin')).toEqual(deactivated);
      expect((await account('first-admin'))?.password_hash).toBe(before?.password_hash);
    } finally {
      await restarted.close();
      await t.database.db.updateTable('users').set({ is_active: true }).where('username', '=', 'first-admin').execute();
    }
  });
});

describe('an ADMIN_PASSWORD the policy refuses', () => {
  it('stops the server at start with one line naming the variable and why, no stack, EX_CONFIG', { timeout: 120_000 }, async () => {
    const place = process.env.STM_TEST_DB === 'postgres' ? await postgresPlace() : await pglitePlace();
    try {
      const child = spawn(process.execPath, serverCommand(), {
        cwd: API_DIR,
        env: childEnvironment({ ...place.env, PORT: '0', LOG_LEVEL: 'info', ADMIN_USERNAME: 'first_admin', ADMIN_PASSWORD: 'password' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const result = await outcomeOf(child, { name: 'server with a refused ADMIN_PASSWORD', timeoutMs: 90_000 });
      expect(result.stderr).toMatch(/^Invalid configuration: ADMIN_PASSWORD is not allowed: [^\n]+\n$/);
      expect(result.stderr + result.stdout).not.toMatch(/\bat .+:\d+:\d+/);
      expect(result.code).toBe(78);
    } finally {
      await place.dispose();
    }
  });
});
