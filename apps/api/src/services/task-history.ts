import { type Database, type Kysely, type ProjectColor, taskEvents, type tasks } from '@stm/db';

/** Someone a history entry names, by id and by the name they had then. */
export type UserRef = { id: number; username: string } | null;
export type LabelRef = { id: number; name: string; color: ProjectColor };
export type ProjectRef = { id: number; name: string };

export interface FieldChange<T> {
  from: T;
  to: T;
}

/** The fields whose changes an `updated` entry lists; dates as ISO text. */
export interface FieldChanges {
  title?: FieldChange<string>;
  description?: FieldChange<string>;
  status?: FieldChange<string>;
  priority?: FieldChange<string>;
  dueAt?: FieldChange<string | null>;
}

/** Why someone stopped being the assignee without anyone choosing so. */
export type UnassignReason = 'left_project' | 'removed_from_project' | 'moved_to_other_project' | 'account_deleted';

/** What happened to a task, kind by kind: the `details` of each history entry. */
export type TaskEventDetails =
  | { kind: 'created'; details: { title: string; status: string; priority: string; project: ProjectRef } }
  | { kind: 'updated'; details: { changes: FieldChanges } }
  | { kind: 'assigned'; details: { from: UserRef; to: UserRef; reason?: UnassignReason } }
  | { kind: 'labelled'; details: { added: LabelRef[]; removed: LabelRef[]; reason?: 'label_deleted' } }
  | { kind: 'moved'; details: { from: ProjectRef; to: ProjectRef } }
  | { kind: 'commented' | 'comment_edited' | 'comment_deleted'; details: { commentId: number } };

export type TaskEventKind = TaskEventDetails['kind'];

export type TaskEvent = TaskEventDetails & {
  id: number;
  taskId: number;
  actor: UserRef;
  occurredAt: Date;
};

const FIELD_NAMES = ['title', 'description', 'status', 'priority', 'dueAt'] as const;

/** The fields of a task that `updated` entries follow, as they read before and after a change. */
export type TrackedFields = { [K in (typeof FIELD_NAMES)[number]]: K extends 'dueAt' ? Date | null : string };

export function trackedFields(row: Pick<tasks.TaskRow, 'title' | 'description' | 'status' | 'priority' | 'due_at'>): TrackedFields {
  return { title: row.title, description: row.description, status: row.status, priority: row.priority, dueAt: row.due_at };
}

/** The fields that differ, old → new; undefined when none does. */
export function changesBetween(before: TrackedFields, after: TrackedFields): FieldChanges | undefined {
  const changes: FieldChanges = {};
  for (const field of FIELD_NAMES) {
    if (field === 'dueAt') {
      const from = before.dueAt === null ? null : before.dueAt.toISOString();
      const to = after.dueAt === null ? null : after.dueAt.toISOString();
      if (from !== to) changes.dueAt = { from, to };
    } else if (before[field] !== after[field]) {
      changes[field] = { from: before[field], to: after[field] };
    }
  }
  return Object.keys(changes).length > 0 ? changes : undefined;
}

/** One entry to append: what happened, to which task in which project, by whom. */
export type NewTaskEvent = TaskEventDetails & { taskId: number; projectId: number; actorId: number | null };

/** Appends to tasks' history, in the caller's transaction: written with the change, or not at all. */
export async function recordTaskEvents(db: Kysely<Database>, events: NewTaskEvent[]): Promise<void> {
  await taskEvents.insertTaskEvents(
    db,
    events.map((event) => ({ taskId: event.taskId, projectId: event.projectId, actorId: event.actorId, kind: event.kind, details: event.details })),
  );
}

export function toTaskEvent(row: Awaited<ReturnType<typeof taskEvents.listTaskEvents>>[number]): TaskEvent {
  return {
    id: row.id,
    taskId: row.task_id,
    actor: row.actor_id === null || row.actor_username === null ? null : { id: row.actor_id, username: row.actor_username },
    occurredAt: row.occurred_at,
    ...({ kind: row.kind, details: row.details } as TaskEventDetails),
  };
}
