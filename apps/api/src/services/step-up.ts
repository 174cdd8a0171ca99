import { type Database, factors, type Kysely, type UserRole } from '@stm/db';
import type { Settings } from '@stm/validators';
import { DomainError } from '../errors';

/** How recent a sign-in (or re-authentication) must be for a sensitive change, unless `STEP_UP_MAX_AGE_SECONDS` says otherwise. */
export const STEP_UP_MAX_AGE_SECONDS = 5 * 60;

/**
 * The step-up rule, in one place: the caller proved who they are (password, and their second
 * factor if they have one) within the last five minutes, or is refused with `STEP_UP_REQUIRED`
 * (403) and re-authenticates with `auth.reauthenticate` without losing their session. Procedures
 * ask for it with `.meta({ stepUp: true })`; a rule that applies to only some inputs (an
 * administrator changing a role) calls this from its service.
 */
export function assertRecentSignIn(user: { authenticatedAt: Date; mfaEnabled: boolean }, maxAgeSeconds = STEP_UP_MAX_AGE_SECONDS, now = Date.now()): void {
  if (now - user.authenticatedAt.getTime() <= maxAgeSeconds * 1000) return;
  throw new DomainError('STEP_UP_REQUIRED', 'Confirm it is you: enter your password again to do this', {
    details: { maxAgeSeconds, secondFactor: user.mfaEnabled },
  });
}

export interface EnrolmentState {
  /** A live setting requires this account to have a second factor. */
  required: boolean;
  /** When the grace period ends (null: not required, or a factor is enrolled, or it has not started). */
  graceEndsAt: Date | null;
  /** Past the grace period without a factor: nothing but enrolling one is allowed. */
  mustEnrolNow: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Whether the live policy requires a second factor of the account, and how long it has to
 * enrol one. The grace period runs from the first sign-in under the rule (`graceStartedAt`); an
 * account that has not signed in since is read as starting now.
 */
export function enrolmentState(
  settings: Settings,
  user: { role: UserRole; mfaEnabled: boolean; mfaGraceStartedAt: Date | null },
  now = Date.now(),
): EnrolmentState {
  const forAdmins = user.role === 'admin' && settings.mfaRequiredForAdmins;
  const required = forAdmins || settings.mfaRequiredForEveryone;
  if (!required || user.mfaEnabled) return { required, graceEndsAt: null, mustEnrolNow: false };
  // The shorter grace where both rules apply.
  const graceDays = Math.min(
    forAdmins ? settings.mfaAdminGraceDays : Number.POSITIVE_INFINITY,
    settings.mfaRequiredForEveryone ? settings.mfaEveryoneGraceDays : Number.POSITIVE_INFINITY,
  );
  const started = user.mfaGraceStartedAt?.getTime() ?? now;
  const graceEndsAt = new Date(started + graceDays * DAY_MS);
  return { required, graceEndsAt, mustEnrolNow: graceEndsAt.getTime() <= now };
}

/**
 * Starts the account's grace period when the live policy requires a second factor it has not
 * enrolled and none has started: at a sign-in, or at the use of one of its API tokens.
 */
export async function startGraceIfRequired(
  db: Kysely<Database>,
  settings: Settings,
  user: { id: number; role: UserRole; mfa_enabled: boolean; mfa_grace_started_at: Date | null },
): Promise<void> {
  if (user.mfa_enabled || user.mfa_grace_started_at !== null) return;
  if (enrolmentState(settings, { role: user.role, mfaEnabled: false, mfaGraceStartedAt: null }).required) await factors.startMfaGrace(db, user.id);
}
