import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateDown, migrateTo } from '../migrate';
import { createTestDatabase, type TestDatabase } from '../testing';

const PREVIOUS_RELEASE = '2026_12_05_0004_shared_work';
const SESSION_LIFETIMES = '2026_12_06_0005_session_lifetimes';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
  await migrateTo(database.db, PREVIOUS_RELEASE);
});
afterAll(() => database.close());

/** A sign-in as the previous release writes it: it knows nothing of "keep me signed in". */
async function signInAsThePreviousRelease(id: string) {
  await sql`insert into sessions (id, user_id, expires_at, user_agent, ip)
    select ${id}::uuid, id, now() + interval '30 days', 'old release', '127.0.0.1' from users where username = 'alice'`.execute(database.db);
}

async function rememberOf(id: string): Promise<boolean | undefined> {
  const { rows } = await sql<{ remember: boolean }>`select remember from sessions where id = ${id}::uuid`.execute(database.db);
  return rows[0]?.remember;
}

describe('the upgrade to session lifetimes', () => {
  it('keeps the sessions already open on the long lifetime they were given, and lets the previous release go on signing in', async () => {
    await sql`insert into users (username, password_hash, role) values ('alice', 'hash', 'user')`.execute(database.db);
    const before = '00000000-0000-4000-8000-000000000001';
    await signInAsThePreviousRelease(before);

    expect(await migrateTo(database.db, SESSION_LIFETIMES)).toEqual({ applied: [SESSION_LIFETIMES] });
    expect(await rememberOf(before)).toBe(true);
    // The previous release, still running during a rolling upgrade, writes sessions as it did.
    const during = '00000000-0000-4000-8000-000000000002';
    await signInAsThePreviousRelease(during);
    expect(await rememberOf(during)).toBe(false);
  });

  it('goes back down, leaving every session, and up again', async () => {
    await migrateDown(database.db);
    const { rows } = await sql<{ count: number }>`select count(*)::int as count from sessions`.execute(database.db);
    expect(rows[0]?.count).toBe(2);
    expect((await migrateTo(database.db, SESSION_LIFETIMES)).applied).toEqual([SESSION_LIFETIMES]);
  });
});
