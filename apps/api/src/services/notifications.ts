import { type Database, emails, type Kysely, notifications, type NotificationKind } from '@stm/db';
import { defaultNotificationChannels, type NotificationPreferences, type UpdateNotificationPreferences } from '@stm/validators';
import { z } from 'zod';
import { DomainError } from '../errors';
import type { Caller } from './access';
import { decodeCursor, type Page, pageOf, rowId } from './cursor';
import { recordUserEvent } from './events';

export interface Notification {
  id: number;
  kind: NotificationKind;
  task: { id: number; title: string; projectId: number; dueAt: Date | null };
  /** Who did it; null for time-based notifications and once that account is deleted. */
  actor: { id: number; username: string } | null;
  commentId: number | null;
  read: boolean;
  createdAt: Date;
}

/** Something that happened to a task that some people should hear about. */
export interface TaskEvent {
  kind: NotificationKind;
  taskId: number;
  /** Never told about their own action. */
  actorId: number | null;
  recipients: number[];
  commentId?: number | null;
  details?: Record<string, unknown>;
  /** Unique per person: the same event written twice leaves one notification. */
  dedupeKey?: string | null;
}

function toNotification(row: notifications.NotificationRow): Notification {
  return {
    id: row.id,
    kind: row.kind,
    task: { id: row.task_id, title: row.task_title, projectId: row.project_id, dueAt: row.due_at },
    actor: row.actor_id === null || row.actor_username === null ? null : { id: row.actor_id, username: row.actor_username },
    commentId: row.comment_id,
    read: row.read_at !== null,
    createdAt: row.created_at,
  };
}

const cursor = z.object({ i: rowId });

type Channels = NotificationPreferences['kinds'];

/** A person's channels for every kind: what they chose, else the defaults. */
export function channelsOf(stored: Record<string, { inApp?: boolean; mail?: boolean }> | undefined): Channels {
  const channels = {} as Channels;
  for (const [kind, fallback] of Object.entries(defaultNotificationChannels) as [NotificationKind, { inApp: boolean; mail: boolean }][]) {
    const given = stored?.[kind];
    channels[kind] = { inApp: given?.inApp ?? fallback.inApp, mail: given?.mail ?? fallback.mail };
  }
  return channels;
}

function notificationNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Notification not found');
}

/**
 * Notifications: what concerns a person (a task assigned to them, a mention, a comment on a task
 * they made or are assigned, a task of theirs due soon or overdue). `notify` is the one place any
 * is made: the actor is never told of their own action, only people who can see the task now are
 * told, and each person's preferences decide whether it shows in the app, goes by mail, or both.
 */
export class NotificationsService {
  constructor(private readonly db: Kysely<Database>) {}

  /** Writes the notifications of these events, in the caller's transaction. Returns how many were new. */
  async notify(trx: Kysely<Database>, events: TaskEvent[]): Promise<number> {
    const rows: notifications.NewNotification[] = [];
    // One notification per person per task and event batch: a person both mentioned and the
    // task's creator hears of the comment once, as a mention (events come most specific first).
    const told = new Set<string>();
    for (const event of events) {
      const wanted = [...new Set(event.recipients)].filter((id) => id !== event.actorId);
      const readers = await notifications.findTaskReaders(trx, event.taskId, wanted);
      const preferences = new Map((await notifications.findPreferences(trx, readers)).map((row) => [row.user_id, row]));
      const mailable = await notifications.findMailable(trx, readers);
      for (const userId of readers.sort((a, b) => a - b)) {
        const key = `${userId}:${event.taskId}:${event.commentId ?? ''}`;
        if (told.has(key)) continue;
        told.add(key);
        const stored = preferences.get(userId);
        const channel = channelsOf(stored?.kinds)[event.kind];
        rows.push({
          userId,
          kind: event.kind,
          taskId: event.taskId,
          actorId: event.actorId,
          commentId: event.commentId ?? null,
          details: event.details ?? {},
          dedupeKey: event.dedupeKey ?? null,
          inApp: channel.inApp,
          // Mail only to someone with a confirmed address; without one nothing would ever send it.
          mailWanted: channel.mail && mailable.has(userId),
        });
      }
    }
    const inserted = await notifications.insertNotifications(trx, rows);
    // Each person told in the app hears of it at once on their own live stream (`live.mine`),
    // once the transaction commits; last in the transaction, as change events must be.
    const notified = [...new Set(inserted.filter((row) => row.inApp).map((row) => row.userId))];
    for (const userId of notified) await recordUserEvent(trx, { userId, kind: 'notification.created', entityId: null, actorId: null });
    return inserted.length;
  }

