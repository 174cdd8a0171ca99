import { z } from 'zod';
import { cursorSchema, idSchema, isoDateTime, limitSchema, NUL_MESSAGE, noNul } from './common';

export const taskStatusSchema = z.enum(['todo', 'in_progress', 'done']);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const taskPrioritySchema = z.enum(['low', 'medium', 'high']);
export type TaskPriority = z.infer<typeof taskPrioritySchema>;

export const taskSortSchema = z.enum(['createdAt', 'dueAt', 'priority', 'updatedAt']);
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

/** Due dates and the bounds of date filters. */
export const taskDateTime = isoDateTime;

export const createTaskInput = z
  .object({
    title: taskTitleSchema,
    description: taskDescriptionSchema.default(''),
    status: taskStatusSchema.default('todo'),
    priority: taskPrioritySchema.default('medium'),
    dueAt: taskDateTime.nullable().optional(),
  })
  // The owner, id, version and timestamps belong to the server: naming them is an error.
  .strict();
export type CreateTaskInput = z.input<typeof createTaskInput>;

const taskChangeKeys = ['title', 'description', 'status', 'priority', 'dueAt'] as const;

export const updateTaskInput = z
  .object({
    id: idSchema,
    title: taskTitleSchema.optional(),
    description: taskDescriptionSchema.optional(),
    status: taskStatusSchema.optional(),
    priority: taskPrioritySchema.optional(),
    dueAt: taskDateTime.nullable().optional(),
    /** The version the client last saw; a stale one is refused with 409 and nothing is written. */
    expectedVersion: z.number().int().positive().max(2_147_483_647).optional(),
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

/** `true`/`false`, also as the strings a query string carries ("false" must not mean true). */
const queryBoolean = z
  .union([z.boolean(), z.enum(['true', 'false'])], { error: 'Must be true or false' })
  .transform((value) => value === true || value === 'true');

export const listTasksInput = z.object({
  status: oneOrMany(taskStatusSchema).optional().describe('One status or several (repeat the parameter)'),
  priority: oneOrMany(taskPrioritySchema).optional().describe('One priority or several (repeat the parameter)'),
  search: z
    .string()
    .trim()
    .max(TASK_SEARCH_MAX, `Search must be at most ${TASK_SEARCH_MAX} characters`)
    .refine(noNul, NUL_MESSAGE)
    .optional()
    .describe('Plain text (no wildcards) found in the title or description, ignoring case'),
  dueBefore: taskDateTime.optional().describe('Only tasks due strictly before this instant'),
  dueAfter: taskDateTime.optional().describe('Only tasks due strictly after this instant'),
  overdue: queryBoolean.optional().describe('true: not done and due before now; false: all other tasks'),
  sort: taskSortSchema
    .default('createdAt')
    .describe('`priority` ranks high above medium above low; with `dueAt`, tasks without a due date come last in either order'),
  order: sortOrderSchema.default('desc'),
  limit: limitSchema.describe('Items per page, 1–100'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});
export type ListTasksInput = z.input<typeof listTasksInput>;
export type ListTasksQuery = z.output<typeof listTasksInput>;

export const adminListTasksInput = listTasksInput.extend({
  ownerId: idSchema.optional().describe("Only this user's tasks"),
  owner: z.string().trim().min(1).max(64).refine(noNul, NUL_MESSAGE).optional().describe("Only this user's tasks, by username in any letter case"),
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
      .refine((changes) => Object.values(changes).some((value) => value !== undefined), {
        message: 'Send at least one of: status, priority, dueAt',
      }),
  })
  .strict();
export type BulkUpdateTasksInput = z.input<typeof bulkUpdateTasksInput>;

export const bulkDeleteTasksInput = z.object({ ids: taskIdsSchema }).strict();
export type BulkDeleteTasksInput = z.input<typeof bulkDeleteTasksInput>;
