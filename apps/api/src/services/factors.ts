import { createHmac } from 'node:crypto';
import {
  generateOpaqueToken,
  generateRecoveryCodes,
  generateTotpSecret,
  hashOpaqueToken,
  hashRecoveryCode,
  matchTotpStep,
  openSecret,
  sealSecret,
  totpUri,
} from '@stm/auth';
import { type AuthChallengeKind, type Database, factors, type Kysely, sessions } from '@stm/db';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import QRCode from 'qrcode';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { type Actor, type ClientInfo, recordAudit } from './audit';
import type { SettingsService } from './settings';
import { enrolmentState, type EnrolmentState } from './step-up';

/** A sign-in waiting for its second factor lives this long, and dies after this many wrong answers. */
export const CHALLENGE_TTL_SECONDS = 5 * 60;
export const CHALLENGE_MAX_FAILURES = 5;

export interface WebAuthnConfig {
  rpId: string;
  rpName: string;
  /** The origins pages may use passkeys from; undefined: any http(s) origin whose host is the RP ID. */
  origins: string[] | undefined;
}

/** What a second factor is answered with: exactly one of these. */
export interface FactorAnswer {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  passkey?: AuthenticationResponseJSON | undefined;
}

export type FactorMethod = 'totp' | 'recovery_code' | 'passkey';

export interface FactorUser {
  id: number;
  username: string;
  role: 'admin' | 'user';
  mfaEnabled: boolean;
  mfaGraceStartedAt: Date | null;
}

export interface ChallengeIssued {
  challenge: string;
  expiresIn: number;
  methods: FactorMethod[];
  /** For `navigator.credentials.get` (with @simplewebauthn/browser's `startAuthentication`), when a passkey may answer. */
  passkeyOptions?: PublicKeyCredentialRequestOptionsJSON;
}

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  backedUp: boolean;
}

export interface FactorStatus {
  totp: boolean;
  passkeys: PasskeyView[];
  recoveryCodes: { total: number; unused: number };
  policy: EnrolmentState;
}

type ChallengeRow = NonNullable<Awaited<ReturnType<typeof factors.findLiveChallenge>>>;

function actorOf(user: { id: number; username: string }): Actor {
  return { id: user.id, username: user.username };
}

function passkeyView(row: { id: string; name: string; created_at: Date; last_used_at: Date | null; backed_up: boolean }): PasskeyView {
  return { id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at, backedUp: row.backed_up };
}

/**
 * Second factors: TOTP (RFC 6238), recovery codes and passkeys (WebAuthn), and the short-lived
 * challenges that sign-ins and WebAuthn ceremonies answer. Every change is audited in its own
 * transaction, and keeps `users.mfa_enabled` (what a sign-in reads) in step with the factors.
 */
