import { audit, type Database, type Kysely } from '@stm/db';
import { z } from 'zod';
import { decodeCursor, type Page, pageOf } from './cursor';
import type { AdminActor } from './audit';
import { authorize } from './users';

export interface AuditQuery {
  actorId?: number | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface AuditEntry {
  id: number;
  occurredAt: Date;
  action: string;
  actorId: number | null;
  actorUsername: string | null;
  targetType: string | null;
  targetId: string | null;
  targetLabel: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

const auditCursor = z.object({ at: z.iso.datetime(), id: z.number().int().positive() });

/** Reading the audit log: administrators only, newest first, one page at a time. */
export async function listAuditEntries(db: Kysely<Database>, actor: AdminActor, query: AuditQuery): Promise<Page<AuditEntry>> {
  authorize(actor);
  const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, auditCursor);
  const rows = await audit.listAuditEvents(db, {
    actorId: query.actorId,
    actorUsername: query.actor,
    action: query.action,
    from: query.from,
    to: query.to,
    before: before && { occurredAtKey: before.at, id: before.id },
    limit: query.limit + 1,
  });
  return pageOf(
    rows,
    query.limit,
    (row) => ({
      id: row.id,
      occurredAt: row.occurred_at,
      action: row.action,
      actorId: row.actor_id,
      actorUsername: row.actor_username,
      targetType: row.target_type,
      targetId: row.target_id,
      targetLabel: row.target_label,
      ip: row.ip,
      userAgent: row.user_agent,
      details: row.details,
    }),
    (last) => ({ at: last.occurred_at_key, id: last.id }),
  );
}
