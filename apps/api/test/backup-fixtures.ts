/**
 * What the backup tests share besides empty places (./places): a database filled through the API
 * with every kind of row, a row-for-row picture of a database, and the checks that the
 * application still works on a restored copy.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { totpCodeAt } from '@stm/auth';
import { type DatabaseHandle, factors, sql } from '@stm/db';
import { expect } from 'vitest';
import { giveConfirmedEmail, json, PASSWORD, rest, signUp, signUpAdmin, startTestApp } from './helpers';
import { type Place, usingDatabase } from './places';
import { type ProcessResult, runCli } from './processes';

export function cli(place: Place, args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return runCli(args, { env: { ...place.env, ...env }, timeoutMs: 240_000 });
}

/** What the filled database holds that the checks after a restore need. */
export interface Filled {
  alice: { id: number; accessToken: string; refreshToken: string };
  /** Alice's tasks as the API lists them. */
  aliceTasks: unknown[];
  /** The highest task id ever handed out (a deleted task's): new ids must come after it. */
  lastTaskId: number;
  lastUserId: number;
  currentKid: string;
}

/**
 * Fills a database through the API so that every table has rows, including the awkward ones:
 * text with quotes, backslashes, tabs, newlines and emoji; a due date; a done task; a deleted
 * task (a gap before the next id); a settings change; an open password reset; an ended session;
 * signing keys current, retired (it signed Alice's token) and revoked.
 */
export async function fill(place: Place): Promise<Filled> {
  const t = await startTestApp(await place.open());
  try {
    const admin = await signUpAdmin(t, 'backup_admin');
    const alice = await signUp(t, 'alice_backup');
    const bob = await signUp(t, 'bob_backup');
    const mine = t.caller(alice.accessToken).tasks;
    const plain = await mine.create({ title: 'Plain' });
    await mine.create({
      title: 'Ünïcode ✓ 😀 "quoted"',
      description: 'two\nlines, "double" and \'single\' quotes, back\\slash, a\ttab, {"json": [1]}',
      priority: 'high',
      dueAt: '2031-04-05T06:07:08.009Z',
    });
    await mine.create({ title: 'Finished', status: 'done', priority: 'low' });
    const doomed = await mine.create({ title: 'Deleted before the backup' });
    await mine.delete({ id: doomed.id });
    await mine.update({ id: plain.id, status: 'in_progress', description: 'moved on' });
    await t.caller(bob.accessToken).tasks.create({ title: "Bob's task" });

    // Shared work: a project Bob edits, with a label, an assigned task, a comment and history.
    const aliceCalls = t.caller(alice.accessToken);
    const project = await aliceCalls.projects.create({ name: 'Backup project', description: 'Kept "whole"', color: 'teal' });
    await aliceCalls.members.add({ projectId: project.id, username: 'bob_backup', role: 'editor' });
    const label = await aliceCalls.labels.create({ projectId: project.id, name: 'Ünïcode label', color: 'pink' });
    const shared = await aliceCalls.tasks.create({ projectId: project.id, title: 'Shared task', assigneeId: bob.user.id, labelIds: [label.id] });
    // Notifications (Bob's assignment, Alice's mention) and, as Alice has a confirmed address, a digest in the mail outbox;
    // she is changing it, so a confirmation link waits too.
    await giveConfirmedEmail(t, alice.user.id, 'alice@example.test');
    await t.app.services.accountEmail.set(alice.user, 'alice.new@example.test', { ip: '127.0.0.1', userAgent: null });
    const alicePreferences = await aliceCalls.notifications.preferences();
    await aliceCalls.notifications.updatePreferences({ ...alicePreferences, language: 'es' });
    await t.caller(bob.accessToken).comments.create({ taskId: shared.id, body: 'On it, @alice_backup.\nSecond line' });
    await aliceCalls.tokens.create({ name: 'nightly export', scopes: ['tasks:read'], expiresInDays: 30 });
    // A webhook, and its delivery log: a test message to a name that never resolves, logged as failed.
    const hook = await aliceCalls.webhooks.create({
      projectId: project.id,
      url: 'https://93.184.216.34/backup',
      description: 'CI "hook"',
      eventTypes: ['task.*'],
    });
    await aliceCalls.webhooks.test({ projectId: project.id, id: hook.id });
    await t.app.services.notificationScheduler.tick();

    const adminCalls = t.caller(admin.accessToken);
    await adminCalls.settings.update({ registrationOpen: true, passwordMinLength: 10 });
    await adminCalls.admin.users.createResetLink({ id: bob.user.id });
    const second = await t.caller().auth.login({ username: 'bob_backup', password: PASSWORD });
    expect((await rest(t.app, 'POST', '/api/auth/logout', { token: second.access_token })).statusCode).toBe(200);

    // Second factors: Bob's authenticator app and recovery codes, a sign-in waiting for its code,
    // and a passkey (stored as a registration stores it: a real one needs a browser, see the
    // console's browser tests).
    const bobCalls = t.caller(bob.accessToken);
    const { secret } = await bobCalls.mfa.totpBegin();
    await bobCalls.mfa.totpConfirm({ code: totpCodeAt(secret, Date.now()) });
    expect(json(await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'bob_backup', password: PASSWORD } })).reason).toBe('MFA_REQUIRED');
    await factors.insertPasskey(t.database.db, {
      id: 'backup-passkey-id',
      userId: bob.user.id,
      name: 'Bob\'s "laptop" ✓',
      publicKey: 'pQECAyYgASFYIA',
      counter: 3,
      transports: ['internal', 'hybrid'],
      backedUp: true,
    });

    await adminCalls.admin.keys.rotate();
    const { kid: revocable } = await adminCalls.admin.keys.rotate();
    await adminCalls.admin.keys.rotate();
    await adminCalls.admin.keys.revoke({ kid: revocable });

    const aliceTasks = (await mine.list({})).items;
    const { rows } = await sql<{ task: number; person: number }>`
      select (select last_value from tasks_id_seq)::int as task, (select last_value from users_id_seq)::int as person`.execute(t.database.db);
    return {
      alice: { id: alice.user.id, accessToken: alice.accessToken, refreshToken: alice.refreshToken },
      aliceTasks,
      lastTaskId: rows[0]?.task ?? 0,
      lastUserId: rows[0]?.person ?? 0,
      currentKid: t.app.services.keyring.currentKid as string,
    };
  } finally {
    await t.close();
  }
}

