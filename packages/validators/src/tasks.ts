import { z } from 'zod';
import { cursorSchema, idSchema, isoDateTime, limitSchema, NUL_MESSAGE, noNul, queryBoolean, versionSchema } from './common';
import { LABELS_PER_TASK_MAX } from './projects';

export const taskStatusSchema = z.enum(['todo', 'in_progress', 'done']);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const taskPrioritySchema = z.enum(['low', 'medium', 'high']);
export type TaskPriority = z.infer<typeof taskPrioritySchema>;

export const taskSortSchema = z.enum(['createdAt', 'dueAt', 'priority', 'updatedAt', 'position']);
export type TaskSort = z.infer<typeof taskSortSchema>;

export const sortOrderSchema = z.enum(['asc', 'desc']);
export type SortOrder = z.infer<typeof sortOrderSchema>;

export const TASK_TITLE_MAX = 200;
export const TASK_DESCRIPTION_MAX = 10_000;
export const TASK_SEARCH_MAX = 200;
export const TASK_BULK_MAX = 100;

export const taskTitleSchema = z
  .string()
  .trim()
  .min(1, 'Title is required')
  .max(TASK_TITLE_MAX, `Title must be at most ${TASK_TITLE_MAX} characters`)
  .refine(noNul, NUL_MESSAGE);

export const taskDescriptionSchema = z
  .string()
  .max(TASK_DESCRIPTION_MAX, `Description must be at most ${TASK_DESCRIPTION_MAX} characters`)
  .refine(noNul, NUL_MESSAGE);

/** An IANA time zone name ("Europe/Madrid", "UTC") this runtime knows. */
export const timeZoneSchema = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_+\-/]+$/, 'Must be an IANA time zone name such as Europe/Madrid')
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'Unknown time zone');

/** Due dates and the bounds of date filters. */
export const taskDateTime = isoDateTime;

/** A task's labels, all of its project, as a set: the ids it should have afterwards. */
export const labelIdsSchema = z
  .array(idSchema)
  .max(LABELS_PER_TASK_MAX, `At most ${LABELS_PER_TASK_MAX} labels per task`)
  .refine((ids) => new Set(ids).size === ids.length, 'Label ids must be distinct');

export const createTaskInput = z
  .object({
    projectId: idSchema.optional().describe('Default: your inbox'),
    title: taskTitleSchema,
    description: taskDescriptionSchema.default(''),
    status: taskStatusSchema.default('todo'),
    priority: taskPrioritySchema.default('medium'),
    dueAt: taskDateTime.nullable().optional(),
    assigneeId: idSchema.nullable().optional().describe('A member of the project'),
    labelIds: labelIdsSchema.optional().describe("Labels of the task's project"),
  })
  // The creator, id, version, position and timestamps belong to the server: naming them is an error.
  .strict();
export type CreateTaskInput = z.input<typeof createTaskInput>;

const taskChangeKeys = ['title', 'description', 'status', 'priority', 'dueAt', 'assigneeId', 'labelIds', 'projectId'] as const;

export const updateTaskInput = z
  .object({
    id: idSchema,
    title: taskTitleSchema.optional(),
    description: taskDescriptionSchema.optional(),
    status: taskStatusSchema.optional(),
    priority: taskPrioritySchema.optional(),
    dueAt: taskDateTime.nullable().optional(),
    assigneeId: idSchema.nullable().optional().describe('A member of the project; null: nobody'),
    labelIds: labelIdsSchema.optional().describe('Every label the task should have, all of its project'),
    projectId: idSchema
      .optional()
      .describe('Move the task to another project you can write to; its labels stay behind and an assignee who is not a member there is unassigned'),
    expectedVersion: versionSchema.optional().describe('The version you last saw; a stale one is refused with 409 and nothing is written'),
  })
  .strict()
  .refine((input) => taskChangeKeys.some((key) => input[key] !== undefined), {
    message: `Send at least one of: ${taskChangeKeys.join(', ')}`,
  });
export type UpdateTaskInput = z.input<typeof updateTaskInput>;

/**
 * One value or several. A query string brings a repeated key as an array and a single one as a
 * string, so both forms are accepted.
 */
function oneOrMany<T extends z.ZodType<string>>(schema: T) {
  return z
    .union([schema, z.array(schema).min(1).max(10)])
    .transform((value): z.output<T>[] => [...new Set(Array.isArray(value) ? value : [value])] as z.output<T>[]);
}

/**
 * `me`, `none`, or a user's id (from a query string, as text). The transform makes it a pipe, which
 * the REST bridge hands over from the query string as it is, for the union to read.
 */
export const assigneeFilterSchema = z.union([z.enum(['me', 'none']), idSchema], { error: 'Must be "me", "none" or a user id' }).transform((value) => value);
export type AssigneeFilter = z.output<typeof assigneeFilterSchema>;