export class FactorService {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      settings: SettingsService;
      log: Logger;
      /** Seals TOTP secrets at rest. */
      totpKey: Buffer;
      /** Makes each account's stable, opaque WebAuthn user handle. */
      userHandleKey: Buffer;
      webauthn: WebAuthnConfig;
      issuer: string;
    },
  ) {}

  async status(user: FactorUser): Promise<FactorStatus> {
    const { db } = this.deps;
    const [totp, passkeys, recoveryCodes] = await Promise.all([
      factors.findTotp(db, user.id),
      factors.listPasskeys(db, user.id),
      factors.countRecoveryCodes(db, user.id),
    ]);
    let graceStartedAt = user.mfaGraceStartedAt;
    const policy = enrolmentState(this.deps.settings.current, { ...user, mfaGraceStartedAt: graceStartedAt });
    if (policy.required && !user.mfaEnabled && graceStartedAt === null) graceStartedAt = await factors.startMfaGrace(db, user.id);
    return {
      totp: totp?.confirmed_at != null,
      passkeys: passkeys.map(passkeyView),
      recoveryCodes,
      policy: enrolmentState(this.deps.settings.current, { ...user, mfaGraceStartedAt: graceStartedAt }),
    };
  }

  /** Starts (or restarts) a TOTP enrolment: the secret is shown this once, as text and as a QR code. */
  async beginTotp(user: FactorUser): Promise<{ secret: string; uri: string; qrCode: string }> {
    const secret = generateTotpSecret();
    const stored = await factors.putPendingTotp(this.deps.db, user.id, sealSecret(secret, this.#totpContext(user.id), this.deps.totpKey));
    if (!stored) throw new DomainError('TOTP_ALREADY_ENABLED', 'An authenticator app is already set up; remove it first to set up another');
    const uri = totpUri(secret, { issuer: this.deps.issuer, label: user.username });
    const qrCode = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret, uri, qrCode: `data:image/svg+xml;base64,${Buffer.from(qrCode).toString('base64')}` };
  }

  /** Confirms the enrolment with a first code; the first factor of an account brings its recovery codes. */
  async confirmTotp(user: FactorUser, code: string, client: ClientInfo): Promise<{ recoveryCodes: string[] | null }> {
    const row = await factors.findTotp(this.deps.db, user.id);
    if (!row || row.confirmed_at !== null) {
      throw new DomainError(row ? 'TOTP_ALREADY_ENABLED' : 'TOTP_NOT_STARTED', row ? 'An authenticator app is already set up' : 'Start the set-up first');
    }
    const step = matchTotpStep(this.#openTotp(user.id, row.secret), code, Date.now());
    if (step === null)
      throw new DomainError('MFA_CODE_INVALID', 'That code is not right; check the time on your device and try the current code', { field: 'code' });
    return this.deps.db.transaction().execute(async (trx) => {
      if (!(await factors.spendTotpStep(trx, user.id, step, true))) throw new DomainError('CONFLICT', 'The set-up changed meanwhile; start again');
      await factors.refreshMfaEnabled(trx, user.id);
      const recoveryCodes = (await factors.countRecoveryCodes(trx, user.id)).unused === 0 ? await this.#replaceRecoveryCodes(trx, user.id) : null;
      await recordAudit(trx, {
        action: 'mfa.totp_enabled',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { recoveryCodesGenerated: recoveryCodes !== null },
      });
      return { recoveryCodes };
    });
  }

  async disableTotp(user: FactorUser, client: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await factors.deleteTotp(trx, user.id))) throw new DomainError('NOT_FOUND', 'No authenticator app is set up');
      const stillEnabled = await factors.refreshMfaEnabled(trx, user.id);
      // Recovery codes stand in for a factor; with none left they would be a factor of their own.
      if (!stillEnabled) await factors.replaceRecoveryCodes(trx, user.id, []);
      await recordAudit(trx, { action: 'mfa.totp_disabled', actor: actorOf(user), client, target: { type: 'user', id: user.id, label: user.username } });
    });
  }

  /** Ten new codes, shown this once; the earlier ones stop working. Only with a factor to recover. */
  async regenerateRecoveryCodes(user: FactorUser, client: ClientInfo): Promise<string[]> {
    return this.deps.db.transaction().execute(async (trx) => {
      if (!user.mfaEnabled) throw new DomainError('CONFLICT', 'Set up an authenticator app or a passkey first');
      const codes = await this.#replaceRecoveryCodes(trx, user.id);
      await recordAudit(trx, {
        action: 'mfa.recovery_codes_generated',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
      });
      return codes;
    });
  }

  async listPasskeys(user: { id: number }): Promise<PasskeyView[]> {
    return (await factors.listPasskeys(this.deps.db, user.id)).map(passkeyView);
  }

  async passkeyRegistrationOptions(user: FactorUser, sessionId: string) {
    const existing = await factors.listPasskeys(this.deps.db, user.id);
    const options = await generateRegistrationOptions({
      rpName: this.deps.webauthn.rpName,
      rpID: this.deps.webauthn.rpId,
      userName: user.username,
      userID: this.#userHandle(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({ id: row.id, transports: row.transports })),
      // Discoverable, so it can sign in without a username typed.
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      timeout: CHALLENGE_TTL_SECONDS * 1000,
    });
    const challenge = await this.#issueChallenge('passkey_register', { userId: user.id, sessionId, webauthnChallenge: options.challenge, remember: false });
    return { challenge, options };
  }

  /** Adds a passkey; the first factor of an account brings its recovery codes, shown this once. */
  async registerPasskey(
    user: FactorUser,
    sessionId: string,
    input: { challenge: string; name: string; response: RegistrationResponseJSON },
    client: ClientInfo,
  ): Promise<{ passkey: PasskeyView; recoveryCodes: string[] | null }> {
    const { db, webauthn } = this.deps;
    const tokenHash = hashOpaqueToken(input.challenge);
    const row = await factors.findLiveChallenge(db, tokenHash, 'passkey_register');
    if (!row || row.user_id !== user.id || row.session_id !== sessionId || !row.webauthn_challenge) {
      throw new DomainError('MFA_CHALLENGE_INVALID', 'The passkey request expired; start again');
    }
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: row.webauthn_challenge,
        expectedOrigin: this.#expectedOrigin(input.response.response.clientDataJSON),
        expectedRPID: webauthn.rpId,
        requireUserVerification: false,
      });
    } catch (error) {
      throw new DomainError('PASSKEY_REGISTRATION_FAILED', 'The passkey could not be verified', { logDetails: { problem: (error as Error).message } });
    }
    if (!verified.verified) throw new DomainError('PASSKEY_REGISTRATION_FAILED', 'The passkey could not be verified');
    const { credential, credentialBackedUp } = verified.registrationInfo;
    return db.transaction().execute(async (trx) => {
      if (!(await factors.spendChallenge(trx, tokenHash))) throw new DomainError('MFA_CHALLENGE_INVALID', 'The passkey request was already used; start again');
      const inserted = await factors.insertPasskey(trx, {
        id: credential.id,
        userId: user.id,
        name: input.name,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: credential.transports ?? [],
        backedUp: credentialBackedUp,
      });
      await factors.refreshMfaEnabled(trx, user.id);
      const recoveryCodes = (await factors.countRecoveryCodes(trx, user.id)).unused === 0 ? await this.#replaceRecoveryCodes(trx, user.id) : null;
      await recordAudit(trx, {
        action: 'mfa.passkey_added',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { passkey: input.name, backedUp: credentialBackedUp, recoveryCodesGenerated: recoveryCodes !== null },
      });
      return { passkey: passkeyView(inserted), recoveryCodes };
    });
  }

  async renamePasskey(user: FactorUser, id: string, name: string, client: ClientInfo): Promise<PasskeyView> {
    return this.deps.db.transaction().execute(async (trx) => {
      const row = await factors.renamePasskey(trx, user.id, id, name);
      if (!row) throw new DomainError('NOT_FOUND', 'No such passkey');
      await recordAudit(trx, {
        action: 'mfa.passkey_renamed',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { passkey: name },
      });
      return passkeyView(row);
    });
  }

  async removePasskey(user: FactorUser, id: string, client: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const removed = await factors.deletePasskey(trx, user.id, id);
      if (!removed) throw new DomainError('NOT_FOUND', 'No such passkey');
      const stillEnabled = await factors.refreshMfaEnabled(trx, user.id);
      if (!stillEnabled) await factors.replaceRecoveryCodes(trx, user.id, []);
      await recordAudit(trx, {
        action: 'mfa.passkey_removed',
        actor: actorOf(user),
        client,
        target: { type: 'user', id: user.id, label: user.username },
        details: { passkey: removed.name },
      });
    });
  }

  /** An administrator's reset (a lost phone): every factor goes and every session of the user ends. */
  async resetFactors(actor: Actor, target: { id: number; username: string }, client: ClientInfo | null): Promise<{ endedSessions: number }> {
    return this.deps.db.transaction().execute(async (trx) => {
      const removed = await factors.deleteAllFactors(trx, target.id);
      const endedSessions = await sessions.revokeUserSessions(trx, target.id, 'factors_reset');
      await recordAudit(trx, {
        action: 'mfa.factors_reset',
        actor,
        client,
        target: { type: 'user', id: target.id, label: target.username },
        details: { ...removed, endedSessions },
      });
      return { endedSessions };
    });
  }

  /**
   * A challenge for a second factor (a sign-in or a step-up), naming the methods the account can
   * answer with; with passkeys, the WebAuthn request options too.
   */
  async issueFactorChallenge(
    kind: 'sign_in' | 'step_up',
    user: { id: number },
    binding: { sessionId: string | null; remember: boolean },
  ): Promise<ChallengeIssued> {
    const { db } = this.deps;
    const [totp, passkeys, codes] = await Promise.all([
      factors.findTotp(db, user.id),
      factors.listPasskeys(db, user.id),
      factors.countRecoveryCodes(db, user.id),
    ]);
    const methods: FactorMethod[] = [];
    if (totp?.confirmed_at != null) methods.push('totp');
    if (codes.unused > 0) methods.push('recovery_code');
    let passkeyOptions: PublicKeyCredentialRequestOptionsJSON | undefined;
    if (passkeys.length > 0) {
      methods.push('passkey');
      passkeyOptions = await generateAuthenticationOptions({
        rpID: this.deps.webauthn.rpId,
        allowCredentials: passkeys.map((row) => ({ id: row.id, transports: row.transports })),
        userVerification: 'preferred',
        timeout: CHALLENGE_TTL_SECONDS * 1000,
      });
    }
    const challenge = await this.#issueChallenge(kind, {
      userId: user.id,
      sessionId: binding.sessionId,
      webauthnChallenge: passkeyOptions?.challenge ?? null,
      remember: binding.remember,
    });
    return { challenge, expiresIn: CHALLENGE_TTL_SECONDS, methods, ...(passkeyOptions ? { passkeyOptions } : {}) };
  }

  /** Options for signing in with a passkey alone: any discoverable credential of this site. */
  async passkeySignInOptions(remember: boolean): Promise<{ challenge: string; expiresIn: number; options: PublicKeyCredentialRequestOptionsJSON }> {
    const options = await generateAuthenticationOptions({ rpID: this.deps.webauthn.rpId, userVerification: 'required', timeout: CHALLENGE_TTL_SECONDS * 1000 });
    const challenge = await this.#issueChallenge('passkey_sign_in', { userId: null, sessionId: null, webauthnChallenge: options.challenge, remember });
    return { challenge, expiresIn: CHALLENGE_TTL_SECONDS, options };
  }

  /** A live challenge of that kind, or null; not spent. */
  findChallenge(token: string, kind: AuthChallengeKind): Promise<ChallengeRow | undefined> {
    return factors.findLiveChallenge(this.deps.db, hashOpaqueToken(token), kind);
  }

  /** Counts a wrong answer to the challenge; returns how many it has had. */
  recordChallengeFailure(row: ChallengeRow): Promise<number> {
    return factors.recordChallengeFailure(this.deps.db, row.token_hash, CHALLENGE_MAX_FAILURES);
  }

  /**
   * Checks the answer to a challenge and, if right, spends what it used (the TOTP's time step,
   * the recovery code, the passkey's counter) and the challenge itself, in `trx`. Returns the
   * method that answered, or null for a wrong answer (nothing spent).
   */
  async verifyAnswer(
    trx: Kysely<Database>,
    row: ChallengeRow,
    userId: number,
    answer: FactorAnswer,
    options: { requireUserVerification: boolean },
  ): Promise<FactorMethod | null> {
    let method: FactorMethod | null = null;
    if (answer.code !== undefined) {
      const totp = await factors.findTotp(trx, userId);
      if (totp?.confirmed_at != null) {
        const step = matchTotpStep(this.#openTotp(userId, totp.secret), answer.code.trim(), Date.now());
        // A code already accepted (this one, or a later one) is refused: a replay within its window.
        if (step !== null && (await factors.spendTotpStep(trx, userId, step, false))) method = 'totp';
      }
    } else if (answer.recoveryCode !== undefined) {
      if (await factors.spendRecoveryCode(trx, userId, hashRecoveryCode(answer.recoveryCode))) method = 'recovery_code';
    } else if (answer.passkey !== undefined) {
      if (await this.#verifyPasskey(trx, row, answer.passkey, options.requireUserVerification, userId)) method = 'passkey';
    }
    if (method === null) return null;
    if (!(await factors.spendChallenge(trx, row.token_hash)))
      throw new DomainError('MFA_CHALLENGE_INVALID', 'This sign-in step was already completed or has expired; sign in again');
    return method;
  }

  /** The user a passkey-alone answer belongs to, if the credential is one of ours. */
  async passkeyOwner(response: AuthenticationResponseJSON): Promise<number | undefined> {
    return (await factors.findPasskey(this.deps.db, response.id))?.user_id;
  }

  async #verifyPasskey(
    trx: Kysely<Database>,
    row: ChallengeRow,
    response: AuthenticationResponseJSON,
    requireUserVerification: boolean,
    userId: number,
  ): Promise<boolean> {
    if (!row.webauthn_challenge) return false;
    const passkey = await factors.findPasskey(trx, response.id);
    if (!passkey || passkey.user_id !== userId) return false;
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: row.webauthn_challenge,
        expectedOrigin: this.#expectedOrigin(response.response.clientDataJSON),
        expectedRPID: this.deps.webauthn.rpId,
        credential: {
          id: passkey.id,
          publicKey: Buffer.from(passkey.public_key, 'base64url'),
          counter: Number(passkey.counter),
          transports: passkey.transports,
        },
        requireUserVerification,
      });
      if (!result.verified) return false;
      await factors.recordPasskeyUse(trx, passkey.id, result.authenticationInfo.newCounter);
      return true;
    } catch (error) {
      this.deps.log.info({ problem: (error as Error).message }, 'passkey assertion refused');
      return false;
    }
  }

  async #replaceRecoveryCodes(trx: Kysely<Database>, userId: number): Promise<string[]> {
    const codes = generateRecoveryCodes();
    await factors.replaceRecoveryCodes(trx, userId, codes.map(hashRecoveryCode));
    return codes;
  }

  async #issueChallenge(
    kind: AuthChallengeKind,
    fields: { userId: number | null; sessionId: string | null; webauthnChallenge: string | null; remember: boolean },
  ): Promise<string> {
    const token = generateOpaqueToken();
    await factors.insertChallenge(this.deps.db, {
      tokenHash: hashOpaqueToken(token),
      kind,
      ...fields,
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_SECONDS * 1000),
    });
    return token;
  }

  /**
   * The origin the browser reports, if it is one passkeys may be used from: one of RP_ORIGIN,
   * or, when that is unset, any http(s) origin on the RP ID's host. Otherwise one that cannot
   * match, so the library refuses the answer.
   */
  #expectedOrigin(clientDataJSON: string): string {
    const { origins, rpId } = this.deps.webauthn;
    let origin = '';
    try {
      const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { origin?: unknown };
      if (typeof parsed.origin === 'string') origin = parsed.origin;
    } catch {
      return 'invalid:';
    }
    if (origins) return origins.includes(origin) ? origin : (origins[0] ?? 'invalid:');
    try {
      const url = new URL(origin);
      if ((url.protocol === 'https:' || url.protocol === 'http:') && url.hostname === rpId && url.origin === origin) return origin;
    } catch {
      // Not a URL: the relying party's own origin below.
    }
    return `https://${rpId}`;
  }

  #userHandle(userId: number): Uint8Array<ArrayBuffer> {
    return new Uint8Array(createHmac('sha256', this.deps.userHandleKey).update(String(userId)).digest());
  }

  #totpContext(userId: number): string {
    return `totp:${userId}`;
  }

  #openTotp(userId: number, sealed: string): string {
    return openSecret(sealed, this.#totpContext(userId), this.deps.totpKey);
  }
}
