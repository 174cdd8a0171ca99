import { audit, type Database, type Kysely } from '@stm/db';

/** Who did something and from where; copied into the record by value. */
export interface Actor {
  id: number | null;
  username: string | null;
}

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

export type AuditAction =
  | 'auth.registered'
  | 'auth.login_succeeded'
  | 'auth.login_failed'
  | 'auth.login_locked'
  | 'auth.logged_out'
  | 'auth.logged_out_everywhere'
  | 'auth.session_revoked'
  | 'auth.refresh_token_reused'
  | 'auth.password_changed'
  | 'auth.password_change_failed'
  | 'auth.password_reset'
  | 'user.created'
  | 'user.role_changed'
  | 'user.activated'
  | 'user.deactivated'
  | 'user.deleted'
  | 'user.reset_link_created'
  | 'settings.updated'
  | 'key.created'
  | 'key.rotated'
  | 'key.revoked';

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
