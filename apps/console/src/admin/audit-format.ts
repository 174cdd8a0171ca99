import type { AuditAction } from '@stm/validators';
import type { MessageKey } from '../i18n';

/** What each action is called on screen; an action this console does not know is shown by its name. */
export const AUDIT_ACTION_LABELS: Record<AuditAction, MessageKey> = {
  'auth.registered': 'audit.action.auth.registered',
  'auth.login_succeeded': 'audit.action.auth.login_succeeded',
  'auth.login_failed': 'audit.action.auth.login_failed',
  'auth.login_locked': 'audit.action.auth.login_locked',
  'auth.login_throttled': 'audit.action.auth.login_throttled',
  'auth.logged_out': 'audit.action.auth.logged_out',
  'auth.logged_out_everywhere': 'audit.action.auth.logged_out_everywhere',
  'auth.logged_out_others': 'audit.action.auth.logged_out_others',
  'auth.session_revoked': 'audit.action.auth.session_revoked',
  'auth.refresh_token_reused': 'audit.action.auth.refresh_token_reused',
  'auth.password_changed': 'audit.action.auth.password_changed',
  'auth.password_change_failed': 'audit.action.auth.password_change_failed',
  'auth.password_reset': 'audit.action.auth.password_reset',
  'auth.password_reset_requested': 'audit.action.auth.password_reset_requested',
  'account.email_change_requested': 'audit.action.account.email_change_requested',
  'account.email_verified': 'audit.action.account.email_verified',
  'account.email_removed': 'audit.action.account.email_removed',
  'user.created': 'audit.action.user.created',
  'user.role_changed': 'audit.action.user.role_changed',
  'user.activated': 'audit.action.user.activated',
  'user.deactivated': 'audit.action.user.deactivated',
  'user.deleted': 'audit.action.user.deleted',
  'user.reset_link_created': 'audit.action.user.reset_link_created',
  'settings.updated': 'audit.action.settings.updated',
  'key.created': 'audit.action.key.created',
  'key.rotated': 'audit.action.key.rotated',
  'key.revoked': 'audit.action.key.revoked',
  'project.member_added': 'audit.action.project.member_added',
  'project.member_role_changed': 'audit.action.project.member_role_changed',
  'project.member_removed': 'audit.action.project.member_removed',
  'project.member_left': 'audit.action.project.member_left',
  'project.ownership_transferred': 'audit.action.project.ownership_transferred',
  'project.archived': 'audit.action.project.archived',
  'project.unarchived': 'audit.action.project.unarchived',
  'project.deleted': 'audit.action.project.deleted',
  'project.administered': 'audit.action.project.administered',
  'api_token.created': 'audit.action.api_token.created',
  'api_token.revoked': 'audit.action.api_token.revoked',
  'service_account.created': 'audit.action.service_account.created',
  'service_account.disabled': 'audit.action.service_account.disabled',
  'service_account.enabled': 'audit.action.service_account.enabled',
  'webhook.created': 'audit.action.webhook.created',
  'webhook.updated': 'audit.action.webhook.updated',
  'webhook.deleted': 'audit.action.webhook.deleted',
  'webhook.secret_rotated': 'audit.action.webhook.secret_rotated',
  'webhook.disabled': 'audit.action.webhook.disabled',
  'webhook.redelivered': 'audit.action.webhook.redelivered',
  'auth.mfa_challenged': 'audit.action.auth.mfa_challenged',
  'auth.mfa_failed': 'audit.action.auth.mfa_failed',
  'auth.reauthenticated': 'audit.action.auth.reauthenticated',
  'mfa.totp_enabled': 'audit.action.mfa.totp_enabled',
  'mfa.totp_disabled': 'audit.action.mfa.totp_disabled',
  'mfa.recovery_codes_generated': 'audit.action.mfa.recovery_codes_generated',
  'mfa.recovery_code_used': 'audit.action.mfa.recovery_code_used',
  'mfa.passkey_added': 'audit.action.mfa.passkey_added',
  'mfa.passkey_renamed': 'audit.action.mfa.passkey_renamed',
  'mfa.passkey_removed': 'audit.action.mfa.passkey_removed',
  'mfa.factors_reset': 'audit.action.mfa.factors_reset',
};

/** The filter's groups, by the part of the name before the dot. */
export const AUDIT_ACTION_GROUPS: { prefix: string; label: MessageKey }[] = [
  { prefix: 'auth.', label: 'audit.group.auth' },
  { prefix: 'user.', label: 'audit.group.user' },
  { prefix: 'settings.', label: 'audit.group.settings' },
  { prefix: 'key.', label: 'audit.group.key' },
  { prefix: 'project.', label: 'audit.group.project' },
  { prefix: 'api_token.', label: 'audit.group.api_token' },
  { prefix: 'service_account.', label: 'audit.group.service_account' },
  { prefix: 'mfa.', label: 'audit.group.mfa' },
  { prefix: 'account.', label: 'audit.group.account' },
  { prefix: 'webhook.', label: 'audit.group.webhook' },
];

export const AUDIT_TARGET_LABELS: Record<string, MessageKey> = {
  user: 'audit.target.user',
  session: 'audit.target.session',
  settings: 'audit.target.settings',
  project: 'audit.target.project',
  signing_key: 'audit.target.signing_key',
  api_token: 'audit.target.api_token',
};

export function auditActionLabel(action: string): MessageKey | undefined {
  return Object.hasOwn(AUDIT_ACTION_LABELS, action) ? AUDIT_ACTION_LABELS[action as AuditAction] : undefined;
}

export interface DetailLine {
  /** null for a bare "old → new" whose action already says what changed (a role). */
  key: string | null;
  value: string;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function formatValue(value: unknown, formatInstant: (iso: string) => string): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return ISO_INSTANT.test(value) ? formatInstant(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((item) => formatValue(item, formatInstant)).join(', ');
  return JSON.stringify(value);
}

/**
 * An event's details as short lines. A before/after pair (settings changes, role changes) reads
 * "name: old → new" per field; instants are shown in the reader's locale; everything else as it
 * was recorded. Keys stay as the API names them: they are data, the same in every language.
 */
export function auditDetailLines(details: Record<string, unknown>, formatInstant: (iso: string) => string): DetailLine[] {
  const { before, after, ...rest } = details;
  const lines: DetailLine[] = [];
  const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isRecord(before) && isRecord(after)) {
    // The pairs below name the changed fields themselves.
    delete rest.changed;
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      lines.push({ key, value: `${formatValue(before[key], formatInstant)} → ${formatValue(after[key], formatInstant)}` });
    }
  } else if (before !== undefined || after !== undefined) {
    lines.push({ key: null, value: `${formatValue(before, formatInstant)} → ${formatValue(after, formatInstant)}` });
  }
  for (const [key, value] of Object.entries(rest)) lines.push({ key, value: formatValue(value, formatInstant) });
  return lines;
}
