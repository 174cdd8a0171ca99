import { z } from 'zod';
import { cursorSchema, idSchema, isoDateTime, limitSchema, NUL_MESSAGE, noNul } from './common';

/** Every security event the API records, by its stable name. */
export const AUDIT_ACTIONS = [
  'auth.registered',
  'auth.login_succeeded',
  'auth.login_failed',
  'auth.login_locked',
  'auth.login_throttled',
  'auth.logged_out',
  'auth.logged_out_everywhere',
  'auth.logged_out_others',
  'auth.session_revoked',
  'auth.refresh_token_reused',
  'auth.password_changed',
  'auth.password_change_failed',
  'auth.password_reset',
  'auth.mfa_challenged',
  'auth.mfa_failed',
  'auth.reauthenticated',
  'auth.password_reset_requested',
  'account.email_change_requested',
  'account.email_verified',
  'account.email_removed',
  'mfa.totp_enabled',
  'mfa.totp_disabled',
  'mfa.recovery_codes_generated',
  'mfa.recovery_code_used',
  'mfa.passkey_added',
  'mfa.passkey_renamed',
  'mfa.passkey_removed',
  'mfa.factors_reset',
  'user.created',
  'user.role_changed',
  'user.activated',
  'user.deactivated',
  'user.deleted',
  'user.reset_link_created',
  'settings.updated',
  'key.created',
  'key.rotated',
  'key.revoked',
  'project.member_added',
  'project.member_role_changed',
  'project.member_removed',
  'project.member_left',
  'project.ownership_transferred',
  'project.archived',
  'project.unarchived',
  'project.deleted',
  'project.administered',
  'api_token.created',
  'api_token.revoked',
  'service_account.created',
  'service_account.disabled',
  'service_account.enabled',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.secret_rotated',
  'webhook.disabled',
  'webhook.redelivered',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_ACTOR_MAX = 64;

/**
 * Reading the audit log. `action` takes any well-formed name, not only today's list, so events
 * recorded by an older or newer version can still be found.
 */
export const auditListInput = z
  .object({
    actorId: idSchema.optional(),
    actor: z.string().min(1).max(AUDIT_ACTOR_MAX).refine(noNul, NUL_MESSAGE).optional().describe('Username of the actor, any case'),
    action: z
      .string()
      .max(64)
      .regex(/^[a-z_]+\.[a-z_]+$/, 'An action looks like "auth.login_failed"')
      .optional(),
    from: isoDateTime.optional().describe('Events at or after this instant'),
    to: isoDateTime.optional().describe('Events at or before this instant'),
    limit: limitSchema,
    cursor: cursorSchema.optional(),
  })
  .refine((input) => !input.from || !input.to || Date.parse(input.from) <= Date.parse(input.to), {
    message: '"from" must not be after "to"',
    path: ['from'],
  });
export type AuditListInput = z.input<typeof auditListInput>;
