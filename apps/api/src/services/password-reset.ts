import { generateOpaqueToken, hashOpaqueToken, type PasswordHasher } from '@stm/auth';
import { type Database, type Kysely, passwordResets, sessions, users } from '@stm/db';
import { DomainError } from '../errors';
import { type Actor, type ClientInfo, recordAudit } from './audit';
import type { AuthService } from './auth';
import { accountKeyOf } from './lockout';
import type { SignInThrottle } from './sign-in-throttle';
import { type AdminActor, authorize, userNotFound } from './users';

/** How long a reset link works: long enough to hand over, short enough not to linger. */
export const RESET_TOKEN_TTL_MS = 60 * 60 * 1000;

export interface ResetLink {
  /** Shown once to the admin who asked for it; only its hash is stored. */
  token: string;
  expiresAt: Date;
}

/**
 * Password resets without e-mail: an admin creates a single-use link and hands it over; the user
 * sets a new password with it. The operator at the CLI can set one directly. Either way every
 * session of the user ends and the failed-login counter is cleared.
 */
export class PasswordResetService {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      hasher: PasswordHasher;
      auth: AuthService;
      throttle: SignInThrottle;
    },
  ) {}

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
    const endedSessions = await this.deps.db.transaction().execute((trx) =>
      this.#setPassword(trx, user, passwordHash, actor, client, 'operator'),
    );
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
  return new DomainError('RESET_TOKEN_INVALID', 'This reset link is invalid, used or expired; ask an administrator for a new one', {
    field: 'token',
  });
}
