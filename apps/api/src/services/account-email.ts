import { generateOpaqueToken, hashOpaqueToken } from '@stm/auth';
import { type Database, emails, isUniqueViolation, type Kysely } from '@stm/db';
import { DomainError } from '../errors';
import { type ClientInfo, recordAudit } from './audit';
import { actorOf } from './auth';
import type { MailService } from './mail';

/** How long a verification link works. */
export const EMAIL_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
/** Verification mail one account may have sent per hour: enough for a typo or a lost message, too few to flood anyone. */
export const VERIFICATION_MAIL_PER_HOUR = 5;
const HOUR_MS = 60 * 60 * 1000;

/** The console page a verification link opens; the token travels in the fragment (see the console's `reset-link.ts`). */
export const VERIFY_EMAIL_PATH = '/verify-email';

export interface AccountEmail {
  /** The proved address: reset and notification mail go here. */
  email: string | null;
  verifiedAt: Date | null;
  /** An address given and not yet confirmed. */
  pendingEmail: string | null;
}

/** A link into the console, or null when the server does not know where people reach it. */
export function consoleLink(publicUrl: string | undefined, path: string, token: string): string | null {
  return publicUrl ? `${publicUrl}${path}#${new URLSearchParams({ token }).toString()}` : null;
}

function emailTaken(): DomainError {
  return new DomainError('EMAIL_TAKEN', 'Another account uses this email address', { field: 'email' });
}

function tokenInvalid(): DomainError {
  return new DomainError('EMAIL_TOKEN_INVALID', 'This confirmation link is invalid, used or expired; ask for a new one from your account page', {
    field: 'token',
  });
}

/**
 * A person's email address. A new address is only pending until its owner opens the link mailed
 * to it (single use, 24 hours); until then the address proved before, if any, stays the one mail
 * goes to, and it is told of the change, so a change made by someone else is noticed where the
 * owner still reads. Unique whatever the letter case, among proved addresses.
 */
