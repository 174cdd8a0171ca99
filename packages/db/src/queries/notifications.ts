import { type Kysely, sql } from 'kysely';
import type { Database, NotificationKind } from '../schema';

export interface NewNotification {
  userId: number;
  kind: NotificationKind;
  taskId: number;
  actorId: number | null;
  commentId: number | null;
  details: Record<string, unknown>;
  dedupeKey: string | null;
  inApp: boolean;
  mailWanted: boolean;
}

/**
 * Writes notifications; one whose `(user, dedupe key)` is there already is skipped, so the same
 * time-based event written twice (two scheduler runs) leaves one row. Returns how many were new.
 */
/** Stores what is new (a repeated time-based notification is skipped); answers who got what was stored. */
export async function insertNotifications(db: Kysely<Database>, rows: NewNotification[]): Promise<{ userId: number; inApp: boolean }[]> {
  if (rows.length === 0) return [];
  const inserted = await db
    .insertInto('notifications')
    .values(
      rows.map((row) => ({
        user_id: row.userId,
        kind: row.kind,
        task_id: row.taskId,
        actor_id: row.actorId,
        comment_id: row.commentId,
        details: JSON.stringify(row.details),
        dedupe_key: row.dedupeKey,
        in_app: row.inApp,
        mail_wanted: row.mailWanted,
      })),
    )
    .onConflict((oc) => oc.columns(['user_id', 'dedupe_key']).doNothing())
    .returning(['user_id', 'in_app'])
    .execute();
  return inserted.map((row) => ({ userId: row.user_id, inApp: row.in_app }));
}

/**
 * Those of `userIds` who can see the task now: active members of its project. (A notification
 * names the task, so only someone who may read it gets one.)
 */
export async function findTaskReaders(db: Kysely<Database>, taskId: number, userIds: number[]): Promise<number[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .selectFrom('tasks as t')
    .innerJoin('project_members as m', 'm.project_id', 't.project_id')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select('m.user_id')
    .where('t.id', '=', taskId)
    .where('m.user_id', 'in', userIds)
    .where('u.is_active', '=', true)
    .execute();
  return rows.map((row) => row.user_id);
}

/** What a person may still see: the task's project has them as a member (or they administer everything). */
function readable(userId: number, isAdmin: boolean) {
  if (isAdmin) return sql<boolean>`true`;
  return sql<boolean>`exists (select 1 from project_members pm where pm.project_id = t.project_id and pm.user_id = ${userId})`;
}

/** A person's notifications shown in the app, newest first, before the notification `beforeId`. */
export async function listNotifications(
  db: Kysely<Database>,
  user: { id: number; isAdmin: boolean },
  query: { beforeId?: number | undefined; unreadOnly: boolean; limit: number },
) {
  let q = db
    .selectFrom('notifications as n')
    .innerJoin('tasks as t', 't.id', 'n.task_id')
    .leftJoin('users as actor', 'actor.id', 'n.actor_id')
    .select([
      'n.id',
      'n.kind',
      'n.task_id',
      't.title as task_title',
      't.project_id',
      't.due_at',
      'n.actor_id',
      'actor.username as actor_username',
      'n.comment_id',
      'n.details',
      'n.read_at',
      'n.created_at',
    ])
    .where('n.user_id', '=', user.id)
    .where('n.in_app', '=', true)
    .where(readable(user.id, user.isAdmin));
  if (query.unreadOnly) q = q.where('n.read_at', 'is', null);
  if (query.beforeId !== undefined) q = q.where('n.id', '<', query.beforeId);
  return q.orderBy('n.id', 'desc').limit(query.limit).execute();
}

export type NotificationRow = Awaited<ReturnType<typeof listNotifications>>[number];

export async function countUnread(db: Kysely<Database>, user: { id: number; isAdmin: boolean }): Promise<number> {
  const row = await db
    .selectFrom('notifications as n')
    .innerJoin('tasks as t', 't.id', 'n.task_id')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('n.user_id', '=', user.id)
    .where('n.in_app', '=', true)
    .where('n.read_at', 'is', null)
    .where(readable(user.id, user.isAdmin))
    .executeTakeFirstOrThrow();
  return row.count;
}

