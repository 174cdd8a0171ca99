import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

export interface NewAuditEvent {
  action: string;
  actorId: number | null;
  actorUsername: string | null;
  targetType?: string | null;
  targetId?: string | null;
  targetLabel?: string | null;
  ip: string | null;
  userAgent: string | null;
  details?: Record<string, unknown>;
}

export async function insertAuditEvent(db: Kysely<Database>, event: NewAuditEvent) {
  await db
    .insertInto('audit_events')
    .values({
      action: event.action,
      actor_id: event.actorId,
      actor_username: event.actorUsername,
      target_type: event.targetType ?? null,
      target_id: event.targetId ?? null,
      target_label: event.targetLabel ?? null,
      ip: event.ip,
      user_agent: event.userAgent,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}

export interface AuditFilter {
  actorId?: number | undefined;
  /** The actor's username at the time, any case. */
  actorUsername?: string | undefined;
  action?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Keyset pagination: events older than this one (time as written by `occurredAtKey`). */
  before?: { occurredAtKey: string; id: number } | undefined;
  limit: number;
}

/**
 * The event time at full (microsecond) precision, in UTC. A JavaScript Date keeps only
 * milliseconds, so a cursor made from one would skip or repeat events within the same
 * millisecond; this text reads back as exactly the stored instant.
 */
const occurredAtKey = sql<string>`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Newest first, one page. */
export async function listAuditEvents(db: Kysely<Database>, filter: AuditFilter) {
  let query = db
    .selectFrom('audit_events')
    .select([
      'id',
      'occurred_at',
      occurredAtKey.as('occurred_at_key'),
      'action',
      'actor_id',
      'actor_username',
      'target_type',
      'target_id',
      'target_label',
      'ip',
      'user_agent',
      'details',
    ])
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.actorId !== undefined) query = query.where('actor_id', '=', filter.actorId);
  if (filter.actorUsername !== undefined) {
    query = query.where(sql<string>`lower(actor_username)`, '=', filter.actorUsername.toLowerCase());
  }
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.from !== undefined) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('occurred_at', '<=', filter.to);
  if (filter.before !== undefined) {
    const { occurredAtKey: at, id } = filter.before;
    query = query.where(sql<boolean>`(occurred_at, id) < (${at}::timestamptz, ${id})`);
  }
  return query.execute();
}
