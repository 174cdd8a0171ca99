import { type Kysely, sql } from 'kysely';
import { prepareQuery } from '../fastpath/prepared';
import type { Database } from '../schema';

const tokenColumns = ['id', 'user_id', 'name', 'hint', 'scopes', 'created_at', 'expires_at', 'last_used_at', 'last_used_ip', 'revoked_at'] as const;

export async function insertApiToken(
  db: Kysely<Database>,
  token: { id: string; userId: number; name: string; tokenHash: string; hint: string; scopes: string[]; createdBy: number; expiresAt: Date },
) {
  return db
    .insertInto('api_tokens')
    .values({
      id: token.id,
      user_id: token.userId,
      name: token.name,
      token_hash: token.tokenHash,
      hint: token.hint,
      scopes: token.scopes,
      created_by: token.createdBy,
      expires_at: token.expiresAt,
    })
    .returning(tokenColumns)
    .executeTakeFirstOrThrow();
}

/** One account's tokens, newest first, revoked and expired ones too (the list says which). */
export async function listApiTokens(db: Kysely<Database>, userId: number) {
  return db.selectFrom('api_tokens').select(tokenColumns).where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id').limit(200).execute();
}

/** Revokes one token of the account; undefined when it has no such live token. */
export async function revokeApiToken(db: Kysely<Database>, userId: number, id: string) {
  return db
    .updateTable('api_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning(['id', 'name'])
    .executeTakeFirst();
}

export async function countLiveApiTokens(db: Kysely<Database>, userId: number): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

const selectTokenCaller = prepareQuery((db, params: { tokenHash: string }) =>
  db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select([
      't.id as token_id',
      't.scopes',
      't.expires_at',
      't.last_used_at',
      'u.id',
      'u.username',
      'u.role',
      'u.kind',
      'u.is_active',
      'u.created_at',
      'u.updated_at',
      'u.mfa_enabled',
      'u.mfa_grace_started_at',
    ])
    .where('t.token_hash', '=', params.tokenHash)
    .where('t.revoked_at', 'is', null)
    .where('t.expires_at', '>', sql<Date>`now()`)
    .where('u.is_active', '=', true),
);

/**
 * The caller behind an API token in one round trip, as an access token's check is: nothing
 * unless the token is live (not revoked, not expired) and its account active. Read on every
 * request, so a revocation or deactivation on any instance is in force on the next one.
 */
export async function findApiTokenCaller(db: Kysely<Database>, tokenHash: string) {
  const rows = await selectTokenCaller(db, { tokenHash });
  return rows[0];
}

/** Written at most once a minute per token by the caller; a lost write costs only precision. */
export async function touchApiToken(db: Kysely<Database>, id: string, ip: string) {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: sql<Date>`now()`, last_used_ip: ip })
    .where('id', '=', id)
    .execute();
}

/** Service accounts, by name. */
export async function listServiceAccounts(db: Kysely<Database>) {
  return db
    .selectFrom('users as u')
    .select([
      'u.id',
      'u.username',
      'u.role',
      'u.is_active',
      'u.created_at',
      (eb) =>
        eb
          .selectFrom('api_tokens as t')
          .select((inner) => inner.fn.countAll<number>().as('n'))
          .whereRef('t.user_id', '=', 'u.id')
          .where('t.revoked_at', 'is', null)
          .where('t.expires_at', '>', sql<Date>`now()`)
          .as('live_tokens'),
    ])
    .where('u.kind', '=', 'service')
    .orderBy('u.username')
    .limit(500)
    .execute();
}

export async function lockServiceAccount(db: Kysely<Database>, id: number) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'role', 'is_active'])
    .where('id', '=', id)
    .where('kind', '=', 'service')
    .forUpdate()
    .executeTakeFirst();
}

export async function insertServiceAccount(db: Kysely<Database>, account: { username: string; passwordHash: string; role: 'admin' | 'user' }) {
  return db
    .insertInto('users')
    .values({ username: account.username, password_hash: account.passwordHash, role: account.role, kind: 'service' })
    .returning(['id', 'username', 'role', 'is_active', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function setServiceAccountActive(db: Kysely<Database>, id: number, active: boolean) {
  await db
    .updateTable('users')
    .set({ is_active: active, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .execute();
}

/** Locks the account a token is made for until the transaction ends. */
export async function lockTokenOwner(db: Kysely<Database>, userId: number) {
  await db.selectFrom('users').select('id').where('id', '=', userId).forUpdate().executeTakeFirst();
}
