import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  checkPassword,
  PASSWORD_MIN_STRENGTH,
  generateOpaqueToken,
  hashOpaqueToken,
  type PasswordHasher,
  type PasswordProblem,
  signAccessToken,
  TokenError,
  verifyAccessToken,
} from '@stm/auth';
import { type Database, factors, isUniqueViolation, type Kysely, passwordResets, projects, sessions, type UserRole, users } from '@stm/db';
import {
  ACCESS_TOKEN_TTL_MAX_SECONDS,
  type ApiTokenScope,
  type ChangePasswordInput,
  type LoginInput,
  PASSWORD_MAX_LENGTH,
  type RegisterInput,
  type SessionListInput,
  usernameSchema,
} from '@stm/validators';
import { z } from 'zod';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { type Actor, type ClientInfo, recordAudit } from './audit';
import { decodeCursor, type Page, pageOf } from './cursor';
import type { Keyring } from './keyring';
import type { KnownDevices } from './known-devices';
import { accountKeyOf, type RefusedBy } from './lockout';
import { liveSessionBounds, MAX_SESSIONS_PER_USER, sessionEndedBy, sessionPolicy } from './session-policy';
import type { SettingsService } from './settings';
import type { Attempt, SignInThrottle } from './sign-in-throttle';
import { type FactorAnswer, type FactorMethod, type FactorService, CHALLENGE_MAX_FAILURES } from './factors';
import { enrolmentState, startGraceIfRequired } from './step-up';
import { VerifiedTokenCache } from './token-cache';

/** The signed-in user of a request, as the database says now (not as the token claimed). */
export interface AuthUser {
  id: number;
  username: string;
  role: UserRole;
  isActive: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** The session the access token belongs to; null for a call made with an API token. */
  sessionId: string | null;
  /** The key that signed this request's access token; null for a call made with an API token. */
  signingKeyId: string | null;
  /** When the access token (or API token) of this request expires (epoch seconds). */
  tokenExpiresAt: number;
  /** Set when the call was made with an API token: what that token may do. */
  apiToken: { id: string; scopes: readonly ApiTokenScope[] } | null;
  /** When the user last proved who they are in this session: its sign-in, or a later step-up. */
  authenticatedAt: Date;
  /** A second factor is enrolled. */
  mfaEnabled: boolean;
  mfaGraceStartedAt: Date | null;
  /** A live policy requires a second factor and the grace period is over: only enrolling one is allowed. */
  mustEnrol: boolean;
}

export interface PublicUser {
  id: number;
  username: string;
  role: UserRole;
  isActive: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: Date;
  sessionId: string;
  /** Proof the console sends with a cookie-based refresh (double-submit CSRF defence). */
  csrfToken: string;
}

/** A sign-in's tokens, and the device token that makes the browser known to the account. */
export interface SignedIn extends IssuedTokens {
  deviceToken: string;
}

export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  /** Signed in with "keep me signed in" (and so on the longer rules, unless an administrator). */
  remember: boolean;
  current: boolean;
}

/** Where a page of sessions ended: the last one's start, to the microsecond, and its id. */
const sessionCursor = z.object({ at: z.iso.datetime(), id: z.uuid() });

type SigningKey = Awaited<ReturnType<Keyring['signingKey']>>;

/** A session's `last_used_at` is written at most this often, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export interface AuthServiceDeps {
  db: Kysely<Database>;
  hasher: PasswordHasher;
  keyring: Keyring;
  settings: SettingsService;
  throttle: SignInThrottle;
  devices: KnownDevices;
  factors: FactorService;
  log: Logger;
  tokens: { issuer: string; audience: string };
  /** The operator's cap on any session's absolute lifetime, over the live settings; undefined: none. */
  sessionMaxLifetimeSeconds: number | undefined;
  csrfKey: Buffer;
}

