import type { sessions, UserRole } from '@stm/db';
import type { Settings } from '@stm/validators';

/** Live sessions an account may hold; a sign-in beyond ends the oldest, in its own transaction. */
export const MAX_SESSIONS_PER_USER = 50;

export interface SessionPolicy {
  /** Unused (no request, no refresh) for longer than this, the session is over. */
  idleTimeoutSeconds: number;
  /** Begun longer ago than this, the session is over, however much it is used. */
  maxLifetimeSeconds: number;
}

/**
 * The rules a session lives by, read from the live settings whenever it is checked: a change
 * applies to the sessions already open, in the direction it is made. "Keep me signed in" gives a
 * user the longer rules; an administrator always has the short ones, by the role the account has
 * now, so a promotion shortens the sessions already open.
 */
export function sessionPolicy(settings: Settings, role: UserRole, remember: boolean): SessionPolicy {
  if (remember && role !== 'admin') {
    return {
      idleTimeoutSeconds: settings.rememberedSessionIdleTimeoutSeconds,
      maxLifetimeSeconds: settings.rememberedSessionMaxLifetimeSeconds,
    };
  }
  return { idleTimeoutSeconds: settings.sessionIdleTimeoutSeconds, maxLifetimeSeconds: settings.sessionMaxLifetimeSeconds };
}

/** Why the rules have ended a session at `now` (ms), if they have; its stored end is checked apart. */
export function sessionEndedBy(
  policy: SessionPolicy,
  session: { createdAt: Date; lastUsedAt: Date },
  now: number,
): 'idle_timeout' | 'max_lifetime' | undefined {
  if (now - session.createdAt.getTime() >= policy.maxLifetimeSeconds * 1000) return 'max_lifetime';
  if (now - session.lastUsedAt.getTime() >= policy.idleTimeoutSeconds * 1000) return 'idle_timeout';
  return undefined;
}

/** The same rules as bounds for a query over all of one account's sessions. */
export function liveSessionBounds(settings: Settings, role: UserRole, now: number): sessions.LiveSessionBounds {
  const bound = (policy: SessionPolicy) => ({
    usedAfter: new Date(now - policy.idleTimeoutSeconds * 1000),
    startedAfter: new Date(now - policy.maxLifetimeSeconds * 1000),
  });
  return { standard: bound(sessionPolicy(settings, role, false)), remembered: bound(sessionPolicy(settings, role, true)) };
}
