import { audit, type Database, type Kysely, type UserRole } from '@stm/db';
import type { AuditAction } from '@stm/validators';

/** Who did something and from where; copied into the record by value. */
export interface Actor {
  id: number | null;
  username: string | null;
}

/** Someone allowed to administer accounts: a signed-in admin, or the operator at the CLI. */
export interface AdminActor extends Actor {
  role: UserRole;
  /** When a signed-in administrator last proved who they are; the operator at the CLI has no session. */
  authenticatedAt?: Date;
  mfaEnabled?: boolean;
}

/**
 * The operator running the CLI on the server: no account, full rights, audited as "cli". Here,
 * not with the account rules, so the CLI names it without loading every service at start.
 */
export const OPERATOR_ACTOR: AdminActor = { id: null, username: 'cli', role: 'admin' };

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

export interface AuditEvent {
  action: AuditAction;
  actor: Actor;
  client: ClientInfo | null;
  target?: { type: string; id: string | number; label?: string | null };
  details?: Record<string, unknown>;
}

const SECRET_KEY_PATTERN =
  /^(password|new_?password|current_?password|password_?hash|token|access_?token|refresh_?token|reset_?token|secret|secret_?key|private_?key|cookie|authorization)$/i;

/** Drops anything that looks like a credential, however deep, before it is stored. */
function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (!SECRET_KEY_PATTERN.test(key)) out[key] = withoutSecrets(inner);
    }
    return out;
  }
  return value;
}

/**
 * Records security events. Callers pass their transaction so the event is written with the
 * change it describes, or not at all.
 */
export async function recordAudit(db: Kysely<Database>, event: AuditEvent): Promise<void> {
  await audit.insertAuditEvent(db, {
    action: event.action,
    actorId: event.actor.id,
    actorUsername: event.actor.username,
    targetType: event.target?.type ?? null,
    targetId: event.target ? String(event.target.id) : null,
    targetLabel: event.target?.label ?? null,
    ip: event.client?.ip ?? null,
    userAgent: event.client?.userAgent?.slice(0, 500) ?? null,
    details: withoutSecrets(event.details ?? {}) as Record<string, unknown>,
  });
}

export const SYSTEM_ACTOR: Actor = { id: null, username: 'system' };