export class AccountEmailService {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      mail: MailService;
      publicUrl: string | undefined;
    },
  ) {}

  async get(user: { id: number }): Promise<AccountEmail> {
    const row = await emails.findUserEmail(this.deps.db, user.id);
    return { email: row?.email ?? null, verifiedAt: row?.email_verified_at ?? null, pendingEmail: row?.pending_email ?? null };
  }

  /**
   * Gives the account a new address (mailing it a link to confirm it), or removes both (null).
   * Giving the proved address again just cancels a pending change.
   */
  async set(user: { id: number; username: string }, email: string | null, client: ClientInfo): Promise<AccountEmail> {
    const address = email?.trim() ?? null;
    let mailed = false;
    await this.deps.db.transaction().execute(async (trx) => {
      const current = await emails.lockUserEmail(trx, user.id);
      if (!current) throw new DomainError('UNAUTHENTICATED', 'Sign in first');
      const language = await this.deps.mail.languageOf(trx, user.id);
      const target = { type: 'user', id: user.id, label: user.username };
      if (address === null) {
        if (current.email === null && current.pending_email === null) return;
        await emails.clearEmail(trx, user.id);
        await emails.dropVerificationTokens(trx, user.id);
        if (current.email) {
          await this.deps.mail.enqueueTemplate(trx, {
            kind: 'email-changed',
            to: current.email,
            userId: user.id,
            language,
            params: { username: user.username, newAddress: null },
          });
          mailed = true;
        }
        await recordAudit(trx, { action: 'account.email_removed', actor: actorOf(user), client, target });
        return;
      }
      if (current.email !== null && current.email.toLowerCase() === address.toLowerCase()) {
        await emails.setPendingEmail(trx, user.id, null);
        await emails.dropVerificationTokens(trx, user.id);
        return;
      }
      await this.#assertMailBudget(trx, user.id);
      await emails.setPendingEmail(trx, user.id, address);
      await this.#offer(trx, user, address, language);
      // Told where the owner surely reads: a change they did not make is noticed before it is confirmed.
      if (current.email !== null) {
        await this.deps.mail.enqueueTemplate(trx, {
          kind: 'email-changed',
          to: current.email,
          userId: user.id,
          language,
          params: { username: user.username, newAddress: address },
        });
      }
      mailed = true;
      await recordAudit(trx, {
        action: 'account.email_change_requested',
        actor: actorOf(user),
        client,
        target,
        details: { pendingEmail: address, previousEmail: current.email },
      });
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set inside the transaction's callback, which TypeScript's narrowing does not follow
    if (mailed) this.deps.mail.kick();
    return this.get(user);
  }

  /** A new link to the pending address; the earlier ones stop working. */
  async resend(user: { id: number; username: string }): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      // Locked, so two resends at once count each other.
      const current = await emails.lockUserEmail(trx, user.id);
      if (!current?.pending_email) throw new DomainError('EMAIL_NOT_PENDING', 'There is no address waiting for confirmation', { field: 'email' });
      await this.#assertMailBudget(trx, user.id);
      await this.#offer(trx, user, current.pending_email, await this.deps.mail.languageOf(trx, user.id));
    });
    this.deps.mail.kick();
  }

  /** Spends a link: its address becomes the account's proved address. Unknown, used and expired links are refused alike. */
  async verify(token: string, client: ClientInfo): Promise<{ email: string }> {
    try {
      return await this.deps.db.transaction().execute(async (trx) => {
        const spent = await emails.consumeVerificationToken(trx, hashOpaqueToken(token));
        if (!spent) throw tokenInvalid();
        if (await emails.findOtherUserWithEmail(trx, spent.email, spent.user_id)) throw emailTaken();
        await emails.confirmEmail(trx, spent.user_id, spent.email);
        await recordAudit(trx, {
          action: 'account.email_verified',
          actor: { id: spent.user_id, username: spent.username },
          client,
          target: { type: 'user', id: spent.user_id, label: spent.username },
          details: { email: spent.email, previousEmail: spent.previous_email },
        });
        return { email: spent.email };
      });
    } catch (error) {
      // Another account proved the same address between the check and the write.
      if (isUniqueViolation(error)) throw emailTaken();
      throw error;
    }
  }

  /** However the links are asked for (a new address, a resend), an account sends few of them: nobody's mailbox is flooded through it. */
  async #assertMailBudget(trx: Kysely<Database>, userId: number): Promise<void> {
    const sent = await emails.countMailSince(trx, userId, ['email-verification', 'email-in-use'], new Date(Date.now() - HOUR_MS));
    if (sent >= VERIFICATION_MAIL_PER_HOUR) {
      throw new DomainError('RATE_LIMITED', 'Too many confirmation messages were sent in the last hour; try again later', { retryAfterSeconds: 3600 });
    }
  }

  /**
   * Mails a pending address its link, unless another account has proved it: then its owner is
   * told instead and no link goes out. The person asking is answered alike either way (the
   * address pending, the same budget spent), so giving addresses tells nobody whose they are.
   */
  async #offer(trx: Kysely<Database>, user: { id: number; username: string }, address: string, language: 'en' | 'es'): Promise<void> {
    const owner = await emails.findOtherUserWithEmail(trx, address, user.id);
    if (!owner) return this.#sendLink(trx, user, address, language);
    await this.deps.mail.enqueueTemplate(trx, {
      kind: 'email-in-use',
      to: owner.email ?? address,
      // Counted against the budget of the one who asked.
      userId: user.id,
      language: await this.deps.mail.languageOf(trx, owner.id),
      params: { username: owner.username, address: owner.email ?? address },
    });
  }

  async #sendLink(trx: Kysely<Database>, user: { id: number; username: string }, address: string, language: 'en' | 'es'): Promise<void> {
    const token = generateOpaqueToken();
    await emails.replaceVerificationToken(trx, {
      tokenHash: hashOpaqueToken(token),
      userId: user.id,
      email: address,
      expiresAt: new Date(Date.now() + EMAIL_TOKEN_TTL_MS),
    });
    await this.deps.mail.enqueueTemplate(trx, {
      kind: 'email-verification',
      to: address,
      userId: user.id,
      language,
      params: {
        username: user.username,
        address,
        link: consoleLink(this.deps.publicUrl, VERIFY_EMAIL_PATH, token),
        token,
        hours: EMAIL_TOKEN_TTL_MS / HOUR_MS,
      },
    });
  }
}
