import { generateOpaqueToken, hashOpaqueToken, type PasswordHasher } from '@stm/auth';
import { type Database, emails, type Kysely, passwordResets, sessions, users } from '@stm/db';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { consoleLink } from './account-email';
import { type Actor, type ClientInfo, recordAudit } from './audit';
import type { AuthService } from './auth';
import { accountKeyOf } from './lockout';
import type { MailService } from './mail';
import type { SignInThrottle } from './sign-in-throttle';
import type { AdminActor } from './audit';
import { authorize, userNotFound } from './users';

/** How long a reset link works: long enough to hand over, short enough not to linger. */
export const RESET_TOKEN_TTL_MS = 60 * 60 * 1000;
/**
 * Reset mail one account may be sent per hour, however many people ask for it and from where:
 * enough for a lost message or two, too few to flood its owner. Past it, requests are answered
 * as always and send nothing, so the answer still says nothing about the account.
 */
export const RESET_MAIL_PER_HOUR = 3;
/** The console page a reset link opens (the console's `RESET_PASSWORD_PATH`). */
export const RESET_PASSWORD_PATH = '/reset-password';

export interface ResetLink {
  /** Shown once to the admin who asked for it; only its hash is stored. */
  token: string;
  expiresAt: Date;
}

/**
 * Password resets. A single-use link valid one hour comes either from an administrator, who
 * hands it over, or by mail to the account's proved address when someone asks for it by username
 * or address ("forgot password"); the user sets a new password with it. The operator at the CLI
 * can set one directly. Every way ends every session of the user, is audited and clears the
 * failed-login counter.
 */
