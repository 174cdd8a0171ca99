import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

const ENDPOINT_COLUMNS = [
  'id',
  'project_id',
  'url',
  'description',
  'event_types',
  'active',
  'disabled_reason',
  'secret_sealed',
  'previous_secret_sealed',
  'previous_secret_expires_at',
  'change_cursor',
  'audit_cursor_tx',
  'audit_cursor_id',
  'attempts',
  'failing_since',
  'next_attempt_at',
  'created_by',
  'created_at',
  'updated_at',
] as const;

export interface EndpointRow {
  id: number;
  project_id: number | null;
  url: string;
  description: string;
  event_types: string[];
  active: boolean;
  disabled_reason: string | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
  change_cursor: number;
  audit_cursor_tx: number;
  audit_cursor_id: number;
  attempts: number;
  failing_since: Date | null;
  next_attempt_at: Date;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

/** Where an endpoint belongs: a project, or (null) the whole installation. */
export type EndpointOwner = number | null;

export async function listEndpoints(db: Kysely<Database>, projectId: EndpointOwner): Promise<EndpointRow[]> {
  let query = db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS);
  query = projectId === null ? query.where('project_id', 'is', null) : query.where('project_id', '=', projectId);
  return await query.orderBy('id').execute();
}

/** One endpoint, only if it belongs where the caller says (else undefined, as for a missing id). */
export async function findEndpoint(
  db: Kysely<Database>,
  projectId: EndpointOwner,
  id: number,
  options: { lock?: boolean } = {},
): Promise<EndpointRow | undefined> {
  let query = db.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('id', '=', id);
  query = projectId === null ? query.where('project_id', 'is', null) : query.where('project_id', '=', projectId);
  if (options.lock) query = query.forUpdate();
  return await query.executeTakeFirst();
}

/** Whether any endpoint, anywhere, is active (due or not). */
export async function anyActiveEndpoint(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectNoFrom((eb) => eb.exists(eb.selectFrom('webhook_endpoints').select('id').where('active', '=', true)).as('any'))
    .executeTakeFirstOrThrow();
  return Boolean(row.any);
}

export async function countEndpoints(db: Kysely<Database>, projectId: EndpointOwner): Promise<number> {
  let query = db.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll().as('n'));
  query = projectId === null ? query.where('project_id', 'is', null) : query.where('project_id', '=', projectId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * A new endpoint, starting after everything already in the outboxes: it hears of what happens
 * from now on. Its audit cursor starts at the horizon (see `auditHorizon`).
 */
export async function insertEndpoint(
  db: Kysely<Database>,
  endpoint: { projectId: EndpointOwner; url: string; description: string; eventTypes: string[]; active: boolean; secretSealed: string; createdBy: number },
): Promise<EndpointRow> {
  return await db
    .insertInto('webhook_endpoints')
    .values({
      project_id: endpoint.projectId,
      url: endpoint.url,
      description: endpoint.description,
      event_types: endpoint.eventTypes,
      active: endpoint.active,
      secret_sealed: endpoint.secretSealed,
      change_cursor: sql<number>`coalesce((select max(id) from change_events), 0)`,
      audit_cursor_tx: sql<number>`pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1`,
      audit_cursor_id: sql<number>`${Number.MAX_SAFE_INTEGER}::bigint`,
      created_by: endpoint.createdBy,
    })
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirstOrThrow();
}

export async function updateEndpoint(
  db: Kysely<Database>,
  id: number,
  changes: Partial<{ url: string; description: string; eventTypes: string[]; active: boolean; disabledReason: string | null }>,
  now: Date,
): Promise<EndpointRow> {
  const set: Record<string, unknown> = { updated_at: now };
  if (changes.url !== undefined) set.url = changes.url;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.eventTypes !== undefined) set.event_types = changes.eventTypes;
  if (changes.active !== undefined) {
    set.active = changes.active;
    // Enabled again by a person: a clean start, delivering at once from where it stopped.
    if (changes.active) Object.assign(set, { disabled_reason: null, attempts: 0, failing_since: null, next_attempt_at: now });
  }
  if (changes.disabledReason !== undefined) set.disabled_reason = changes.disabledReason;
  return await db.updateTable('webhook_endpoints').set(set).where('id', '=', id).returning(ENDPOINT_COLUMNS).executeTakeFirstOrThrow();
}

