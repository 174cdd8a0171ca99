import { type Kysely, sql } from 'kysely';
import type { AuthChallengeKind, Database } from '../schema';

export async function findTotp(db: Kysely<Database>, userId: number) {
  return db.selectFrom('user_totp').select(['secret', 'confirmed_at', 'last_used_step']).where('user_id', '=', userId).executeTakeFirst();
}

/** A new secret waiting for its first code, in place of any earlier unconfirmed one; a confirmed one is kept (returns false). */
export async function putPendingTotp(db: Kysely<Database>, userId: number, sealedSecret: string): Promise<boolean> {
  const row = await db
    .insertInto('user_totp')
    .values({ user_id: userId, secret: sealedSecret })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret: sealedSecret, last_used_step: null }).where('user_totp.confirmed_at', 'is', null))
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Spends the time step `step` of the user's TOTP: only if no code of that step or a later one
 * was accepted before, in one statement, so two requests racing with one code cannot both win.
 * `confirming`: the first code of an enrolment, which also confirms it.
 */
export async function spendTotpStep(db: Kysely<Database>, userId: number, step: number, confirming: boolean): Promise<boolean> {
  let query = db
    .updateTable('user_totp')
    .set({ last_used_step: step, ...(confirming ? { confirmed_at: sql<Date>`now()` } : {}) })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', sql<string>`${step}`)]));
  query = confirming ? query.where('confirmed_at', 'is', null) : query.where('confirmed_at', 'is not', null);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function deleteTotp(db: Kysely<Database>, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('user_totp').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function replaceRecoveryCodes(db: Kysely<Database>, userId: number, codeHashes: string[]): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  if (codeHashes.length > 0) {
    await db
      .insertInto('recovery_codes')
      .values(codeHashes.map((code_hash) => ({ code_hash, user_id: userId })))
      .execute();
  }
}

/** Spends one unused recovery code of the user; false if it is not one, or was used. */
export async function spendRecoveryCode(db: Kysely<Database>, userId: number, codeHash: string): Promise<boolean> {
  const result = await db
    .updateTable('recovery_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function countRecoveryCodes(db: Kysely<Database>, userId: number): Promise<{ total: number; unused: number }> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => [eb.fn.countAll<string>().as('total'), eb.fn.count<string>('code_hash').filterWhere('used_at', 'is', null).as('unused')])
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), unused: Number(row.unused) };
}

const passkeyColumns = ['id', 'user_id', 'name', 'public_key', 'counter', 'transports', 'backed_up', 'created_at', 'last_used_at'] as const;

export async function listPasskeys(db: Kysely<Database>, userId: number) {
  return db.selectFrom('passkeys').select(passkeyColumns).where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
}

export async function findPasskey(db: Kysely<Database>, id: string) {
  return db.selectFrom('passkeys').select(passkeyColumns).where('id', '=', id).executeTakeFirst();
}

export async function insertPasskey(
  db: Kysely<Database>,
  passkey: { id: string; userId: number; name: string; publicKey: string; counter: number; transports: string[]; backedUp: boolean },
) {
  return db
    .insertInto('passkeys')
    .values({
      id: passkey.id,
      user_id: passkey.userId,
      name: passkey.name,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: JSON.stringify(passkey.transports),
      backed_up: passkey.backedUp,
    })
    .returning(passkeyColumns)
    .executeTakeFirstOrThrow();
}

export async function renamePasskey(db: Kysely<Database>, userId: number, id: string, name: string) {
  return db.updateTable('passkeys').set({ name }).where('user_id', '=', userId).where('id', '=', id).returning(passkeyColumns).executeTakeFirst();
}

export async function deletePasskey(db: Kysely<Database>, userId: number, id: string) {
  return db.deleteFrom('passkeys').where('user_id', '=', userId).where('id', '=', id).returning(['id', 'name']).executeTakeFirst();
}