export class PasswordResetService {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      hasher: PasswordHasher;
      auth: AuthService;
      throttle: SignInThrottle;
      mail: MailService;
      publicUrl: string | undefined;
      log: Logger;
    },
  ) {}

  readonly #inFlight = new Set<Promise<void>>();

  /**
   * "Forgot password": mails a reset link to the proved address of the account named by
   * `identifier` (its username or that address, any case), if there is such an active account
   * with such an address and its hourly budget of reset mail is not spent.
   *
   * Returns before the account is even looked up: whatever the identifier, the caller sees the
   * same answer after the same work, so neither the answer nor its timing tells whether an
   * account exists. The lookup and the mail happen after, off the request.
   */
  requestByMail(identifier: string, client: ClientInfo): void {
    const work = this.#mailLink(identifier.trim(), client)
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'password reset mail not prepared'))
      .finally(() => this.#inFlight.delete(work));
    this.#inFlight.add(work);
  }

  /** Waits for the reset requests being handled (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #mailLink(identifier: string, client: ClientInfo): Promise<void> {
    const found = identifier.includes('@')
      ? await emails.findResetCandidateByEmail(this.deps.db, identifier)
      : await emails.findResetCandidateByUsername(this.deps.db, identifier);
    // Only a proved address is ever sent a reset link.
    if (!found?.email) return;
    const sent = await this.deps.db.transaction().execute(async (trx) => {
      // Locked, so requests on several instances at once count each other.
      const user = await users.lockUserById(trx, found.id);
      const current = await emails.findUserEmail(trx, found.id);
      if (!user || !current?.email) return false;
      const recent = await emails.countMailSince(trx, found.id, ['password-reset'], new Date(Date.now() - RESET_TOKEN_TTL_MS));
      if (recent >= RESET_MAIL_PER_HOUR) {
        this.deps.log.info({ userId: found.id }, 'password reset mail skipped: the account had enough this hour');
        return false;
      }
      const token = generateOpaqueToken();
      const expiresAt = new Date(Date.now() + RESET_TOKEN_TTL_MS);
      await passwordResets.replaceResetToken(trx, { tokenHash: hashOpaqueToken(token), userId: found.id, createdBy: null, expiresAt });
      await this.deps.mail.enqueueTemplate(trx, {
        kind: 'password-reset',
        to: current.email,
        userId: found.id,
        language: await this.deps.mail.languageOf(trx, found.id),
        params: {
          username: user.username,
          link: consoleLink(this.deps.publicUrl, RESET_PASSWORD_PATH, token),
          token,
          minutes: RESET_TOKEN_TTL_MS / 60_000,
        },
      });
      await recordAudit(trx, {
        action: 'auth.password_reset_requested',
        actor: { id: null, username: null },
        client,
        target: { type: 'user', id: found.id, label: user.username },
        details: { via: identifier.includes('@') ? 'email' : 'username', expiresAt: expiresAt.toISOString() },
      });
      return true;
    });
    if (sent) this.deps.mail.kick();
  }

  /** A new link for the user; any older unused link of theirs stops working. */
  async createLink(actor: AdminActor, userId: number, client: ClientInfo | null): Promise<ResetLink> {
    authorize(actor);
    const token = generateOpaqueToken();
    const expiresAt = new Date(Date.now() + RESET_TOKEN_TTL_MS);
    await this.deps.db.transaction().execute(async (trx) => {
      const user = await users.lockUserById(trx, userId);
      if (!user) throw userNotFound();
      await passwordResets.replaceResetToken(trx, {
        tokenHash: hashOpaqueToken(token),
        userId,
        createdBy: actor.id,
        expiresAt,
      });
      await recordAudit(trx, {
        action: 'user.reset_link_created',
        actor,
        client,
        target: { type: 'user', id: userId, label: user.username },
        details: { expiresAt: expiresAt.toISOString() },
      });
    });
    return { token, expiresAt };
  }

  /** Spends the token and sets the password. Unknown, used and expired tokens are all refused alike. */
  async redeem(input: { token: string; newPassword: string }, client: ClientInfo): Promise<void> {
    const tokenHash = hashOpaqueToken(input.token);
    const holder = await passwordResets.findUsableResetToken(this.deps.db, tokenHash);
    if (!holder) throw invalidToken();
    // Checked before the token is spent, so a refused password leaves the link usable.
    await this.deps.auth.assertPasswordAllowed(input.newPassword, holder.username, 'newPassword');
    const passwordHash = await this.deps.hasher.hash(input.newPassword);
    await this.deps.db.transaction().execute(async (trx) => {
      const userId = await passwordResets.consumeResetToken(trx, tokenHash);
      // Spent by a concurrent request between the check above and now.
      if (userId === undefined) throw invalidToken();
      await this.#setPassword(trx, { id: userId, username: holder.username }, passwordHash, { id: userId, username: holder.username }, client, 'reset_link');
    });
    await this.#clearLockout(holder.username);
  }

  /** The operator sets a user's password directly (CLI `user:reset-password`). */
  async setPassword(actor: AdminActor, username: string, newPassword: string, client: ClientInfo | null): Promise<{ endedSessions: number }> {
    authorize(actor);
    const user = await users.findUserCredentialsByUsername(this.deps.db, username);
    if (!user) throw userNotFound();
    await this.deps.auth.assertPasswordAllowed(newPassword, user.username, 'newPassword');
    const passwordHash = await this.deps.hasher.hash(newPassword);
    const endedSessions = await this.deps.db.transaction().execute((trx) => this.#setPassword(trx, user, passwordHash, actor, client, 'operator'));
    await this.#clearLockout(user.username);
    return { endedSessions };
  }

  async #setPassword(
    trx: Kysely<Database>,
    user: { id: number; username: string },
    passwordHash: string,
    actor: Actor,
    client: ClientInfo | null,
    via: 'reset_link' | 'operator',
  ): Promise<number> {
    await users.updateUserPasswordHash(trx, user.id, passwordHash);
    const endedSessions = await sessions.revokeUserSessions(trx, user.id, 'password_reset');
    await recordAudit(trx, {
      action: 'auth.password_reset',
      actor,
      client,
      target: { type: 'user', id: user.id, label: user.username },
      details: { via, endedSessions },
    });
    return endedSessions;
  }

  /** A user who just proved control of the account should not stay locked out by earlier failures. */
  async #clearLockout(username: string): Promise<void> {
    await this.deps.throttle.clearAccount(accountKeyOf(username));
  }
}

function invalidToken(): DomainError {
  return new DomainError('RESET_TOKEN_INVALID', 'This reset link is invalid, used or expired; ask for a new one', {
    field: 'token',
  });
}
