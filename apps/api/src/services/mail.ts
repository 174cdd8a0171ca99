import { hostname } from 'node:os';
import { type Database, type Kysely, mailOutbox, notifications } from '@stm/db';
import type { AppConfig } from '../env';
import type { Logger } from '../logger';
import { CoalescedRuns } from './coalesced-runs';
import { type MailLanguage, type MailTemplateKind, type MailTemplates, renderMail } from './mail-templates';
import { createMailTransport, type MailTransport } from './mail-transport';

/** A message to send. `kind` names what it is (`notification-digest`, …) for the log and the outbox. */
export interface MailMessage {
  kind: string;
  to: string;
  subject: string;
  text: string;
  html?: string | undefined;
  /** The account it is for, if any. */
  userId?: number | null | undefined;
}

/** The longest a worker holds a message it is sending before another may take it over. */
const LEASE_MS = 5 * 60_000;
const MAX_RETRY_WAIT_MS = 60 * 60_000;
const BATCH = 20;

/**
 * Mail: written to the outbox table inside the caller's transaction (so it is sent exactly when
 * the change that decided it commits), then delivered by a worker on every instance, each
 * message by one worker at a time (`FOR UPDATE SKIP LOCKED` and a lease), with retries and
 * exponential backoff. A request never waits on the mail server.
 *
 * Use:
 * - `enqueue(trx, { kind, to, subject, text, html?, userId? })` for a message made elsewhere;
 * - `enqueueTemplate(trx, { kind, to, language, params, userId? })` for one of `mail-templates.ts`,
 *   in English or Spanish (`languageOf(db, userId)` is the person's choice, or `MAIL_LANGUAGE`);
 * - `kick()` after the transaction commits, to deliver now rather than at the next poll.
 */
export class MailService {
  readonly transport: MailTransport;
  #timer: NodeJS.Timeout | undefined;
  readonly #runs = new CoalescedRuns(
    () => this.deliverDue(),
    (error) => this.log.warn({ err: error }, 'mail delivery run failed'),
  );
  readonly #messageHost = hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: AppConfig['mail'],
    private readonly log: Logger,
    transport?: MailTransport,
  ) {
    this.transport = transport ?? createMailTransport(config);
  }

  /** Puts a message in the outbox, in `trx`: it goes out once (and only if) that transaction commits. */
  async enqueue(trx: Kysely<Database>, message: MailMessage): Promise<number> {
    return mailOutbox.insertMail(trx, {
      kind: message.kind,
      userId: message.userId ?? null,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html ?? null,
    });
  }

  /** A message of one of the product's templates, in `language`. */
  async enqueueTemplate<K extends MailTemplateKind>(
    trx: Kysely<Database>,
    message: { kind: K; to: string; language: MailLanguage; params: MailTemplates[K]; userId?: number | null },
  ): Promise<number> {
    const rendered = renderMail(message.kind, message.language, message.params);
    return this.enqueue(trx, { kind: message.kind, to: message.to, userId: message.userId, ...rendered });
  }

  /** The language of mail to this person: their choice, else the server's `MAIL_LANGUAGE`. */
  async languageOf(db: Kysely<Database>, userId: number): Promise<MailLanguage> {
    const [preferences] = await notifications.findPreferences(db, [userId]);
    return preferences?.language ?? this.config.language;
  }

  /**
   * Sends what is due now, batch after batch, until nothing is; returns how many were sent.
   * Failures are logged and rescheduled, never thrown.
   */
  async deliverDue(now: () => Date = () => new Date()): Promise<number> {
    let sent = 0;
    for (;;) {
      const batch = await mailOutbox.claimDueMail(this.db, now(), LEASE_MS, BATCH);
      for (const mail of batch) {
        try {
          await this.transport.send({
            messageId: `<stm-${mail.id}@${this.#messageHost}>`,
            from: this.config.from,
            to: mail.to_address,
            subject: mail.subject,
            text: mail.text_body,
            html: mail.html_body,
          });
          await mailOutbox.markMailSent(this.db, mail.id, now());
          sent += 1;
        } catch (error) {
          const reason = error instanceof Error ? error.message.slice(0, 500) : String(error);
          if (mail.attempts >= this.config.maxAttempts) {
            await mailOutbox.markMailFailed(this.db, mail.id, now(), reason);
            this.log.error({ mailId: mail.id, kind: mail.kind, attempts: mail.attempts, reason }, 'mail given up');
          } else {
            const wait = Math.min(this.config.retryBaseMs * 2 ** (mail.attempts - 1), MAX_RETRY_WAIT_MS);
            await mailOutbox.markMailRetry(this.db, mail.id, new Date(now().getTime() + wait), reason);
            this.log.warn({ mailId: mail.id, kind: mail.kind, attempts: mail.attempts, retryInMs: wait, reason }, 'mail not delivered; will retry');
          }
        }
      }
      if (batch.length < BATCH) return sent;
    }
  }

  /** Delivers soon, without waiting: after a transaction that enqueued something committed. */
  kick(): void {
    this.#runs.request();
  }

  start(): void {
    if (this.#timer || this.config.pollMs === undefined) return;
    this.log.info({ mailTo: this.transport.target }, 'mail delivery started');
    this.#timer = setInterval(() => this.kick(), this.config.pollMs).unref();
    this.kick();
  }

  /** Stops polling and waits for a delivery in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#runs.stop();
    this.transport.close();
  }
}