/**
 * Every table the application keeps rows in: each must come through a backup. (user_usage is
 * derived from the others by triggers, so a restore rebuilds it instead of carrying it. The
 * change log is carried: with it, the ids clients resume from keep their meaning after a restore.)
 */
export const APP_TABLES = [
  'api_tokens',
  'audit_events',
  'auth_challenges',
  'change_events',
  'email_verification_tokens',
  'labels',
  'mail_outbox',
  'migration_notes',
  'notification_preferences',
  'notifications',
  'passkeys',
  'password_reset_tokens',
  'project_members',
  'projects',
  'recovery_codes',
  'refresh_tokens',
  'sessions',
  'settings',
  'signing_keys',
  'task_comments',
  'task_events',
  'task_labels',
  'tasks',
  'user_totp',
  'users',
  'webhook_deliveries',
  'webhook_endpoints',
];

/**
 * Every row of every table (the migration history included) and where every sequence stands,
 * as PostgreSQL writes them out in UTC: two databases with equal pictures hold the same data,
 * to the microsecond.
 */
export async function picture(database: DatabaseHandle): Promise<Record<string, string[]>> {
  return database.db.transaction().execute(async (trx) => {
    await sql`set local time zone 'UTC'`.execute(trx);
    await sql`set local datestyle = 'ISO, MDY'`.execute(trx);
    const { rows: tables } = await sql<{ name: string }>`
      select tablename as name from pg_tables where schemaname = 'public' order by tablename`.execute(trx);
    const result: Record<string, string[]> = {};
    for (const { name } of tables) {
      const { rows } = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} as t order by 1`.execute(trx);
      result[name] = rows.map((row) => row.row);
    }
    const { rows: sequences } = await sql<{ state: string }>`
      select sequencename || ' ' || coalesce(last_value::text, 'unused') as state from pg_sequences
      where schemaname = 'public' order by sequencename`.execute(trx);
    result['(sequences)'] = sequences.map((row) => row.state);
    return result;
  });
}

/** The picture of a filled database: sanity, so a comparison of two empty pictures cannot pass. */
export function expectFilled(shot: Record<string, string[]>): void {
  for (const table of APP_TABLES) expect(shot[table]?.length ?? 0, `rows in ${table}`).toBeGreaterThan(0);
  expect(shot.kysely_migration?.length).toBeGreaterThan(0);
  expect(shot.signing_keys).toHaveLength(4);
}

/**
 * The application on a restored copy: Alice signs in with her password, her tasks are there,
 * her token from before the backup (signed by a key since retired) still verifies and her refresh
 * token still renews, and new rows get ids after every id ever handed out.
 */
export async function expectAppWorks(place: Place, filled: Filled): Promise<void> {
  const t = await startTestApp(await place.open());
  try {
    const login = await t.caller().auth.login({ username: 'alice_backup', password: PASSWORD });
    expect(login.access_token).toBeTruthy();
    expect(await t.caller(filled.alice.accessToken).auth.me()).toMatchObject({ id: filled.alice.id, username: 'alice_backup' });
    expect((await t.caller(login.access_token).tasks.list({})).items).toEqual(filled.aliceTasks);
    const refreshed = await rest(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: filled.alice.refreshToken } });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(t.app.services.keyring.currentKid).toBe(filled.currentKid);

    const task = await t.caller(login.access_token).tasks.create({ title: 'After the restore' });
    expect(task.id).toBeGreaterThan(filled.lastTaskId);
    const carol = await t.caller().auth.register({ username: 'carol_after', password: PASSWORD });
    expect(carol.id).toBeGreaterThan(filled.lastUserId);
    expect(json(await rest(t.app, 'GET', '/api/auth/me', { token: login.access_token }))).toMatchObject({ username: 'alice_backup' });
  } finally {
    await t.close();
  }
}

/** Rewrites a portable backup's lines (to make damaged or foreign ones). */
export async function rewritePortable(from: string, to: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = gunzipSync(await readFile(from))
    .toString('utf8')
    .split('\n');
  await writeFile(to, gzipSync(Buffer.from(edit(lines).join('\n'), 'utf8')));
}

/**
 * A target a refused restore must not even have opened: the embedded database's folder still
 * empty, PostgreSQL's database still without a table.
 */
export async function expectUntouched(place: Place): Promise<void> {
  if (place.driver === 'pglite') expect(await readdir(place.env.DATA_DIR as string)).toEqual([]);
  else expect(await usingDatabase(place, tablesOf)).toEqual([]);
}

/** The tables of a database: a restore that failed half-way must leave an empty target without any. */
export async function tablesOf(database: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select tablename as name from pg_tables where schemaname = 'public' order by tablename`.execute(database.db);
  return rows.map((row) => row.name);
}
