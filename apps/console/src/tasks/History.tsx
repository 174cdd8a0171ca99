import type { TaskPriority, TaskStatus } from '@stm/validators';
import { useInfiniteQuery } from '@tanstack/react-query';
import { type ReactNode, useId } from 'react';
import { Empty, Loading } from '../components/Feedback';
import { LoadFailed, StaleNotice, LoadMore, usePagedItems } from '../components/PagedList';
import { type MessageKey, type Translate, useI18n } from '../i18n';
import { type RouterOutputs, useTRPC } from '../lib/trpc';
import { LabelChip } from '../projects/parts';
import { PRIORITY_LABELS, STATUS_LABELS } from './parts';

type TaskEvent = RouterOutputs['tasks']['history']['items'][number];
type Changes = Extract<TaskEvent, { kind: 'updated' }>['details']['changes'];

const HISTORY_PAGE = 30;

const REASONS: Record<string, MessageKey> = {
  left_project: 'history.reason.left_project',
  removed_from_project: 'history.reason.removed_from_project',
  moved_to_other_project: 'history.reason.moved_to_other_project',
  account_deleted: 'history.reason.account_deleted',
  label_deleted: 'history.reason.label_deleted',
};

/** Why something happened without anyone choosing so, in brackets after the sentence. */
function reasonOf(t: Translate, reason: string | undefined): string {
  return reason && REASONS[reason] ? ` (${t(REASONS[reason])})` : '';
}

function statusName(t: Translate, value: string): string {
  return value in STATUS_LABELS ? t(STATUS_LABELS[value as TaskStatus]) : value;
}

function priorityName(t: Translate, value: string): string {
  return value in PRIORITY_LABELS ? t(PRIORITY_LABELS[value as TaskPriority]) : value;
}

/** Each field change as a line: old → new, in the reader's words and time zone. */
function changeLines(changes: Changes, t: Translate, dateTime: (iso: string) => string): string[] {
  const lines: string[] = [];
  const due = (value: string | null) => (value === null ? t('history.noDueDate') : dateTime(value));
  if (changes.title) lines.push(t('history.title', { from: changes.title.from, to: changes.title.to }));
  if (changes.description) lines.push(t('history.description'));
  if (changes.status) lines.push(t('history.status', { from: statusName(t, changes.status.from), to: statusName(t, changes.status.to) }));
  if (changes.priority) lines.push(t('history.priority', { from: priorityName(t, changes.priority.from), to: priorityName(t, changes.priority.to) }));
  if (changes.dueAt) lines.push(t('history.due', { from: due(changes.dueAt.from), to: due(changes.dueAt.to) }));
  return lines;
}

/** What happened, in a sentence (and, for several field changes, a list). */
function EventText({ event }: { event: TaskEvent }): ReactNode {
  const { t, dateTime } = useI18n();
  switch (event.kind) {
    case 'created':
      return t('history.created', { project: event.details.project.name });
    case 'updated': {
      const lines = changeLines(event.details.changes, t, dateTime);
      return lines.length === 1 ? (
        lines[0]
      ) : (
        <ul className="history-changes">
          {lines.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      );
    }
    case 'assigned': {
      const { from, to, reason } = event.details;
      const sentence = to ? t('history.assigned', { username: to.username }) : t('history.unassigned', { username: from?.username ?? '' });
      return `${sentence}${reasonOf(t, reason)}`;
    }
    case 'labelled':
      return (
        <>
          {event.details.added.length > 0 ? (
            <span>
              {t('history.labelsAdded')}{' '}
              {event.details.added.map((label) => (
                <LabelChip key={label.id} label={label} />
              ))}
            </span>
          ) : null}
          {event.details.removed.length > 0 ? (
            <span>
              {' '}
              {t('history.labelsRemoved')}{' '}
              {event.details.removed.map((label) => (
                <LabelChip key={label.id} label={label} />
              ))}
              {reasonOf(t, event.details.reason)}
            </span>
          ) : null}
        </>
      );
    case 'moved':
      return t('history.moved', { from: event.details.from.name, to: event.details.to.name });
    case 'commented':
      return t('history.commented');
    case 'comment_edited':
      return t('history.commentEdited');
    case 'comment_deleted':
      return t('history.commentDeleted');
  }
}

/** A task's history, newest first: what changed, who changed it, when. Nobody can change it. */
export function History({ taskId }: { taskId: number }) {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const headingId = useId();
  const list = useInfiniteQuery(trpc.tasks.history.infiniteQueryOptions({ taskId, limit: HISTORY_PAGE }, { getNextPageParam: (last) => last.nextCursor }));
  const events = usePagedItems(list.data);
  let body;
  if (list.isPending) body = <Loading />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  else if (events.length === 0) body = <Empty title={t('history.empty')} />;
  else {
    body = (
      <ol className="history-list">
        {events.map((event) => (
          <li key={event.id} className="history-entry">
            <p className="history-meta">
              <strong>{event.actor?.username ?? t('comments.deletedAccount')}</strong> <time dateTime={event.occurredAt}>{dateTime(event.occurredAt)}</time>
            </p>
            <div className="history-text">
              <EventText event={event} />
            </div>
          </li>
        ))}
      </ol>
    );
  }
  return (
    <section className="panel-section" aria-labelledby={headingId}>
      <h3 id={headingId}>{t('history.heading')}</h3>
      <StaleNotice query={list} />
      {body}
      <LoadMore list={list} />
    </section>
  );
}