  /** A task was assigned to someone (new, or a different person than before). */
  async assigned(trx: Kysely<Database>, input: { taskId: number; assigneeId: number; actorId: number }): Promise<void> {
    await this.notify(trx, [{ kind: 'assigned', taskId: input.taskId, actorId: input.actorId, recipients: [input.assigneeId] }]);
  }

  /** A comment was written: the members it mentions, then the task's creator and assignee. */
  async commented(trx: Kysely<Database>, input: { taskId: number; commentId: number; actorId: number; mentions: number[] }): Promise<void> {
    const task = await notifications.findTaskPeople(trx, input.taskId);
    const concerned = [task?.created_by, task?.assignee_id].filter((id): id is number => typeof id === 'number');
    await this.notify(trx, [
      { kind: 'mentioned', taskId: input.taskId, actorId: input.actorId, recipients: input.mentions, commentId: input.commentId },
      { kind: 'commented', taskId: input.taskId, actorId: input.actorId, recipients: concerned, commentId: input.commentId },
    ]);
  }

  /** The caller's notifications shown in the app, newest first (those of tasks they can no longer see left out). */
  async list(caller: Caller, query: { unread?: boolean | undefined; limit: number; cursor?: string | undefined }): Promise<Page<Notification>> {
    const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursor).i;
    const rows = await notifications.listNotifications(
      this.db,
      { id: caller.id, isAdmin: caller.role === 'admin' },
      { beforeId, unreadOnly: query.unread === true, limit: query.limit + 1 },
    );
    return pageOf(rows, query.limit, toNotification, (last) => ({ i: last.id }));
  }

  async unreadCount(caller: Caller): Promise<number> {
    return notifications.countUnread(this.db, { id: caller.id, isAdmin: caller.role === 'admin' });
  }

  /** Marks one of the caller's notifications read; someone else's is not found, as a missing one is. */
  async markRead(caller: Caller, id: number): Promise<void> {
    const found = await notifications.findNotificationOwner(this.db, id);
    if (!found || found.user_id !== caller.id) throw notificationNotFound();
    await notifications.markRead(this.db, caller.id, [id]);
  }

  /** Marks all of the caller's notifications read; returns how many were unread. */
  async markAllRead(caller: Caller): Promise<number> {
    return notifications.markRead(this.db, caller.id, 'all');
  }

  async preferences(caller: Caller): Promise<NotificationPreferences> {
    const [stored] = await notifications.findPreferences(this.db, [caller.id]);
    return { kinds: channelsOf(stored?.kinds), email: await this.#mailTo(this.db, caller.id), language: stored?.language ?? null };
  }

  /** Where notification mail goes: the account's confirmed address (set on the account, not here). */
  async #mailTo(db: Kysely<Database>, userId: number): Promise<string | null> {
    return (await emails.findUserEmail(db, userId))?.email ?? null;
  }

  /** Changes what is sent, keeps the rest; in one transaction, so two changes at once both count. */
  async updatePreferences(caller: Caller, change: UpdateNotificationPreferences): Promise<NotificationPreferences> {
    return this.db.transaction().execute(async (trx) => {
      await notifications.lockPreferences(trx, caller.id);
      const [stored] = await notifications.findPreferences(trx, [caller.id]);
      const kinds = channelsOf(stored?.kinds);
      for (const [kind, channels] of Object.entries(change.kinds ?? {}) as [NotificationKind, { inApp: boolean; mail: boolean } | undefined][]) {
        if (channels) kinds[kind] = channels;
      }
      const email = await this.#mailTo(trx, caller.id);
      if (change.email !== undefined && change.email?.toLowerCase() !== email?.toLowerCase()) {
        throw new DomainError('VALIDATION_FAILED', "Notification mail goes to your account's confirmed email address: change it on your account", {
          field: 'email',
        });
      }
      const next = { kinds, language: change.language === undefined ? (stored?.language ?? null) : change.language };
      await notifications.upsertPreferences(trx, caller.id, next);
      return { ...next, email };
    });
  }
}
