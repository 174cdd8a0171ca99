import type { Kysely } from 'kysely';
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
