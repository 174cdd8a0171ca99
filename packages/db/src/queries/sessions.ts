import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

export interface NewSession {
  id: string;
  userId: number;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

export async function insertSession(db: Kysely<Database>, session: NewSession) {
  await db
    .insertInto('sessions')
    .values({
      id: session.id,
      user_id: session.userId,
      expires_at: session.expiresAt,
      user_agent: session.userAgent,
      ip: session.ip,
    })
    .execute();
}

export async function insertRefreshToken(
  db: Kysely<Database>,
  token: { tokenHash: string; sessionId: string; expiresAt: Date },
) {
  await db
    .insertInto('refresh_tokens')
    .values({ token_hash: token.tokenHash, session_id: token.sessionId, expires_at: token.expiresAt })
    .execute();
}

/**
 * The refresh token and its session, locked until the transaction ends so two concurrent
 * exchanges of the same token are decided one after the other.
 */
export async function lockRefreshToken(db: Kysely<Database>, tokenHash: string) {
  return db
    .selectFrom('refresh_tokens as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      'r.token_hash',
      'r.expires_at as token_expires_at',
      'r.rotated_at',
      's.id as session_id',
      's.user_id',
      's.expires_at as session_expires_at',
      's.revoked_at',
      'u.username',
      'u.role',
      'u.is_active',
    ])
    .where('r.token_hash', '=', tokenHash)
    .forUpdate('r')
    .executeTakeFirst();
}

export async function markRefreshTokenRotated(db: Kysely<Database>, tokenHash: string) {
  await db
    .updateTable('refresh_tokens')
    .set({ rotated_at: sql<Date>`now()` })
    .where('token_hash', '=', tokenHash)
    .execute();
}

export async function touchSession(db: Kysely<Database>, sessionId: string, seen: { ip: string | null; userAgent: string | null }) {
  await db
    .updateTable('sessions')
    .set({ last_used_at: sql<Date>`now()`, ip: seen.ip, user_agent: seen.userAgent })
    .where('id', '=', sessionId)
    .execute();
}

/** Revokes one live session; returns whether one was revoked. */
export async function revokeSession(
  db: Kysely<Database>,
  where: { sessionId: string; userId?: number },
  reason: string,
): Promise<boolean> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
    .where('id', '=', where.sessionId)
    .where('revoked_at', 'is', null);
  if (where.userId !== undefined) query = query.where('user_id', '=', where.userId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every live session of a user, but the one named in `except`; returns how many. */
export async function revokeUserSessions(
  db: Kysely<Database>,
  userId: number,
  reason: string,
  except?: string,
): Promise<number> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (except !== undefined) query = query.where('id', '<>', except);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The user's sessions that can still be used, newest first. */
export async function listLiveSessions(db: Kysely<Database>, userId: number) {
  return db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'ip'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('last_used_at', 'desc')
    .orderBy('id')
    .execute();
}

/** Housekeeping: sessions and tokens past any use. */
export async function deleteExpiredSessions(db: Kysely<Database>, olderThan: Date): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<', olderThan), eb('revoked_at', '<', olderThan)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Whether the account (by its lower-cased username) has a session that was opened or used from
 * this address: live ones, and ended ones until housekeeping removes them.
 */
export async function accountHasSessionFromAddress(db: Kysely<Database>, account: string, ip: string): Promise<boolean> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(sql<number>`1`.as('found'))
    .where(sql<string>`lower(u.username)`, '=', account)
    .where('s.ip', '=', ip)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