export const listTasksInput = z.object({
  projectId: idSchema.optional().describe("One project's tasks; without it, the tasks of every project of yours that is not archived"),
  assignee: assigneeFilterSchema.optional().describe('`me`, `none` (unassigned) or a user id'),
  label: z
    .union([idSchema, z.array(idSchema).min(1).max(10)])
    .transform((value) => [...new Set(Array.isArray(value) ? value : [value])])
    .optional()
    .describe('Tasks with any of these labels (repeat the parameter)'),
  status: oneOrMany(taskStatusSchema).optional().describe('One status or several (repeat the parameter)'),
  priority: oneOrMany(taskPrioritySchema).optional().describe('One priority or several (repeat the parameter)'),
  search: z
    .string()
    .trim()
    .max(TASK_SEARCH_MAX, `Search must be at most ${TASK_SEARCH_MAX} characters`)
    .refine(noNul, NUL_MESSAGE)
    .optional()
    .describe('Plain text (no wildcards) found in the title, the description or a comment, ignoring case'),
  dueBefore: taskDateTime.optional().describe('Only tasks due strictly before this instant'),
  dueAfter: taskDateTime.optional().describe('Only tasks due strictly after this instant'),
  overdue: queryBoolean.optional().describe('true: not done and due before now; false: all other tasks'),
  sort: taskSortSchema
    .default('createdAt')
    .describe(
      '`priority` ranks high above medium above low; with `dueAt`, tasks without a due date come last in either order; `position` is the manual order of a board column',
    ),
  order: sortOrderSchema.optional().describe('Default: `asc` with `sort=position` (top of the column first), else `desc`'),
  limit: limitSchema.describe('Items per page, 1–100'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});

/** The order a task list is read in when none is asked for: a board column from the top, anything else newest or highest first. */
export function taskListOrder(query: { sort: TaskSort; order?: SortOrder | undefined }): SortOrder {
  return query.order ?? (query.sort === 'position' ? 'asc' : 'desc');
}
export type ListTasksInput = z.input<typeof listTasksInput>;
export type ListTasksQuery = z.output<typeof listTasksInput>;

export const taskStatsInput = z.object({
  projectId: idSchema.optional().describe("One project's tasks; without it, every project of yours that is not archived"),
  timeZone: timeZoneSchema.default('UTC').describe('Whose days "today", "the next 7 days" and the completions per day are counted in (IANA name); default UTC'),
});

export const adminListTasksInput = listTasksInput.omit({ assignee: true }).extend({
  projectId: idSchema.optional().describe("One project's tasks"),
  ownerId: idSchema.optional().describe('Only tasks this user created'),
  owner: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .refine(noNul, NUL_MESSAGE)
    .optional()
    .describe('Only tasks whose creator’s username contains this text, in any letter case (as the users list searches)'),
});
export type AdminListTasksInput = z.input<typeof adminListTasksInput>;
export type AdminListTasksQuery = z.output<typeof adminListTasksInput>;

export const taskIdsSchema = z
  .array(idSchema)
  .min(1, 'Send at least one id')
  .max(TASK_BULK_MAX, `At most ${TASK_BULK_MAX} ids at once`)
  .refine((ids) => new Set(ids).size === ids.length, 'Ids must be distinct');

export const bulkUpdateTasksInput = z
  .object({
    ids: taskIdsSchema,
    changes: z
      .object({
        status: taskStatusSchema.optional(),
        priority: taskPrioritySchema.optional(),
        dueAt: taskDateTime.nullable().optional(),
      })
      .strict()
      .refine((changes) => Object.values(changes).some((value: unknown) => value !== undefined), {
        message: 'Send at least one of: status, priority, dueAt',
      }),
  })
  .strict();
export type BulkUpdateTasksInput = z.input<typeof bulkUpdateTasksInput>;

export const bulkDeleteTasksInput = z.object({ ids: taskIdsSchema }).strict();
export type BulkDeleteTasksInput = z.input<typeof bulkDeleteTasksInput>;

export const moveTaskInput = z
  .object({
    id: idSchema,
    status: taskStatusSchema.optional().describe('The column to move to; default: the one it is in'),
    afterId: idSchema.optional().describe('Place it right after this task of the column'),
    beforeId: idSchema.optional().describe('Place it right before this task of the column'),
    expectedVersion: versionSchema.optional(),
  })
  .strict()
  .refine((input) => input.afterId === undefined || input.beforeId === undefined, {
    message: 'Send afterId or beforeId, not both',
    path: ['beforeId'],
  })
  .refine((input) => input.afterId !== input.id && input.beforeId !== input.id, {
    message: 'A task cannot be placed next to itself',
    path: ['afterId'],
  });
export type MoveTaskInput = z.input<typeof moveTaskInput>;
