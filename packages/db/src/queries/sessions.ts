import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

export interface NewSession {
  id: string;
  userId: number;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  remember: boolean;
}

/**
 * What a session must have been, past the absolute end it was given, to be live now: used after
 * `usedAfter` and begun after `startedAfter`, by the rules of a remembered session or of any other.
 */
export interface LiveSessionBounds {
  standard: { usedAfter: Date; startedAfter: Date };
  remembered: { usedAfter: Date; startedAfter: Date };
}

function isLive(eb: ExpressionBuilder<Database, 'sessions'>, bounds: LiveSessionBounds) {
  const within = (remember: boolean, bound: { usedAfter: Date; startedAfter: Date }) =>
    eb.and([eb('sessions.remember', '=', remember), eb('sessions.last_used_at', '>', bound.usedAfter), eb('sessions.created_at', '>', bound.startedAfter)]);
  return eb.and([
    eb('sessions.revoked_at', 'is', null),
    eb('sessions.expires_at', '>', sql<Date>`now()`),
    eb.or([within(false, bounds.standard), within(true, bounds.remembered)]),
  ]);
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
      remember: session.remember,
    })
    .execute();
}

export async function insertRefreshToken(db: Kysely<Database>, token: { tokenHash: string; sessionId: string; expiresAt: Date }) {
  await db.insertInto('refresh_tokens').values({ token_hash: token.tokenHash, session_id: token.sessionId, expires_at: token.expiresAt }).execute();
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
      's.created_at as session_created_at',
      's.last_used_at as session_last_used_at',
      's.remember',
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
export async function revokeSession(db: Kysely<Database>, where: { sessionId: string; userId?: number }, reason: string): Promise<boolean> {
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
export async function revokeUserSessions(db: Kysely<Database>, userId: number, reason: string, except?: string): Promise<number> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (except !== undefined) query = query.where('id', '<>', except);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * When a session began at full (microsecond) precision, in UTC: a Date keeps milliseconds only,
 * and a cursor made from one would skip or repeat sessions begun within the same millisecond.
 */
const createdAtKey = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * One page of the user's sessions that can still be used, newest sign-in first: by when they
 * began, which never changes, so a session in use between two pages neither moves nor repeats.
 */
export async function listLiveSessions(
  db: Kysely<Database>,
  userId: number,
  page: { bounds: LiveSessionBounds; before?: { createdAtKey: string; id: string } | undefined; limit: number },
) {
  let query = db
    .selectFrom('sessions')
    .select(['id', 'created_at', createdAtKey.as('created_at_key'), 'last_used_at', 'expires_at', 'user_agent', 'ip', 'remember'])
    .where('user_id', '=', userId)
    .where((eb) => isLive(eb, page.bounds));
  if (page.before !== undefined) {
    const { createdAtKey: at, id } = page.before;
    query = query.where(sql<boolean>`(created_at, id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
}

/**
 * Ends the user's oldest live sessions beyond the newest `keep` (`keepId` always among them);
 * returns the ids ended. Sessions already dead by their idle or lifetime rules take no place.
 */
export async function revokeSessionsBeyond(
  db: Kysely<Database>,
  userId: number,
  limit: { keep: number; keepId: string; bounds: LiveSessionBounds },
  reason: string,
): Promise<string[]> {
  const rows = await db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where('id', '<>', limit.keepId)
        .where((inner) => isLive(inner, limit.bounds))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(limit.keep - 1),
    )
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
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
