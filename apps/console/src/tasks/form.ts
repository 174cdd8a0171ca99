import type { TaskPriority, TaskStatus } from '@stm/validators';
import { isoToLocalInput, localInputToIso } from './dates';

/** What the task form holds: strings as the inputs have them, the due time in local time. */
export interface TaskFormValues {
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  /** `datetime-local` value; '' for no due date. */
  due: string;
  /** Undefined until the reader's projects are known (a new task then goes to their inbox). */
  projectId: number | undefined;
  assigneeId: number | null;
  labelIds: number[];
}

export interface TaskLike {
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueAt: string | null;
  projectId: number;
  assignee: { id: number } | null;
  labels: { id: number }[];
}

export const EMPTY_TASK_FORM: TaskFormValues = {
  title: '',
  description: '',
  status: 'todo',
  priority: 'medium',
  due: '',
  projectId: undefined,
  assigneeId: null,
  labelIds: [],
};

export function valuesFromTask(task: TaskLike): TaskFormValues {
  return {
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    due: isoToLocalInput(task.dueAt),
    projectId: task.projectId,
    assigneeId: task.assignee?.id ?? null,
    labelIds: task.labels.map((label) => label.id),
  };
}

/** The form as the API's fields (the shared schema then checks them). */
export function formToInput(values: TaskFormValues) {
  return {
    title: values.title,
    description: values.description,
    status: values.status,
    priority: values.priority,
    dueAt: localInputToIso(values.due),
    ...(values.projectId === undefined ? {} : { projectId: values.projectId }),
    ...(values.assigneeId === null ? {} : { assigneeId: values.assigneeId }),
    ...(values.labelIds.length > 0 ? { labelIds: values.labelIds } : {}),
  };
}

export interface TaskChanges {
  title?: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  dueAt?: string | null;
  projectId?: number;
  assigneeId?: number | null;
  labelIds?: number[];
}

function sameIds(a: number[], b: number[]): boolean {
  const set = new Set(a);
  return a.length === b.length && b.every((id) => set.has(id));
}

/**
 * Only what the user changed against the task they started from. An untouched due date is not
 * re-sent (its seconds, which the input cannot show, survive), and neither is anything else
 * untouched: a concurrent change to another field is not undone by saving this form.
 */
export function taskChanges(base: TaskLike, values: TaskFormValues): TaskChanges {
  const changes: TaskChanges = {};
  const title = values.title.trim();
  if (title !== base.title) changes.title = title;
  if (values.description !== base.description) changes.description = values.description;
  if (values.status !== base.status) changes.status = values.status;
  if (values.priority !== base.priority) changes.priority = values.priority;
  if (values.due !== isoToLocalInput(base.dueAt)) changes.dueAt = localInputToIso(values.due);
  if (values.projectId !== undefined && values.projectId !== base.projectId) changes.projectId = values.projectId;
  if (values.assigneeId !== (base.assignee?.id ?? null)) changes.assigneeId = values.assigneeId;
  const labelIds = base.labels.map((label) => label.id);
  // Moving to another project leaves its labels behind: the ones picked there are sent.
  if (!sameIds(values.labelIds, labelIds) || changes.projectId !== undefined) changes.labelIds = values.labelIds;
  return changes;
}