export async function setSecret(
  db: Kysely<Database>,
  id: number,
  secret: { sealed: string; previousSealed: string | null; previousExpiresAt: Date | null },
  now: Date,
): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ secret_sealed: secret.sealed, previous_secret_sealed: secret.previousSealed, previous_secret_expires_at: secret.previousExpiresAt, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function deleteEndpoint(db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
}

/**
 * Takes up to `limit` active endpoints due for delivery and holds them until `now + leaseMs`
 * under a fresh `leaseToken`: an endpoint another worker holds (its lease not yet past, or
 * locked by its claim right now) is skipped, so each endpoint is in one worker's hands at a time
 * and its messages go out in order. `skip`: endpoints the worker has already seen in this run.
 */
export async function claimDueEndpoints(
  db: Kysely<Database>,
  now: Date,
  leaseMs: number,
  leaseToken: string,
  limit: number,
  skip: readonly number[] = [],
): Promise<EndpointRow[]> {
  const leaseEnd = new Date(now.getTime() + leaseMs);
  const { rows } = await sql<EndpointRow>`
    update webhook_endpoints set locked_until = ${leaseEnd}, lease_token = ${leaseToken}
    where id in (
      select id from webhook_endpoints
      where active and next_attempt_at <= ${now} and (locked_until is null or locked_until <= ${now})
        ${skip.length > 0 ? sql`and id not in (${sql.join(skip)})` : sql``}
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked
    )
    returning ${sql.join(ENDPOINT_COLUMNS.map((column) => sql.ref(column)))}`.execute(db);
  return rows;
}

