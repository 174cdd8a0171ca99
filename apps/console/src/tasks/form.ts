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
}

export interface TaskLike {
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueAt: string | null;
}

export const EMPTY_TASK_FORM: TaskFormValues = { title: '', description: '', status: 'todo', priority: 'medium', due: '' };

export function valuesFromTask(task: TaskLike): TaskFormValues {
  return {
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    due: isoToLocalInput(task.dueAt),
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
  };
}

export interface TaskChanges {
  title?: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  dueAt?: string | null;
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
  return changes;
}
