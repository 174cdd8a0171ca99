import { type Database, type Kysely, notifications } from '@stm/db';
import type { Logger } from '../logger';
import type { MailService } from './mail';
import type { DigestItem, MailLanguage } from './mail-templates';
import type { NotificationsService } from './notifications';

const HOUR_MS = 60 * 60_000;
/** "Due soon" is due within this much. */
export const DUE_SOON_MS = 24 * HOUR_MS;
/**
 * How far back a run looks for tasks that fell overdue: a run after downtime up to this long
 * still tells of them; a task overdue longer than that when notifications first run (an old
 * backlog) is not announced.
 */
export const OVERDUE_LOOKBACK_MS = 7 * 24 * HOUR_MS;
const BATCH = 500;
const DIGEST_ITEMS = 50;
const LOCK = 'stm.notifications.scheduler';

export interface TickResult {
  dueSoon: number;
  overdue: number;
  digests: number;
}

export interface SchedulerOptions {
  /** Undefined: runs only when `tick` is called. */
  intervalMs: number | undefined;
  digestMinutes: number;
  mailLanguage: MailLanguage;
  /** Where people reach the console, for links in mail. */
  publicUrl: string | undefined;
}

/**
 * The time-based work: "due soon" and "overdue" notifications, and mail digests. Every instance
 * runs it on a timer, and a transaction-scoped advisory lock lets one run at a time across them
 * all (the others skip that turn). Each run scans by due time, so one after downtime catches up;
 * a due notification is unique per person, task and due time, so a run repeated, even past the
 * lock, adds nothing.
 */
export class NotificationScheduler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly notifications: NotificationsService,
    private readonly mail: MailService,
    private readonly options: SchedulerOptions,
    private readonly log: Logger,
  ) {}

  /** One run at `now`; null when another instance is running at that moment. */
  async tick(now: Date = new Date()): Promise<TickResult | null> {
    const result = await this.db.transaction().execute(async (trx) => {
      if (!(await notifications.tryAdvisoryXactLock(trx, LOCK))) return null;
      const dueSoon = await this.#timeBased(trx, 'due_soon', { from: now, to: new Date(now.getTime() + DUE_SOON_MS) });
      const overdue = await this.#timeBased(trx, 'overdue', { from: new Date(now.getTime() - OVERDUE_LOOKBACK_MS), to: now });
      const digests = await this.#digests(trx, now);
      return { dueSoon, overdue, digests };
    });
    return result;
  }

  async #timeBased(trx: Kysely<Database>, kind: 'due_soon' | 'overdue', window: { from: Date; to: Date }): Promise<number> {
    let made = 0;
    for (;;) {
      const candidates = await notifications.findDueCandidates(trx, kind, window, BATCH);
      if (candidates.length === 0) break;
      const added = await this.notifications.notify(
        trx,
        candidates.map((candidate) => ({
          kind,
          taskId: candidate.task_id,
          actorId: null,
          recipients: [candidate.user_id],
          details: { dueAt: candidate.due_at.toISOString() },
          dedupeKey: notifications.dueDedupeKey(kind, candidate.task_id, candidate.due_at),
        })),
      );
      made += added;
      // Every candidate gets its row (a suppressed one too), so a full batch means more may follow.
      if (candidates.length < BATCH || added === 0) break;
    }
    return made;
  }

  /** A digest for each person with mail waiting whose last one is at least `digestMinutes` old. */
  async #digests(trx: Kysely<Database>, now: Date): Promise<number> {
    const notBefore = new Date(now.getTime() - this.options.digestMinutes * 60_000);
    const base = this.options.publicUrl;
    let sent = 0;
    for (;;) {
      const recipients = await notifications.findDigestRecipients(trx, notBefore, 100);
      for (const recipient of recipients) {
        const pending = await notifications.pendingMail(trx, recipient.user_id, DIGEST_ITEMS);
        const last = pending.at(-1);
        if (!last || recipient.email === null) {
          // Only notifications of tasks they can no longer see: handled, never sent.
          await notifications.markMailed(trx, recipient.user_id, null, now);
          continue;
        }
        const items: DigestItem[] = pending.map((row) => ({
          kind: row.kind,
          taskId: row.task_id,
          taskTitle: row.task_title,
          actor: row.actor_username,
          dueAt: row.due_at,
          link: base ? `${base}/projects/${row.project_id}?task=${row.task_id}` : null,
        }));
        await this.mail.enqueueTemplate(trx, {
          kind: 'notification-digest',
          to: recipient.email,
          userId: recipient.user_id,
          language: recipient.language ?? this.options.mailLanguage,
          params: { username: recipient.username, items, more: 0, settingsLink: base ? `${base}/account` : null },
        });
        await notifications.markMailed(trx, recipient.user_id, last.id, now);
        await notifications.setLastDigest(trx, recipient.user_id, now);
        sent += 1;
      }
      if (recipients.length < 100) return sent;
    }
  }

  start(): void {
    const interval = this.options.intervalMs;
    if (this.#timer || interval === undefined) return;
    const run = () => {
      if (this.#running) return;
      this.#running = this.tick()
        .then((result) => {
          // Digests just committed go out now rather than at the next mail poll.
          if (result && result.digests > 0) this.mail.kick();
        })
        .catch((error: unknown) => this.log.warn({ err: error }, 'notifications run failed'))
        .finally(() => {
          this.#running = undefined;
        });
    };
    this.#timer = setInterval(run, interval).unref();
    run();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
