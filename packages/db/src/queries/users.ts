import { type Kysely, sql } from 'kysely';
import { prepareQuery } from '../prepared';
import type { Database, NewUserRow, UserRole } from '../schema';

/** The columns of a user that may leave the database layer; the password hash is not one of them. */
export const userColumns = ['id', 'username', 'role', 'is_active', 'created_at', 'updated_at'] as const;

export async function findUserById(db: Kysely<Database>, id: number) {
  return db.selectFrom('users').select(userColumns).where('id', '=', id).executeTakeFirst();
}

/** Case-insensitive, with the password hash: for verifying a sign-in. */
export async function findUserCredentialsByUsername(db: Kysely<Database>, username: string) {
  return db
    .selectFrom('users')
    .select([...userColumns, 'password_hash'])
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
}

export async function findUserCredentialsById(db: Kysely<Database>, id: number) {
  return db
    .selectFrom('users')
    .select([...userColumns, 'password_hash'])
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

export async function countActiveAdmins(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('role', '=', 'admin' satisfies UserRole)
    .where('is_active', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

const selectAuthenticatedUser = prepareQuery((db, claims: { userId: number; sessionId: string; kid: string }) =>
  db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['u.id', 'u.username', 'u.role', 'u.is_active', 'u.created_at', 'u.updated_at', 's.last_used_at'])
    .where('s.id', '=', claims.sessionId)
    .where('s.user_id', '=', claims.userId)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('u.is_active', '=', true)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('signing_keys as k')
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
export async function findAuthenticatedUser(
  db: Kysely<Database>,
  claims: { userId: number; sessionId: string; kid: string },
) {
  const rows = await selectAuthenticatedUser(db, claims);
  return rows[0];
}
