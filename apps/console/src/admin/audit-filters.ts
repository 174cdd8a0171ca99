import { AUDIT_ACTIONS, AUDIT_ACTOR_MAX, type AuditAction } from '@stm/validators';
import { isoToLocalInput, localInputToIso } from '../tasks/dates';
import { searchText } from '../lib/url-filters';

/**
 * The audit log's narrowing, as it lives in the address bar. The time range is in the reader's
 * own time zone to the minute (what `datetime-local` inputs hold), both ends included.
 */
export interface AuditFilters {
  /** Username of whoever acted ('' for anyone); "system" and "cli" are actors too. */
  actor: string;
  action: AuditAction | null;
  /** `YYYY-MM-DDTHH:mm`, local time. */
  from: string | null;
  to: string | null;
}

export const DEFAULT_AUDIT_FILTERS: AuditFilters = { actor: '', action: null, from: null, to: null };

export const AUDIT_PAGE_SIZE = 50;

const MINUTE_MS = 60_000;

/** A well-formed local minute, written back the way the input writes it; null otherwise. */
function localMinute(value: string | null): string | null {
  if (!value) return null;
  const iso = localInputToIso(value);
  if (iso === null || iso === value.trim()) return null;
  return isoToLocalInput(iso);
}

export function parseAuditFilters(search: string): AuditFilters {
  const params = new URLSearchParams(search);
  const action = params.get('action');
  return {
    actor: searchText(params, 'actor', AUDIT_ACTOR_MAX),
    action: (AUDIT_ACTIONS as readonly string[]).includes(action ?? '') ? (action as AuditAction) : null,
    from: localMinute(params.get('from')),
    to: localMinute(params.get('to')),
  };
}

export function auditFiltersToSearch(filters: AuditFilters): string {
  const params = new URLSearchParams();
  if (filters.actor.trim()) params.set('actor', filters.actor.trim());
  if (filters.action) params.set('action', filters.action);
  if (filters.from) params.set('from', filters.from);
  if (filters.to) params.set('to', filters.to);
  return params.toString();
}

export function hasAuditFilters(filters: AuditFilters): boolean {
  return filters.actor.trim() !== '' || filters.action !== null || filters.from !== null || filters.to !== null;
}

export type AuditListFilterInput = {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
};

/**
 * `admin.audit.list` input (cursor and limit aside). The last minute of the range counts whole:
 * "until 10:15" takes in what happened at 10:15:42.
 */
export function auditFiltersToListInput(filters: AuditFilters): AuditListFilterInput {
  const actor = filters.actor.trim();
  const from = filters.from ? localInputToIso(filters.from) : null;
  const toStart = filters.to ? localInputToIso(filters.to) : null;
  return {
    ...(actor ? { actor } : {}),
    ...(filters.action ? { action: filters.action } : {}),
    ...(from ? { from } : {}),
    ...(toStart ? { to: new Date(Date.parse(toStart) + MINUTE_MS - 1).toISOString() } : {}),
  };
}