/** Lets go of an endpoint this worker holds; false when its lease had passed to another. */
export async function releaseEndpoint(db: Kysely<Database>, id: number, leaseToken: string): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set({ locked_until: null, lease_token: null })
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Moves the cursors past what was delivered (or what the endpoint does not want), while the lease holds. */
export async function advanceCursor(
  db: Kysely<Database>,
  id: number,
  leaseToken: string,
  cursor: { change?: number; audit?: { tx: number; id: number } },
): Promise<boolean> {
  const set: Record<string, unknown> = { attempts: 0, failing_since: null };
  if (cursor.change !== undefined) set.change_cursor = cursor.change;
  if (cursor.audit !== undefined) Object.assign(set, { audit_cursor_tx: cursor.audit.tx, audit_cursor_id: cursor.audit.id });
  const result = await db.updateTable('webhook_endpoints').set(set).where('id', '=', id).where('lease_token', '=', leaseToken).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A failed attempt: the next one at `nextAttemptAt`, or the endpoint disabled for good. */
export async function recordFailure(
  db: Kysely<Database>,
  id: number,
  leaseToken: string,
  failure: { nextAttemptAt: Date; failingSince: Date; disable: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      failing_since: failure.failingSince,
      next_attempt_at: failure.nextAttemptAt,
      ...(failure.disable === null ? {} : { active: false, disabled_reason: failure.disable }),
    }))
    .where('id', '=', id)
    .where('lease_token', '=', leaseToken)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export interface PendingChange {
  id: number;
  project_id: number;
  kind: string;
  entity_id: number | null;
  actor_id: number | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

/**
 * The first change after `afterId` of one of `kinds` (in one project, or in any), and the
 * newest id in the log when it looked: with no such change, the endpoint is done up to that id
 * (ids follow commit order, so nothing can appear below it later).
 */
export async function nextChange(
  db: Kysely<Database>,
  afterId: number,
  kinds: readonly string[],
  projectId: EndpointOwner,
): Promise<{ change: PendingChange | undefined; newest: number }> {
  const { rows } = await sql<{ newest: number | string | null }>`select max(id) as newest from change_events`.execute(db);
  const newest = Number(rows[0]?.newest ?? 0);
  if (kinds.length === 0 || newest <= afterId) return { change: undefined, newest: Math.max(newest, afterId) };
  let query = db
    .selectFrom('change_events')
    .select(['id', 'project_id', 'kind', 'entity_id', 'actor_id', 'payload', 'created_at'])
    .where('id', '>', afterId)
    .where('id', '<=', newest)
    .where('project_id', 'is not', null)
    .where('kind', 'in', kinds);
  if (projectId !== null) query = query.where('project_id', '=', projectId);
  const change = (await query.orderBy('id').limit(1).executeTakeFirst()) as PendingChange | undefined;
  return { change, newest };
}

export interface PendingAudit {
  id: number;
  tx: number;
  action: string;
  actor_id: number | null;
  actor_username: string | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  occurred_at: Date;
}

/**
 * The first audit event after the cursor `(tx, id)` of one of `actions`, among those of
 * transactions older than any still running (the horizon): a transaction below it can add no
 * row any more, so reading in (tx, id) order up to it skips nothing. `last` is the key of the
 * newest row below the horizon: with no such event, the endpoint is done up to it.
 */
export async function nextAudit(
  db: Kysely<Database>,
  after: { tx: number; id: number },
  actions: readonly string[],
): Promise<{ audit: PendingAudit | undefined; last: { tx: number; id: number } | undefined }> {
  const { rows: horizonRows } = await sql<{ xmin: string; tx: number | string | null; id: number | string | null }>`
    select h.xmin::text as xmin, l.tx, l.id
    from (select pg_snapshot_xmin(pg_current_snapshot()) as xmin) h
    left join lateral (
      select tx::text::bigint as tx, id from audit_events where tx < h.xmin order by tx desc, id desc limit 1
    ) l on true`.execute(db);
  const horizon = horizonRows[0];
  const last = horizon?.tx === null || horizon?.tx === undefined ? undefined : { tx: Number(horizon.tx), id: Number(horizon.id) };
  if (!horizon || !last || actions.length === 0 || after.tx > last.tx || (after.tx === last.tx && after.id >= last.id)) return { audit: undefined, last };
  const { rows } = await sql<PendingAudit>`
    select id, tx::text::bigint as tx, action, actor_id, actor_username, target_type, target_id, target_label, ip, details, occurred_at
    from audit_events
    where (tx, id) > (${String(after.tx)}::xid8, ${after.id}::bigint) and tx < ${horizon.xmin}::xid8 and action = any(${actions}::text[])
    order by tx, id
    limit 1`.execute(db);
  return { audit: rows[0], last };
}

export interface DeliveryRow {
  id: number;
  endpoint_id: number;
  message_id: string;
  event_type: string;
  body: string;
  attempt: number;
  manual: boolean;
  succeeded: boolean;
  http_status: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  created_at: Date;
}

export async function insertDelivery(db: Kysely<Database>, delivery: Omit<DeliveryRow, 'id' | 'created_at'> & { created_at?: Date }): Promise<DeliveryRow> {
  return await db.insertInto('webhook_deliveries').values(delivery).returningAll().executeTakeFirstOrThrow();
}

/** An endpoint's deliveries, newest first; `beforeId` pages on. */
export async function listDeliveries(db: Kysely<Database>, endpointId: number, limit: number, beforeId?: number): Promise<DeliveryRow[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return await query.orderBy('id', 'desc').limit(limit).execute();
}

export async function findDelivery(db: Kysely<Database>, endpointId: number, id: number): Promise<DeliveryRow | undefined> {
  return await db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId).where('id', '=', id).executeTakeFirst();
}

export async function pruneDeliveries(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db.deleteFrom('webhook_deliveries').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Who hears that an endpoint was disabled: a project's owners, or the administrators (by mail when they have a confirmed address). */
export async function findEndpointKeepers(db: Kysely<Database>, projectId: EndpointOwner) {
  let query = db
    .selectFrom('users as u')
    .leftJoin('notification_preferences as p', 'p.user_id', 'u.id')
    .select(['u.id', 'u.username', 'u.email', 'p.language'])
    .where('u.is_active', '=', true);
  query =
    projectId === null
      ? query.where('u.role', '=', 'admin')
      : query.where((eb) =>
          eb.exists(
            eb
              .selectFrom('project_members as m')
              .select('m.user_id')
              .whereRef('m.user_id', '=', 'u.id')
              .where('m.project_id', '=', projectId)
              .where('m.role', '=', 'owner'),
          ),
        );
  return query.orderBy('u.id').execute();
}