/** Records a use; the signature counter only moves forward (a clone would present an old one). */
export async function recordPasskeyUse(db: Kysely<Database>, id: string, counter: number): Promise<void> {
  await db
    .updateTable('passkeys')
    .set({ counter, last_used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .execute();
}

/** Recomputes whether the user has a factor a sign-in must ask for (a confirmed TOTP or a passkey). */
export async function refreshMfaEnabled(db: Kysely<Database>, userId: number): Promise<boolean> {
  const row = await db
    .updateTable('users')
    .set({
      mfa_enabled: sql<boolean>`exists (select 1 from user_totp t where t.user_id = ${userId} and t.confirmed_at is not null)
        or exists (select 1 from passkeys p where p.user_id = ${userId})`,
    })
    .where('id', '=', userId)
    .returning('mfa_enabled')
    .executeTakeFirst();
  return row?.mfa_enabled ?? false;
}

/** Every factor of the user goes (an administrator's reset). */
export async function deleteAllFactors(db: Kysely<Database>, userId: number): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }> {
  const totp = await deleteTotp(db, userId);
  const passkeys = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
  const codes = await db.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst();
  await db.deleteFrom('auth_challenges').where('user_id', '=', userId).execute();
  await db.updateTable('users').set({ mfa_enabled: false }).where('id', '=', userId).execute();
  return { totp, passkeys: Number(passkeys.numDeletedRows), recoveryCodes: Number(codes.numDeletedRows) };
}

/** Starts the user's grace period now, unless it already started. */
export async function startMfaGrace(db: Kysely<Database>, userId: number): Promise<Date> {
  await db
    .updateTable('users')
    .set({ mfa_grace_started_at: sql<Date>`now()` })
    .where('id', '=', userId)
    .where('mfa_grace_started_at', 'is', null)
    .execute();
  const row = await db.selectFrom('users').select('mfa_grace_started_at').where('id', '=', userId).executeTakeFirstOrThrow();
  return row.mfa_grace_started_at as Date;
}

export async function insertChallenge(
  db: Kysely<Database>,
  challenge: {
    tokenHash: string;
    kind: AuthChallengeKind;
    userId: number | null;
    sessionId: string | null;
    webauthnChallenge: string | null;
    remember: boolean;
    expiresAt: Date;
  },
): Promise<void> {
  await db
    .insertInto('auth_challenges')
    .values({
      token_hash: challenge.tokenHash,
      kind: challenge.kind,
      user_id: challenge.userId,
      session_id: challenge.sessionId,
      webauthn_challenge: challenge.webauthnChallenge,
      remember: challenge.remember,
      expires_at: challenge.expiresAt,
    })
    .execute();
}

const challengeColumns = ['token_hash', 'kind', 'user_id', 'session_id', 'webauthn_challenge', 'remember', 'failures', 'expires_at'] as const;

/** A challenge of that kind still unused and unexpired, locked until the transaction ends, or nothing. */
export async function lockLiveChallenge(db: Kysely<Database>, tokenHash: string, kind: AuthChallengeKind) {
  return db
    .selectFrom('auth_challenges')
    .select(challengeColumns)
    .where('token_hash', '=', tokenHash)
    .where('kind', '=', kind)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .forUpdate()
    .executeTakeFirst();
}

export async function findLiveChallenge(db: Kysely<Database>, tokenHash: string, kind: AuthChallengeKind) {
  return db
    .selectFrom('auth_challenges')
    .select(challengeColumns)
    .where('token_hash', '=', tokenHash)
    .where('kind', '=', kind)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/** Spends the challenge; false when another request spent it first. */
export async function spendChallenge(db: Kysely<Database>, tokenHash: string): Promise<boolean> {
  const result = await db
    .updateTable('auth_challenges')
    .set({ used_at: sql<Date>`now()` })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Counts a wrong answer; at `max` the challenge is spent, and the sign-in must start again. */
export async function recordChallengeFailure(db: Kysely<Database>, tokenHash: string, max: number): Promise<number> {
  const row = await db
    .updateTable('auth_challenges')
    .set((eb) => ({
      failures: eb('failures', '+', 1),
      used_at: sql<Date | null>`case when failures + 1 >= ${max} then now() else used_at end`,
    }))
    .where('token_hash', '=', tokenHash)
    .returning('failures')
    .executeTakeFirst();
  return row?.failures ?? max;
}

export async function deleteExpiredChallenges(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db.deleteFrom('auth_challenges').where('expires_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The session's user proved who they are just now (a step-up). */
export async function markSessionAuthenticated(db: Kysely<Database>, sessionId: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ authenticated_at: sql<Date>`now()` })
    .where('id', '=', sessionId)
    .execute();
}
