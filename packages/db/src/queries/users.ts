import { type Kysely, sql } from 'kysely';
import { prepareQuery } from '../fastpath/prepared';
import type { Database, NewUserRow, UserRole } from '../schema';

/** The columns of a user that may leave the database layer; the password hash is not one of them. */
export const userColumns = ['id', 'username', 'role', 'is_active', 'created_at', 'updated_at'] as const;

/** With the account's email addresses, which an administrator may see. */
export const adminUserColumns = [...userColumns, 'email', 'email_verified_at', 'pending_email', 'kind'] as const;

export async function findUserById(db: Kysely<Database>, id: number) {
  return db.selectFrom('users').select(adminUserColumns).where('id', '=', id).executeTakeFirst();
}

/** Case-insensitive, with the password hash: for verifying a sign-in. */
export async function findUserCredentialsByUsername(db: Kysely<Database>, username: string) {
  return db
    .selectFrom('users')
    .select([...userColumns, 'password_hash', 'kind', 'mfa_enabled', 'mfa_grace_started_at'])
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
}

export async function findUserCredentialsById(db: Kysely<Database>, id: number) {
  return db
    .selectFrom('users')
    .select([...userColumns, 'password_hash', 'mfa_enabled', 'mfa_grace_started_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function usernameExists(db: Kysely<Database>, username: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
  return row !== undefined;
}

/** Throws the database's unique violation when the name is taken, whatever its case. */
export async function insertUser(db: Kysely<Database>, user: NewUserRow) {
  return db.insertInto('users').values(user).returning(userColumns).executeTakeFirstOrThrow();
}

export async function updateUserPasswordHash(db: Kysely<Database>, id: number, passwordHash: string) {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .execute();
}

/**
 * Replaces the hash only while it is still `previousHash`: an upgrade of the bcrypt cost made
 * after a sign-in must not undo a password change that landed meanwhile.
 */
export async function upgradeUserPasswordHash(db: Kysely<Database>, id: number, previousHash: string, passwordHash: string) {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).where('password_hash', '=', previousHash).execute();
}

/**
 * The credentials a sign-in was checked against, read again and share-locked until the sign-in's
 * transaction ends: a password change, reset or deactivation (which update the row, then end the
 * user's sessions) either lands before, and the sign-in sees it, or waits and then ends the new
 * session with the others.
 */
export async function lockUserCredentialsForSignIn(db: Kysely<Database>, id: number) {
  return db.selectFrom('users').select(['password_hash', 'is_active']).where('id', '=', id).forShare().executeTakeFirst();
}

export interface UserListFilter {
  /** Part of the username, any case. */
  search?: string | undefined;
  role?: UserRole | undefined;
  isActive?: boolean | undefined;
  /** Keyset pagination: only users with a larger id. */
  afterId?: number | undefined;
  limit: number;
}

/** Users in id order, one page; `strpos` rather than LIKE so `_` and `.` in a search mean themselves. */
export async function listUsers(db: Kysely<Database>, filter: UserListFilter) {
  let query = db.selectFrom('users').select(adminUserColumns).orderBy('id').limit(filter.limit);
  if (filter.search) query = query.where(sql<number>`strpos(lower(username), ${filter.search.toLowerCase()})`, '>', 0);
  if (filter.role) query = query.where('role', '=', filter.role);
  if (filter.isActive !== undefined) query = query.where('is_active', '=', filter.isActive);
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId);
  return query.execute();
}

/** The user, locked until the transaction ends, so concurrent changes to it are decided in turn. */
export async function lockUserById(db: Kysely<Database>, id: number) {
  return db.selectFrom('users').select(userColumns).where('id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * Ids of the active administrators, every one of them locked. Two transactions that each remove
 * a different admin both need all these locks, so the second waits for the first, re-reads the
 * rows and counts what the first left: the last admin cannot be removed by a race.
 */
export async function lockActiveAdminIds(db: Kysely<Database>): Promise<number[]> {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin' satisfies UserRole)
    .where('is_active', '=', true)
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.map((row) => row.id);
}

export async function updateUserAccess(db: Kysely<Database>, id: number, change: { role?: UserRole; isActive?: boolean }) {
  return db
    .updateTable('users')
    .set({
      ...(change.role === undefined ? {} : { role: change.role }),
      ...(change.isActive === undefined ? {} : { is_active: change.isActive }),
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .returning(userColumns)
    .executeTakeFirstOrThrow();
}

/** Deletes the user; their sessions, tokens and owned rows go with it (foreign keys cascade). */
export async function deleteUser(db: Kysely<Database>, id: number): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function countActiveAdmins(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('role', '=', 'admin' satisfies UserRole)
    .where('is_active', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

const selectAuthenticatedUser = prepareQuery((db, claims: { userId: number; sessionId: string; kid: string }) =>
  db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      'u.id',
      'u.username',
      'u.role',
      'u.is_active',
      'u.created_at',
      'u.updated_at',
      's.last_used_at',
      's.created_at as session_created_at',
      's.remember',
      'u.mfa_enabled',
      'u.mfa_grace_started_at',
      sql<Date>`coalesce(s.authenticated_at, s.created_at)`.as('authenticated_at'),
    ])
    .where('s.id', '=', claims.sessionId)
    .where('s.user_id', '=', claims.userId)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('u.is_active', '=', true)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('signing_keys as k')
          .select(sql`1`.as('one'))
          .where('k.kid', '=', claims.kid)
          .where('k.revoked_at', 'is', null),
      ),
    ),
);

/**
 * Everything a protected request needs in one round trip: the user, if the session is live,
 * the account active, and the key that signed the token not revoked. Any of those failing
 * returns nothing, so revocation takes effect on the very next request of every instance.
 * Prepared once: this runs on every authenticated request.
 */
export async function findAuthenticatedUser(db: Kysely<Database>, claims: { userId: number; sessionId: string; kid: string }) {
  const rows = await selectAuthenticatedUser(db, claims);
  return rows[0];
}