/** Marks the person's notifications read: those of `ids`, or every one. Returns how many changed. */
export async function markRead(db: Kysely<Database>, userId: number, ids: number[] | 'all'): Promise<number> {
  if (ids !== 'all' && ids.length === 0) return 0;
  let q = db
    .updateTable('notifications')
    .set({ read_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null);
  if (ids !== 'all') q = q.where('id', 'in', ids);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function findNotificationOwner(db: Kysely<Database>, id: number) {
  return db.selectFrom('notifications').select(['id', 'user_id', 'read_at']).where('id', '=', id).executeTakeFirst();
}

export async function findPreferences(db: Kysely<Database>, userIds: number[]) {
  if (userIds.length === 0) return [];
  return db.selectFrom('notification_preferences').select(['user_id', 'kinds', 'language', 'last_digest_at']).where('user_id', 'in', userIds).execute();
}

export type PreferencesRow = Awaited<ReturnType<typeof findPreferences>>[number];

/** Makes the person's preferences row if missing and locks it until the transaction ends: changes take turns. */
export async function lockPreferences(db: Kysely<Database>, userId: number): Promise<void> {
  await db
    .insertInto('notification_preferences')
    .values({ user_id: userId })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute();
  await db.selectFrom('notification_preferences').select('user_id').where('user_id', '=', userId).forUpdate().execute();
}

export async function upsertPreferences(
  db: Kysely<Database>,
  userId: number,
  change: { kinds: Record<string, { inApp: boolean; mail: boolean }>; language: 'en' | 'es' | null },
): Promise<void> {
  const values = { kinds: JSON.stringify(change.kinds), language: change.language, updated_at: sql<Date>`now()` };
  await db
    .insertInto('notification_preferences')
    .values({ user_id: userId, ...values })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(values))
    .execute();
}

/** A task whose due time falls in a window, and the people it concerns there: its assignee and its creator, while they can see it. */
export interface DueCandidate {
  task_id: number;
  title: string;
  due_at: Date;
  user_id: number;
}

/**
 * Open tasks due in `[from, to)` and the people to tell (assignee and creator, if active members
 * of its project now), less those already told about this due time for `kind`. Scanning by due
 * time rather than by "since the last run" is what makes a run after downtime catch up.
 */
export async function findDueCandidates(
  db: Kysely<Database>,
  kind: 'due_soon' | 'overdue',
  window: { from: Date; to: Date },
  limit: number,
): Promise<DueCandidate[]> {
  const { rows } = await sql<DueCandidate>`
    select t.id as task_id, t.title, t.due_at, who.user_id
    from tasks t
    cross join lateral (select distinct x.user_id from (values (t.assignee_id), (t.created_by)) as x(user_id) where x.user_id is not null) who
    join project_members m on m.project_id = t.project_id and m.user_id = who.user_id
    join users u on u.id = who.user_id and u.is_active
    where t.status <> 'done' and t.due_at >= ${window.from} and t.due_at < ${window.to}
      and not exists (
        select 1 from notifications n
        where n.user_id = who.user_id
          and n.dedupe_key = ${kind} || ':' || t.id || ':' || (extract(epoch from t.due_at) * 1000)::bigint
      )
    order by t.due_at, t.id, who.user_id
    limit ${limit}`.execute(db);
  return rows;
}

/** The key that makes a time-based notification unique per person: the kind, the task and its due time. */
export function dueDedupeKey(kind: 'due_soon' | 'overdue', taskId: number, dueAt: Date): string {
  return `${kind}:${taskId}:${dueAt.getTime()}`;
}

/** People with notification mail waiting whose last digest is at least `since` old (or who never had one). */
export async function findDigestRecipients(db: Kysely<Database>, notBefore: Date, limit: number) {
  return db
    .selectFrom('users as u')
    .leftJoin('notification_preferences as p', 'p.user_id', 'u.id')
    .select(['u.id as user_id', 'u.username', 'u.email', 'p.language'])
    .where('u.email', 'is not', null)
    .where((eb) => eb.or([eb('p.last_digest_at', 'is', null), eb('p.last_digest_at', '<=', notBefore)]))
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('notifications as n')
          .select(sql`1`.as('one'))
          .whereRef('n.user_id', '=', 'u.id')
          .where('n.mail_wanted', '=', true)
          .where('n.mailed_at', 'is', null),
      ),
    )
    .orderBy('u.id')
    .limit(limit)
    .execute();
}

/** Which of these people have a confirmed email address: the only kind notification mail goes to. */
export async function findMailable(db: Kysely<Database>, userIds: number[]): Promise<Set<number>> {
  if (userIds.length === 0) return new Set();
  const rows = await db.selectFrom('users').select('id').where('id', 'in', userIds).where('email', 'is not', null).execute();
  return new Set(rows.map((row) => row.id));
}

/** The person's notifications waiting for mail, oldest first, with what the digest shows, while they can see the task. */
export async function pendingMail(db: Kysely<Database>, userId: number, limit: number) {
  return db
    .selectFrom('notifications as n')
    .innerJoin('tasks as t', 't.id', 'n.task_id')
    .leftJoin('users as actor', 'actor.id', 'n.actor_id')
    .select(['n.id', 'n.kind', 'n.task_id', 't.project_id', 't.title as task_title', 't.due_at', 'actor.username as actor_username', 'n.created_at'])
    .where('n.user_id', '=', userId)
    .where('n.mail_wanted', '=', true)
    .where('n.mailed_at', 'is', null)
    .where(sql<boolean>`exists (select 1 from project_members pm where pm.project_id = t.project_id and pm.user_id = ${userId})`)
    .orderBy('n.id')
    .limit(limit)
    .execute();
}

/** Marks every notification mail of the person waiting up to `upToId` as handled (sent, or no longer visible to them). */
export async function markMailed(db: Kysely<Database>, userId: number, upToId: number | null, at: Date): Promise<void> {
  let q = db.updateTable('notifications').set({ mailed_at: at }).where('user_id', '=', userId).where('mail_wanted', '=', true).where('mailed_at', 'is', null);
  if (upToId !== null) q = q.where('id', '<=', upToId);
  await q.execute();
}

export async function setLastDigest(db: Kysely<Database>, userId: number, at: Date): Promise<void> {
  // Someone who never chose anything has no row yet and gets mail by the defaults.
  await db
    .insertInto('notification_preferences')
    .values({ user_id: userId, last_digest_at: at })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ last_digest_at: at }))
    .execute();
}

/**
 * Takes a transaction-scoped advisory lock if free: the caller runs its work only when this
 * says true, so one instance at a time does it. Released when the transaction ends.
 */
export async function tryAdvisoryXactLock(db: Kysely<Database>, name: string): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${name})) as locked`.execute(db);
  return rows[0]?.locked === true;
}

/** Who a task concerns: its creator and its assignee. */
export async function findTaskPeople(db: Kysely<Database>, taskId: number) {
  return db.selectFrom('tasks').select(['created_by', 'assignee_id']).where('id', '=', taskId).executeTakeFirst();
}