export function toPublicUser(row: { id: number; username: string; role: UserRole; is_active: boolean; created_at: Date; updated_at: Date }): PublicUser {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    isActive: row.is_active,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function actorOf(user: { id: number; username: string }): Actor {
  return { id: user.id, username: user.username };
}

const PASSWORD_MESSAGES: Record<PasswordProblem, (min: number) => string> = {
  PASSWORD_TOO_SHORT: (min) => `Password must be at least ${min} characters`,
  PASSWORD_TOO_LONG: () => `Password must be at most ${PASSWORD_MAX_LENGTH} characters`,
  PASSWORD_TOO_COMMON: () => 'This password is too common; choose one that is harder to guess',
  PASSWORD_TOO_WEAK: () => 'This password is too easy to guess (words, names, keyboard patterns, repeats or dates); a few unrelated words make a strong one',
  PASSWORD_CONTAINS_USERNAME: () => 'Password must not contain the username',
};

export class AuthService {
  readonly #verified = new VerifiedTokenCache();

  constructor(private readonly deps: AuthServiceDeps) {
    deps.keyring.onRevocation(() => this.#verified.clear());
  }

  /** Refuses a password the live policy does not allow, naming the rule. */
  async assertPasswordAllowed(password: string, username: string, field = 'password'): Promise<void> {
    const settings = this.deps.settings.current;
    let problem = checkPassword(password, username, {
      minLength: settings.passwordMinLength,
      maxLength: PASSWORD_MAX_LENGTH,
      refuseCommon: settings.passwordRefuseCommon,
    });
    if (!problem && settings.passwordRefuseCommon && (await this.deps.hasher.estimateStrength(password, [username])) < PASSWORD_MIN_STRENGTH) {
      problem = 'PASSWORD_TOO_WEAK';
    }
    if (problem) {
      throw new DomainError(problem, PASSWORD_MESSAGES[problem](settings.passwordMinLength), {
        field,
        details: { minLength: settings.passwordMinLength },
      });
    }
  }

  async register(input: RegisterInput, client: ClientInfo): Promise<PublicUser> {
    if (input.role === 'admin') {
      throw new DomainError('ADMIN_REGISTRATION_FORBIDDEN', 'Registration cannot create an administrator', {
        field: 'role',
      });
    }
    if (!this.deps.settings.current.registrationOpen) {
      throw new DomainError('REGISTRATION_CLOSED', 'Registration is closed; ask an administrator for an account');
    }
    await this.assertPasswordAllowed(input.password, input.username);
    // Spare the hashing work for a name that is visibly taken; the unique index settles races.
    if (await users.usernameExists(this.deps.db, input.username)) throw usernameTaken();
    const passwordHash = await this.deps.hasher.hash(input.password);
    return this.createUser({ username: input.username, passwordHash, role: 'user' }, null, client, 'auth.registered');
  }

  /** Inserts a user and its audit record together; a taken name (any case) is a conflict. */
  async createUser(
    user: { username: string; passwordHash: string; role: UserRole },
    actor: Actor | null,
    client: ClientInfo | null,
    action: 'auth.registered' | 'user.created',
  ): Promise<PublicUser> {
    try {
      return await this.deps.db.transaction().execute(async (trx) => {
        const row = await users.insertUser(trx, {
          username: user.username,
          password_hash: user.passwordHash,
          role: user.role,
        });
        await projects.ensureInbox(trx, row.id);
        await recordAudit(trx, {
          action,
          actor: actor ?? actorOf(row),
          client,
          target: { type: 'user', id: row.id, label: row.username },
          details: { role: row.role },
        });
        return toPublicUser(row);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw usernameTaken();
      throw error;
    }
  }

  /** `deviceToken`: the device cookie this browser holds for the account, if any. */
  async login(input: LoginInput, client: ClientInfo, deviceToken?: string): Promise<SignedIn> {
    const { throttle } = this.deps;
    const account = accountKeyOf(input.username);
    const device = deviceToken === undefined ? null : this.deps.devices.read(account, deviceToken);
    const admitted = await throttle.admit({ account, address: client.ip, device, standing: device === null ? 'unchecked' : 'known' }, () =>
      sessions.accountHasSessionFromAddress(this.deps.db, account, client.ip),
    );
    if (admitted.refused) {
      const { retryAfterMs, by } = admitted.refused;
      await recordAudit(this.deps.db, {
        action: 'auth.login_locked',
        actor: { id: null, username: nameAsTyped(input.username) },
        client,
        details: { retryAfterSeconds: Math.ceil(retryAfterMs / 1000), by },
      });
      throw accountLocked(retryAfterMs, by);
    }
    const { attempt } = admitted;
    try {
      return await this.#signIn(input, client, attempt, device);
    } finally {
      // A check that ended otherwise (the hasher busy, the database away) counts for nothing.
      await throttle.settle(attempt, 'abandoned');
    }
  }

  async #signIn(input: LoginInput, client: ClientInfo, attempt: Attempt, device: string | null): Promise<SignedIn> {
    const { hasher, throttle } = this.deps;
    const found = await users.findUserCredentialsByUsername(this.deps.db, input.username.trim());
    // A service account has no password: it is refused as an unknown name is, after as long.
    const user = found?.kind === 'person' ? found : undefined;
    const passwordMatches = user ? await hasher.verify(input.password, user.password_hash) : await hasher.verifyNothing(input.password);

    if (!user || !passwordMatches || !user.is_active) {
      const settled = await throttle.settle(attempt, 'failed');
      await recordAudit(this.deps.db, {
        action: 'auth.login_failed',
        actor: found ? actorOf(found) : { id: null, username: nameAsTyped(input.username) },
        client,
        ...(found ? { target: { type: 'user', id: found.id, label: found.username } } : {}),
        details: {
          reason: !found ? 'unknown_user' : !user ? 'service_account' : !passwordMatches ? 'wrong_password' : 'inactive',
          ...(settled.clientLockMs > 0 ? { lockedForSeconds: Math.ceil(settled.clientLockMs / 1000) } : {}),
        },
      });
      if (user && settled.accountAlert) {
        // Once per window: what a notification to the owner will be built on.
        await recordAudit(this.deps.db, {
          action: 'auth.login_throttled',
          actor: actorOf(user),
          client,
          target: { type: 'user', id: user.id, label: user.username },
          details: { failures: settled.accountAlert.failures, windowSeconds: this.deps.settings.current.lockoutWindowSeconds },
        });
      }
      // Only whoever knows the password learns the account exists but is switched off: they
      // can stop retrying and ask an administrator. Anyone else hears "incorrect" as before.
      if (user && passwordMatches) throw accountDeactivated();
      throw new DomainError('INVALID_CREDENTIALS', 'Incorrect username or password');
    }

    if (user.mfa_enabled) {
      // The password alone proves nothing yet: the attempt is left unsettled (neither a success
      // that would clear this client's failures, nor a failure), and the factor's answer settles
      // its own attempt in the same counters, so guesses at the code lock as password guesses do.
      const issuedChallenge = await this.deps.factors.issueFactorChallenge('sign_in', user, { sessionId: null, remember: input.remember_me === true });
      await recordAudit(this.deps.db, {
        action: 'auth.mfa_challenged',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { methods: issuedChallenge.methods },
      });
      throw new DomainError('MFA_REQUIRED', 'Enter the code from your authenticator app, a recovery code, or use a passkey', {
        details: { error: 'mfa_required', ...issuedChallenge },
      });
    }
    // The password was right: its client's failures go (its place would lapse by itself).
    await throttle.settle(attempt, 'succeeded');
    const issued = await this.#openSignedInSession(user, user.password_hash, client, input.remember_me === true, null);
    if (!issued || issued === 'deactivated') {
      // The account changed while its password was checked: a new password, or deactivation.
      await recordAudit(this.deps.db, {
        action: 'auth.login_failed',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { reason: issued ? 'inactive' : 'credentials_changed' },
      });
      throw issued ? accountDeactivated() : new DomainError('INVALID_CREDENTIALS', 'Incorrect username or password');
    }
    await startGraceIfRequired(this.deps.db, this.deps.settings.current, user);
    if (hasher.needsRehash(user.password_hash)) {
      // The cost setting changed since this hash was made: upgrade it now that we hold the password.
      const rehash = hasher.hash(input.password).then((hash) => users.upgradeUserPasswordHash(this.deps.db, user.id, user.password_hash, hash));
      rehash.catch((error: unknown) => this.deps.log.warn({ err: error, userId: user.id }, 'password rehash failed'));
    }
    return { ...issued, deviceToken: this.deps.devices.issue(attempt.origin.account, device) };
  }

  /**
   * The session of a sign-in whose proofs are all checked, with its audit record. The password was
   * checked against a hash read before bcrypt ran; a change, reset or deactivation may have
   * landed since, and its "end every session" would miss this one: undefined when the password
   * changed, 'deactivated' when the account was switched off.
   */
  async #openSignedInSession(
    user: { id: number; username: string; role: UserRole },
    passwordHash: string | null,
    client: ClientInfo,
    remember: boolean,
    method: FactorMethod | null,
  ): Promise<IssuedTokens | 'deactivated' | undefined> {
    // Fetched before the transaction: making a missing key takes a transaction of its own.
    const signingKey = await this.deps.keyring.signingKey();
    return this.deps.db.transaction().execute(async (trx) => {
      const current = await users.lockUserCredentialsForSignIn(trx, user.id);
      if (!current || (passwordHash !== null && current.password_hash !== passwordHash)) return undefined;
      if (!current.is_active) return 'deactivated' as const;
      const { issued: opened, endedSessions } = await this.#openSession(trx, signingKey, user, client, remember);
      await recordAudit(trx, {
        action: 'auth.login_succeeded',
        actor: actorOf(user),
        client,
        target: { type: 'session', id: opened.sessionId },
        ...(endedSessions.length > 0 || method
          ? { details: { ...(method ? { secondFactor: method } : {}), ...(endedSessions.length > 0 ? { endedOldestSessions: endedSessions } : {}) } }
          : {}),
      });
      return opened;
    });
  }

  /**
   * The second step of a sign-in: the challenge the password step answered with, and a TOTP code,
   * a recovery code or a passkey. Each wrong answer counts in the failed-login counters of the
   * account and client as a wrong password does (and is refused while they lock), and a
   * challenge dies after five wrong answers or five minutes, or once answered.
   */
  async completeSignIn(
    input: { challenge: string } & FactorAnswer,
    client: ClientInfo,
    deviceTokenOf: (username: string) => string | undefined,
  ): Promise<SignedIn> {
    const row = await this.deps.factors.findChallenge(input.challenge, 'sign_in');
    const user = row?.user_id == null ? undefined : await users.findUserCredentialsById(this.deps.db, row.user_id);
    if (!row || !user) throw challengeInvalid();
    const account = accountKeyOf(user.username);
    const deviceToken = deviceTokenOf(user.username);
    const device = deviceToken === undefined ? null : this.deps.devices.read(account, deviceToken);
    const { throttle } = this.deps;
    const admitted = await throttle.admit({ account, address: client.ip, device, standing: device === null ? 'unchecked' : 'known' }, () =>
      sessions.accountHasSessionFromAddress(this.deps.db, account, client.ip),
    );
    if (admitted.refused) {
      await recordAudit(this.deps.db, {
        action: 'auth.login_locked',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { retryAfterSeconds: Math.ceil(admitted.refused.retryAfterMs / 1000), by: admitted.refused.by, step: 'second_factor' },
      });
      throw accountLocked(admitted.refused.retryAfterMs, admitted.refused.by);
    }
    const { attempt } = admitted;
    try {
      const method = await this.deps.db
        .transaction()
        .execute((trx) => this.deps.factors.verifyAnswer(trx, row, user.id, input, { requireUserVerification: false }));
      if (method === null) {
        const settled = await throttle.settle(attempt, 'failed');
        const failures = await this.deps.factors.recordChallengeFailure(row);
        await recordAudit(this.deps.db, {
          action: 'auth.mfa_failed',
          actor: actorOf(user),
          client,
          target: { type: 'user', id: user.id, label: user.username },
          details: {
            method: methodOf(input),
            failures,
            ...(failures >= CHALLENGE_MAX_FAILURES ? { challengeEnded: true } : {}),
            ...(settled.clientLockMs > 0 ? { lockedForSeconds: Math.ceil(settled.clientLockMs / 1000) } : {}),
          },
        });
        throw new DomainError('MFA_CODE_INVALID', 'That code is not right, or was already used', {
          details: { attemptsLeft: Math.max(0, CHALLENGE_MAX_FAILURES - failures) },
        });
      }
      await throttle.settle(attempt, 'succeeded');
      if (method === 'recovery_code') await this.#auditRecoveryCodeUsed(user, client);
      const issued = await this.#openSignedInSession(user, null, client, row.remember, method);
      if (!issued || issued === 'deactivated') throw accountDeactivated();
      return { ...issued, deviceToken: this.deps.devices.issue(account, device) };
    } finally {
      await throttle.settle(attempt, 'abandoned');
    }
  }

  /**
   * Sign-in with a passkey alone (a discoverable credential, user verification required): no
   * username typed, no password. An answer that does not verify counts in the address's
   * failed-login counters (and the account's, when the credential is ours).
   */
  async passkeySignIn(input: { challenge: string; response: FactorAnswer['passkey'] & object }, client: ClientInfo): Promise<SignedIn> {
    const row = await this.deps.factors.findChallenge(input.challenge, 'passkey_sign_in');
    if (!row) throw challengeInvalid();
    const ownerId = await this.deps.factors.passkeyOwner(input.response);
    const user = ownerId === undefined ? undefined : await users.findUserCredentialsById(this.deps.db, ownerId);
    const account = user ? accountKeyOf(user.username) : '';
    const { throttle } = this.deps;
    const admitted = await throttle.admit({ account, address: client.ip, device: null, standing: 'unchecked' }, () =>
      user ? sessions.accountHasSessionFromAddress(this.deps.db, account, client.ip) : Promise.resolve(false),
    );
    if (admitted.refused) throw accountLocked(admitted.refused.retryAfterMs, admitted.refused.by);
    const { attempt } = admitted;
    try {
      const method =
        user && user.is_active
          ? await this.deps.db
              .transaction()
              .execute((trx) => this.deps.factors.verifyAnswer(trx, row, user.id, { passkey: input.response }, { requireUserVerification: true }))
          : null;
      if (method === null || !user) {
        await throttle.settle(attempt, 'failed');
        await this.deps.factors.recordChallengeFailure(row);
        await recordAudit(this.deps.db, {
          action: 'auth.login_failed',
          actor: user ? actorOf(user) : { id: null, username: null },
          client,
          ...(user ? { target: { type: 'user', id: user.id, label: user.username } } : {}),
          details: { reason: !user ? 'unknown_passkey' : !user.is_active ? 'inactive' : 'passkey_refused' },
        });
        throw new DomainError('PASSKEY_INVALID', 'This passkey was not accepted');
      }
      await throttle.settle(attempt, 'succeeded');
      const issued = await this.#openSignedInSession(user, null, client, row.remember, 'passkey');
      if (!issued || issued === 'deactivated') throw accountDeactivated();
      return { ...issued, deviceToken: this.deps.devices.issue(account, null) };
    } finally {
      await throttle.settle(attempt, 'abandoned');
    }
  }

  /**
   * Step-up: the signed-in user proves who they are again, without signing out, and the session
   * counts as freshly signed in for five minutes. The password first (counted as sign-in guesses
   * are); with a second factor enrolled, that answers `MFA_REQUIRED` with a challenge, completed
   * by calling again with the challenge and the factor's answer.
   */
  async reauthenticate(
    user: AuthUser,
    input: { password?: string | undefined; challenge?: string | undefined } & FactorAnswer,
    client: ClientInfo,
  ): Promise<{ authenticatedAt: Date }> {
    if (input.challenge !== undefined) {
      const row = await this.deps.factors.findChallenge(input.challenge, 'step_up');
      if (!row || row.user_id !== user.id || row.session_id !== user.sessionId) throw challengeInvalid();
      await this.#guarded(
        user,
        'second_factor',
        async () => {
          const method = await this.deps.db
            .transaction()
            .execute((trx) => this.deps.factors.verifyAnswer(trx, row, user.id, input, { requireUserVerification: false }));
          if (method === null) {
            await this.deps.factors.recordChallengeFailure(row);
            return false;
          }
          if (method === 'recovery_code') await this.#auditRecoveryCodeUsed(user, client);
          return true;
        },
        client,
      );
    } else {
      const row = await users.findUserCredentialsById(this.deps.db, user.id);
      if (!row) throw accessTokenRefused('account_missing');
      const password = input.password ?? '';
      await this.#guarded(user, 'password', () => this.deps.hasher.verify(password, row.password_hash), client);
      if (row.mfa_enabled) {
        const issuedChallenge = await this.deps.factors.issueFactorChallenge('step_up', user, { sessionId: sessionOf(user), remember: false });
        throw new DomainError('MFA_REQUIRED', 'Now the code from your authenticator app, a recovery code, or a passkey', {
          details: { error: 'mfa_required', ...issuedChallenge },
        });
      }
    }
    const sessionId = sessionOf(user);
    await factors.markSessionAuthenticated(this.deps.db, sessionId);
    await recordAudit(this.deps.db, { action: 'auth.reauthenticated', actor: actorOf(user), client, target: { type: 'session', id: sessionId } });
    return { authenticatedAt: new Date() };
  }

  /** A proof checked through the failed-login counters of the account, as a sign-in's password is. */
  async #guarded(user: AuthUser, step: 'password' | 'second_factor', check: () => Promise<boolean>, client: ClientInfo): Promise<void> {
    const { throttle } = this.deps;
    const admitted = await throttle.admit({ account: accountKeyOf(user.username), address: client.ip, device: null, standing: 'known' }, () =>
      Promise.resolve(true),
    );
    if (admitted.refused) throw accountLocked(admitted.refused.retryAfterMs, admitted.refused.by);
    const { attempt } = admitted;
    try {
      if (!(await check())) {
        const settled = await throttle.settle(attempt, 'failed');
        await recordAudit(this.deps.db, {
          action: step === 'password' ? 'auth.password_change_failed' : 'auth.mfa_failed',
          actor: actorOf(user),
          client,
          target: { type: 'user', id: user.id, label: user.username },
          details: {
            reason: step === 'password' ? 'wrong_password_on_reauthentication' : 'wrong_factor_on_reauthentication',
            ...(settled.clientLockMs > 0 ? { lockedForSeconds: Math.ceil(settled.clientLockMs / 1000) } : {}),
          },
        });
        if (step === 'password') throw new DomainError('CURRENT_PASSWORD_WRONG', 'The password is not correct', { field: 'password' });
        throw new DomainError('MFA_CODE_INVALID', 'That code is not right, or was already used');
      }
      if (step === 'second_factor') await throttle.settle(attempt, 'succeeded');
    } finally {
      await throttle.settle(attempt, 'abandoned');
    }
  }

  async #auditRecoveryCodeUsed(user: { id: number; username: string }, client: ClientInfo): Promise<void> {
    const left = await factors.countRecoveryCodes(this.deps.db, user.id);
    await recordAudit(this.deps.db, {
      action: 'mfa.recovery_code_used',
      actor: actorOf(user),
      client,
      target: { type: 'user', id: user.id, label: user.username },
      details: { unusedLeft: left.unused },
    });
  }

  /**
   * Exchanges a refresh token for new tokens; the old one is spent. Presenting a spent token
   * means it was copied: the whole session ends (OAuth 2.0 Security BCP, refresh token rotation).
   * `csrfProof` is required when the token came from a cookie.
   */
  async refresh(refreshToken: string, client: ClientInfo, csrfProof?: { header: string | undefined }): Promise<IssuedTokens> {
    const tokenHash = hashOpaqueToken(refreshToken);
    const signingKey = await this.deps.keyring.signingKey();
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const row = await sessions.lockRefreshToken(trx, tokenHash);
      if (!row) return { kind: 'invalid' as const };
      if (csrfProof && !this.#csrfMatches(row.session_id, csrfProof.header)) return { kind: 'csrf' as const };
      if (row.rotated_at !== null) {
        // A spent token of a session already ended (by this detection, a sign-out, anything) is
        // answered as any dead session's: the reuse is news only while the session stands.
        if (row.revoked_at !== null) return { kind: 'invalid' as const };
        await sessions.revokeSession(trx, { sessionId: row.session_id }, 'refresh_token_reused');
        await recordAudit(trx, {
          action: 'auth.refresh_token_reused',
          actor: { id: row.user_id, username: row.username },
          client,
          target: { type: 'session', id: row.session_id },
        });
        return { kind: 'reused' as const };
      }
      const now = Date.now();
      // An unspent, unexpired refresh token is proof its holder signed in to this account, so
      // they may learn why it stopped working (deactivation ended the session) and keep what
      // they were typing rather than sign in again in vain.
      if (!row.is_active && row.token_expires_at.getTime() > now) return { kind: 'deactivated' as const };
      if (row.revoked_at !== null || row.session_expires_at.getTime() <= now || row.token_expires_at.getTime() <= now || !row.is_active) {
        return { kind: 'invalid' as const };
      }
      const endedBy = sessionEndedBy(
        sessionPolicy(this.deps.settings.current, row.role, row.remember),
        { createdAt: row.session_created_at, lastUsedAt: row.session_last_used_at },
        now,
      );
      if (endedBy) {
        // Ended for good: a setting raised later does not bring it back. Answered as any dead
        // session is; the log says which rule ended it.
        await sessions.revokeSession(trx, { sessionId: row.session_id }, endedBy);
        return { kind: 'invalid' as const, endedBy };
      }
      await sessions.markRefreshTokenRotated(trx, tokenHash);
      // The session keeps the end it was given at sign-in: refreshing never extends it.
      const issued = await this.#issueTokens(
        trx,
        signingKey,
        { id: row.user_id, role: row.role },
        {
          id: row.session_id,
          expiresAt: row.session_expires_at,
        },
      );
      await sessions.touchSession(trx, row.session_id, { ip: client.ip, userAgent: client.userAgent?.slice(0, 500) ?? null });
      return { kind: 'ok' as const, issued };
    });
    switch (outcome.kind) {
      case 'ok':
        return outcome.issued;
      case 'csrf':
        throw new DomainError('CSRF_FAILED', 'Missing or wrong X-CSRF-Token header');
      case 'deactivated':
        throw accountDeactivated();
      case 'reused':
        throw new DomainError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been ended');
      case 'invalid':
        throw new DomainError('REFRESH_TOKEN_INVALID', 'The refresh token is invalid or expired; sign in again', {
          ...('endedBy' in outcome ? { logDetails: { sessionEndedBy: outcome.endedBy } } : {}),
        });
    }
  }

  /**
   * Who is calling, or a DomainError. The signature check is cached per token; whether the
   * session, the account and the signing key are still good is read from the database every
   * time, so a revocation anywhere takes effect on the next request.
   */
  async authenticate(accessToken: string): Promise<AuthUser> {
    const now = Date.now();
    let claims = this.#verified.get(accessToken, Math.floor(now / 1000));
    if (!claims) {
      try {
        claims = await verifyAccessToken(accessToken, (kid) => this.deps.keyring.verificationKey(kid), {
          ...this.deps.tokens,
          // The ceiling of the setting, not its value now: a token issued before the setting was
          // lowered is one we issued, and lives out its time (as tokens of a rotated key do).
          maxLifetimeSeconds: ACCESS_TOKEN_TTL_MAX_SECONDS,
        });
      } catch (error) {
        if (error instanceof TokenError) throw accessTokenRefused(error.problem);
        throw error;
      }
      this.#verified.set(accessToken, claims);
    }
    const row = await users.findAuthenticatedUser(this.deps.db, claims);
    if (!row) throw accessTokenRefused('session_ended');
    // An access token outliving the idle timeout or the session's lifetime does not outlive its session.
    const endedBy = sessionEndedBy(
      sessionPolicy(this.deps.settings.current, row.role, row.remember),
      { createdAt: row.session_created_at, lastUsedAt: row.last_used_at },
      now,
    );
    if (endedBy) throw accessTokenRefused(endedBy);
    const mfaGraceStartedAt = row.mfa_grace_started_at;
    const mustEnrol = enrolmentState(this.deps.settings.current, { role: row.role, mfaEnabled: row.mfa_enabled, mfaGraceStartedAt }, now).mustEnrolNow;
    if (now - row.last_used_at.getTime() > TOUCH_INTERVAL_MS) {
      this.deps.db
        .updateTable('sessions')
        .set({ last_used_at: new Date() })
        .where('id', '=', claims.sessionId)
        .execute()
        .catch((error: unknown) => this.deps.log.debug({ err: error }, 'session touch failed'));
    }
    return {
      ...toPublicUser(row),
      sessionId: claims.sessionId,
      signingKeyId: claims.kid,
      tokenExpiresAt: claims.expiresAt,
      apiToken: null,
      authenticatedAt: new Date(row.authenticated_at),
      mfaEnabled: row.mfa_enabled,
      mfaGraceStartedAt,
      mustEnrol,
    };
  }

  /** The caller as read by `authenticate` for this very request: no second query. */
  me(user: AuthUser): PublicUser {
    return {
      id: user.id,
      username: user.username,
      role: user.role,
      isActive: user.isActive,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
    };
  }

  async logout(user: AuthUser, client: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const sessionId = sessionOf(user);
      await sessions.revokeSession(trx, { sessionId, userId: user.id }, 'logout');
      await recordAudit(trx, { action: 'auth.logged_out', actor: actorOf(user), client, target: { type: 'session', id: sessionId } });
    });
  }

  async logoutAll(user: AuthUser, client: ClientInfo): Promise<number> {
    return this.deps.db.transaction().execute(async (trx) => {
      const count = await sessions.revokeUserSessions(trx, user.id, 'logout_all');
      await recordAudit(trx, { action: 'auth.logged_out_everywhere', actor: actorOf(user), client, details: { sessions: count } });
      return count;
    });
  }

  /** Ends every session of the account but the caller's own: "sign out everywhere else". */
  async logoutOthers(user: AuthUser, client: ClientInfo): Promise<number> {
    return this.deps.db.transaction().execute(async (trx) => {
      const sessionId = sessionOf(user);
      const count = await sessions.revokeUserSessions(trx, user.id, 'logout_others', sessionId);
      await recordAudit(trx, {
        action: 'auth.logged_out_others',
        actor: actorOf(user),
        client,
        target: { type: 'session', id: sessionId },
        details: { sessions: count },
      });
      return count;
    });
  }

  /** The caller's live sessions, newest sign-in first, one page at a time. */
  async listSessions(user: AuthUser, query: SessionListInput): Promise<Page<SessionView>> {
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, sessionCursor);
    const rows = await sessions.listLiveSessions(this.deps.db, user.id, {
      bounds: liveSessionBounds(this.deps.settings.current, user.role, Date.now()),
      before: before && { createdAtKey: before.at, id: before.id },
      limit: query.limit + 1,
    });
    return pageOf(
      rows,
      query.limit,
      (row) => ({
        id: row.id,
        createdAt: row.created_at,
        lastUsedAt: row.last_used_at,
        expiresAt: row.expires_at,
        userAgent: row.user_agent,
        ip: row.ip,
        remember: row.remember,
        current: row.id === user.sessionId,
      }),
      (last) => ({ at: last.created_at_key, id: last.id }),
    );
  }

  /** Ends one of the caller's own sessions; someone else's answers exactly like a missing one. */
  async revokeSession(user: AuthUser, sessionId: string, client: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const revoked = await sessions.revokeSession(trx, { sessionId, userId: user.id }, 'revoked_by_user');
      if (!revoked) throw new DomainError('NOT_FOUND', 'No such session');
      await recordAudit(trx, { action: 'auth.session_revoked', actor: actorOf(user), client, target: { type: 'session', id: sessionId } });
    });
  }

  /**
   * Requires the current password; every other session of the user ends. Guesses of the current
   * password (with a stolen access token, say) count towards the lockout of this address, as
   * sign-ins do; a signed-in caller is never slowed by the account's failures from elsewhere.
   */
  async changePassword(user: AuthUser, input: ChangePasswordInput, client: ClientInfo): Promise<{ endedSessions: number }> {
    const row = await users.findUserCredentialsById(this.deps.db, user.id);
    if (!row) throw accessTokenRefused('account_missing');
    const failure = (reason: 'locked' | 'wrong_current_password', details: Record<string, unknown>) =>
      recordAudit(this.deps.db, {
        action: 'auth.password_change_failed',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: row.username },
        details: { reason, ...details },
      });
    const { throttle } = this.deps;
    const admitted = await throttle.admit({ account: accountKeyOf(row.username), address: client.ip, device: null, standing: 'known' }, () =>
      Promise.resolve(true),
    );
    if (admitted.refused) {
      await failure('locked', { retryAfterSeconds: Math.ceil(admitted.refused.retryAfterMs / 1000) });
      throw accountLocked(admitted.refused.retryAfterMs, admitted.refused.by);
    }
    const { attempt } = admitted;
    try {
      if (!(await this.deps.hasher.verify(input.currentPassword, row.password_hash))) {
        const settled = await throttle.settle(attempt, 'failed');
        await failure('wrong_current_password', settled.clientLockMs > 0 ? { lockedForSeconds: Math.ceil(settled.clientLockMs / 1000) } : {});
        throw new DomainError('CURRENT_PASSWORD_WRONG', 'The current password is not correct', { field: 'currentPassword' });
      }
      await throttle.settle(attempt, 'succeeded');
    } finally {
      await throttle.settle(attempt, 'abandoned');
    }
    if (input.newPassword === input.currentPassword) {
      throw new DomainError('PASSWORD_UNCHANGED', 'The new password must differ from the current one', { field: 'newPassword' });
    }
    await this.assertPasswordAllowed(input.newPassword, row.username, 'newPassword');
    const passwordHash = await this.deps.hasher.hash(input.newPassword);
    return this.deps.db.transaction().execute(async (trx) => {
      await users.updateUserPasswordHash(trx, user.id, passwordHash);
      // A reset link made before (by an administrator, or by mail) would undo the change.
      await passwordResets.dropUnusedResetTokens(trx, user.id);
      const endedSessions = await sessions.revokeUserSessions(trx, user.id, 'password_changed', sessionOf(user));
      await recordAudit(trx, {
        action: 'auth.password_changed',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: row.username },
        details: { endedSessions },
      });
      return { endedSessions };
    });
  }

  /** The CSRF proof of a session: only a page that can read our cookies can know it. */
  csrfTokenFor(sessionId: string): string {
    return createHmac('sha256', this.deps.csrfKey).update(sessionId).digest('base64url');
  }

  #csrfMatches(sessionId: string, header: string | undefined): boolean {
    if (!header) return false;
    const expected = Buffer.from(this.csrfTokenFor(sessionId));
    const given = Buffer.from(header);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /**
   * A new session, its first tokens, and the end of the account's oldest sessions beyond
   * `MAX_SESSIONS_PER_USER`, all in the sign-in's transaction. Two sign-ins at the same moment
   * do not see each other's session, so each may leave one more for a moment; the next trims.
   */
  async #openSession(
    trx: Kysely<Database>,
    signingKey: SigningKey,
    user: { id: number; role: UserRole },
    client: ClientInfo,
    askedToRemember: boolean,
  ): Promise<{ issued: IssuedTokens; endedSessions: string[] }> {
    const settings = this.deps.settings.current;
    const now = Date.now();
    const remember = askedToRemember && user.role !== 'admin';
    const lifetimeSeconds = Math.min(
      sessionPolicy(settings, user.role, remember).maxLifetimeSeconds,
      this.deps.sessionMaxLifetimeSeconds ?? Number.POSITIVE_INFINITY,
    );
    const session = { id: randomUUID(), expiresAt: new Date(now + lifetimeSeconds * 1000) };
    await sessions.insertSession(trx, {
      id: session.id,
      userId: user.id,
      expiresAt: session.expiresAt,
      userAgent: client.userAgent?.slice(0, 500) ?? null,
      ip: client.ip,
      remember,
    });
    const endedSessions = await sessions.revokeSessionsBeyond(
      trx,
      user.id,
      { keep: MAX_SESSIONS_PER_USER, keepId: session.id, bounds: liveSessionBounds(settings, user.role, now) },
      'session_limit',
    );
    return { issued: await this.#issueTokens(trx, signingKey, user, session), endedSessions };
  }

  async #issueTokens(
    trx: Kysely<Database>,
    signingKey: SigningKey,
    user: { id: number; role: UserRole },
    session: { id: string; expiresAt: Date },
  ): Promise<IssuedTokens> {
    const settings = this.deps.settings.current;
    const sessionId = session.id;
    const refreshToken = generateOpaqueToken();
    // No refresh token outlives its session.
    const refreshExpiresAt = new Date(Math.min(session.expiresAt.getTime(), Date.now() + settings.refreshTokenTtlSeconds * 1000));
    await sessions.insertRefreshToken(trx, { tokenHash: hashOpaqueToken(refreshToken), sessionId, expiresAt: refreshExpiresAt });
    const access = await signAccessToken(
      signingKey,
      { userId: user.id, role: user.role, sessionId },
      { ...this.deps.tokens, ttlSeconds: settings.accessTokenTtlSeconds },
    );
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresAt,
      sessionId,
      csrfToken: this.csrfTokenFor(sessionId),
    };
  }
}

