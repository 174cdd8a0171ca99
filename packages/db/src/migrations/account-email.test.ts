import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateDown, migrateTo } from '../migrate';
import { seedUsers } from '../seed';
import { createTestDatabase, type TestDatabase } from '../testing';

const PREVIOUS_RELEASE = '2026_12_07_0040_notifications_and_mail';
const ACCOUNT_EMAIL = '2026_12_08_0020_account_email';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
  await migrateTo(database.db, PREVIOUS_RELEASE);
});
afterAll(() => database.close());

async function addresses(): Promise<string[]> {
  const { rows } = await sql<{ row: string }>`
    select username || ' ' || coalesce(email, '-') || ' ' || coalesce(pending_email, '-') as row from users order by username`.execute(database.db);
  return rows.map((row) => row.row);
}

describe('the account email migration', () => {
  it('makes the addresses given for notification mail pending account addresses, never confirmed ones', async () => {
    const [ana, ben] = (await seedUsers(database.db, { count: 3, prefix: 'mail_' })) as [number, number, number];
    await sql`insert into notification_preferences (user_id, email) values (${ana}, 'Ana@Example.test'), (${ben}, null)`.execute(database.db);

    await migrateTo(database.db, ACCOUNT_EMAIL);
    expect(await addresses()).toEqual(['mail_000001 - Ana@Example.test', 'mail_000002 - -', 'mail_000003 - -']);

    // The previous release, still running during a rolling upgrade, writes preferences as before.
    await sql`update notification_preferences set email = 'ben@example.test' where user_id = ${ben}`.execute(database.db);

    // Confirmed addresses are unique whatever their case.
    await sql`update users set email = 'Ana@Example.test', email_verified_at = now() where id = ${ana}`.execute(database.db);
    await expect(sql`update users set email = 'ana@example.TEST' where id = ${ben}`.execute(database.db)).rejects.toThrow();
  });

  it('goes back down, and up again', async () => {
    await migrateDown(database.db);
    const { rows } = await sql<{ name: string }>`select to_regclass('email_verification_tokens')::text as name`.execute(database.db);
    expect(rows[0]?.name).toBeNull();
    expect((await migrateTo(database.db, ACCOUNT_EMAIL)).applied).toEqual([ACCOUNT_EMAIL]);
    expect(await addresses()).toContain('mail_000002 - ben@example.test');
  });
});
