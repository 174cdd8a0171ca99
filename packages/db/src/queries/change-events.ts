import { type Kysely, sql } from 'kysely';
import { commitAnnouncementsOf } from '../commit-announcements';
import type { Database } from '../schema';

/** The channel every instance listens on; a notification carries the newest event id as text. */
export const CHANGE_CHANNEL = 'stm_change_events';

/**
 * Held from the first event of a transaction to its end (an advisory transaction lock), so event
 * ids are handed out in commit order: a reader that has seen id N has seen every committed event
 * below N, and resuming "after N" misses nothing. Without it a transaction that took id 10 could
 * commit after one that took 11, and a reader already past 11 would never see 10. Writers of
 * events therefore take turns from their first event to their commit, which is why callers record
 * events as the last statements of their transactions.
 */
const CHANGE_EVENTS_LOCK = 0x73746d01;

export interface NewChangeEvent {
  projectId: number | null;
  userId: number | null;
  kind: string;
  entityId: number | null;
  actorId: number | null;
  payload: Record<string, unknown>;
}

export interface ChangeEventRow {
  id: number;
  project_id: number | null;
  user_id: number | null;
  kind: string;
  entity_id: number | null;
  actor_id: number | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = ['id', 'project_id', 'user_id', 'kind', 'entity_id', 'actor_id', 'payload', 'created_at'] as const;

/**
 * Appends events in the caller's transaction and tells every listener once it commits: through
 * the database's announcer when it has one (Redis), told after the commit succeeded; otherwise
 * with `pg_notify`, which is delivered at commit, and never for a transaction that rolls back.
 */
export async function appendChangeEvents(trx: Kysely<Database>, events: NewChangeEvent[]): Promise<void> {
  if (events.length === 0) return;
  await sql`select pg_advisory_xact_lock(${CHANGE_EVENTS_LOCK})`.execute(trx);
  const values = events.map((event) => ({
    project_id: event.projectId,
    user_id: event.userId,
    kind: event.kind,
    entity_id: event.entityId,
    actor_id: event.actorId,
    payload: JSON.stringify(event.payload),
  }));
  const announced = await commitAnnouncementsOf(trx);
  if (announced) {
    const rows = await trx.insertInto('change_events').values(values).returning('id').execute();
    announced.announcements.mark(announced.connection, Math.max(...rows.map((row) => row.id)));
    return;
  }
  await trx
    .with('added', (db) => db.insertInto('change_events').values(values).returning('id'))
    .selectFrom('added')
    .select(sql<string>`pg_notify(${CHANGE_CHANNEL}, max(added.id)::text)`.as('notified'))
    .execute();
}

/** Tells every listener of the log that it has events up to `newestId` (after their commit, outside any transaction). */
export async function notifyChangeEvents(db: Kysely<Database>, newestId: number): Promise<void> {
  await sql`select pg_notify(${CHANGE_CHANNEL}, ${String(newestId)})`.execute(db);
}

/**
 * Whose events: a project's, one user's own (and, with `projectIds`, those of these projects
 * too), or (unset) everyone's.
 */
export type ChangeEventScope = { projectId: number } | { userId: number; projectIds?: readonly number[] };

/**
 * Events after `afterId`, oldest first: all of them (every instance reads each batch once for all
 * its streams), or one scope's (a stream's backlog on resume).
 */
/**
 * Takes a comment's text out of its events so far (`comment` goes, `redacted: true` says so):
 * once its author edits or deletes it, the words they took back stay in no replay, resume or
 * webhook still to be sent. The event of the edit itself, written after, carries the new text.
 */
export async function redactCommentEvents(trx: Kysely<Database>, commentId: number): Promise<void> {
  await sql`
    update change_events set payload = (payload - 'comment') || '{"redacted": true}'::jsonb
    where kind in ('comment.created', 'comment.updated') and entity_id = ${commentId} and payload -> 'comment' is not null`.execute(trx);
}

export async function listChangeEventsAfter(db: Kysely<Database>, afterId: number, limit: number, scope?: ChangeEventScope): Promise<ChangeEventRow[]> {
  let query = db.selectFrom('change_events').select(COLUMNS).where('id', '>', afterId);
  if (scope && 'projectId' in scope) query = query.where('project_id', '=', scope.projectId);
  if (scope && 'userId' in scope) {
    const { userId, projectIds = [] } = scope;
    query =
      projectIds.length === 0
        ? query.where('user_id', '=', userId)
        : query.where((eb) => eb.or([eb('user_id', '=', userId), eb('project_id', 'in', projectIds)]));
  }
  return query.orderBy('id').limit(limit).execute();
}

/**
 * The log's extent: `newest`, the id of the latest event (0 if none was ever recorded), and
 * `prunedThrough`, the highest id that may have existed and is gone (pruned, or not carried by a
 * restore). A reader resuming after an id below `prunedThrough` may have missed events.
 */
export async function changeLogExtent(db: Kysely<Database>): Promise<{ newest: number; prunedThrough: number }> {
  const { rows } = await sql<{ oldest: string | number | null; newest: string | number | null; issued: string | number }>`
    select (select min(id) from change_events) as oldest,
           (select max(id) from change_events) as newest,
           (select case when is_called then last_value else 0 end from change_events_id_seq) as issued`.execute(db);
  const row = rows[0];
  const issued = Number(row?.issued ?? 0);
  if (row?.oldest === null || row?.oldest === undefined) return { newest: issued, prunedThrough: issued };
  return { newest: Number(row.newest), prunedThrough: Number(row.oldest) - 1 };
}

/**
 * Removes events older than `before`, but never the newest one, so the log's extent stays known
 * (`changeLogExtent`), nor one an active webhook endpoint has yet to deliver (past its cursor):
 * an endpoint that stays active is at most its retry window behind, and one disabled for failing
 * no longer holds the log; if enabled again after its events went, it is told (see the webhooks
 * service). Returns how many went.
 */
export async function pruneChangeEvents(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('change_events')
    .where('created_at', '<', before)
    .where('id', '<', (eb) => eb.selectFrom('change_events').select((e) => e.fn.max('id').as('newest')))
    .where('id', '<=', sql<number>`coalesce((select min(change_cursor) from webhook_endpoints where active), ${Number.MAX_SAFE_INTEGER}::bigint)`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export interface StreamCredentials {
  sessionId: string;
  userId: number;
  kid: string;
  /** The project a stream follows; null for a user's own stream. */
  projectId: number | null;
}

export interface StreamStanding {
  /** The session is live, the account active and the signing key not revoked. */
  signedIn: boolean;
  /** The project still exists and the user may read it (a member, or an administrator). */
  canRead: boolean;
}

/**
 * Whether each open stream's caller still stands, in one statement for all of an instance's
 * streams: the same checks as every request's authentication, and the project's membership.
 */
export async function checkStreams(db: Kysely<Database>, streams: StreamCredentials[]): Promise<StreamStanding[]> {
  if (streams.length === 0) return [];
  const { rows } = await sql<{ n: number; signed_in: boolean; can_read: boolean }>`
    select x.n,
      (u.id is not null and exists (select 1 from signing_keys k where k.kid = x.kid and k.revoked_at is null)) as signed_in,
      (x.project_id is null or exists (
        select 1 from projects p where p.id = x.project_id
          and (u.role = 'admin' or exists (select 1 from project_members m where m.project_id = p.id and m.user_id = x.user_id))
      )) as can_read
    from unnest(${streams.map((_, n) => n)}::int[], ${streams.map((s) => s.sessionId)}::uuid[], ${streams.map((s) => s.userId)}::int[],
                ${streams.map((s) => s.kid)}::text[], ${streams.map((s) => s.projectId)}::int[]) as x(n, session_id, user_id, kid, project_id)
    left join sessions s on s.id = x.session_id and s.user_id = x.user_id and s.revoked_at is null and s.expires_at > now()
    left join users u on u.id = s.user_id and u.is_active`.execute(db);
  const standing: StreamStanding[] = streams.map(() => ({ signedIn: false, canRead: false }));
  for (const row of rows) standing[row.n] = { signedIn: row.signed_in, canRead: row.can_read };
  return standing;
}

/** The projects a user is a member of (a stream following them, `live.mine` with `projects`). */
export async function memberProjectIds(db: Kysely<Database>, userId: number): Promise<number[]> {
  const rows = await db.selectFrom('project_members').select('project_id').where('user_id', '=', userId).execute();
  return rows.map((row) => row.project_id);
}