/**
 * The name a sign-in of no known account was attempted with, for the audit log: only when it
 * could be a username at all. People type passwords into the username field; those must not
 * end up readable by administrators.
 */
function nameAsTyped(typed: string): string | null {
  const name = typed.trim();
  return usernameSchema.safeParse(name).success ? name : null;
}

/**
 * The one refusal of an access token. A client can act only on `expired` (renew); every other
 * check (signature, key, issuer, lifetime, a session revoked or past its rules) answers
 * `invalid_token` alike, and which one failed is for the server's log.
 */
function accessTokenRefused(check: string): DomainError {
  const expired = check === 'expired';
  return new DomainError('INVALID_TOKEN', expired ? 'The access token has expired' : 'The access token is invalid', {
    details: { problem: expired ? 'expired' : 'invalid_token' },
    logDetails: { tokenCheck: check },
  });
}

/** The session of a signed-in call; a call with an API token has none and may do nothing that needs one. */
export function sessionOf(user: Pick<AuthUser, 'sessionId'>): string {
  if (user.sessionId === null) throw new DomainError('TOKEN_NOT_ALLOWED', 'This cannot be done with an API token; sign in');
  return user.sessionId;
}

function challengeInvalid(): DomainError {
  return new DomainError('MFA_CHALLENGE_INVALID', 'This sign-in step has expired or was already used; sign in again');
}

function methodOf(answer: FactorAnswer): FactorMethod | 'none' {
  if (answer.code !== undefined) return 'totp';
  if (answer.recoveryCode !== undefined) return 'recovery_code';
  if (answer.passkey !== undefined) return 'passkey';
  return 'none';
}

function accountDeactivated(): DomainError {
  return new DomainError('ACCOUNT_DEACTIVATED', 'This account has been deactivated; ask an administrator');
}

function usernameTaken(): DomainError {
  return new DomainError('USERNAME_TAKEN', 'This username is already taken', { field: 'username' });
}

/**
 * The same reason, status and Retry-After whichever count refused (the client locked out of the
 * account, the address out of every account, or the account slowing unknown clients), and never
 * a word on whether the account exists.
 */
function accountLocked(retryAfterMs: number, by: RefusedBy): DomainError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const message =
    by === 'account'
      ? `Too many failed sign-ins to this account; sign-ins from new devices are slowed, try again in ${retryAfterSeconds} seconds`
      : `Too many failed sign-ins; try again in ${retryAfterSeconds} seconds`;
  return new DomainError('ACCOUNT_LOCKED', message, { retryAfterSeconds });
}
