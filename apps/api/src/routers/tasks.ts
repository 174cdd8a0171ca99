import type { TRPCRouterRecord } from '@trpc/server';
import {
  bulkDeleteTasksInput,
  bulkUpdateTasksInput,
  createTaskInput,
  idSchema,
  listTasksInput,
  moveTaskInput,
  projectColorSchema,
  taskHistoryInput,
  taskPrioritySchema,
  taskStatsInput,
  taskStatusSchema,
  updateTaskInput,
  versionSchema,
} from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure } from '../trpc';
import { countedPageOutput, okOutput, pageOutput, timestamp, userRefOutput, WRITE_REFUSALS } from './schemas';

export const labelRefOutput = z.object({ id: z.number().int(), name: z.string(), color: projectColorSchema });

export const taskOutput = z.object({
  id: z.number().int(),
  projectId: z.number().int(),
  createdBy: z.number().int().nullable().describe('Who made the task; null once that account is deleted'),
  ownerId: z.number().int().nullable().describe('Deprecated: the same as `createdBy`'),
  assignee: userRefOutput.nullable(),
  title: z.string(),
  description: z.string(),
  status: taskStatusSchema,
  priority: taskPrioritySchema,
  position: z.string().describe('Order within its status column: an exact decimal; lower comes first'),
  labels: z.array(labelRefOutput),
  dueAt: timestamp.nullable(),
  completedAt: timestamp.nullable().describe('When the task became done; null while it is not'),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.number().int().describe('Incremented by every update; send it back as `expectedVersion`'),
});

const statsOutput = z.object({
  byStatus: z.object({ todo: z.number().int(), in_progress: z.number().int(), done: z.number().int() }),
  overdue: z.number().int().describe('Not done and due before now'),
  dueToday: z.number().int().describe('Not done and due today, in `timeZone`'),
  upcoming: z.number().int().describe('Not done and due in the seven days after today, in `timeZone`'),
  completedPerDay: z
    .array(z.object({ date: z.string().describe('YYYY-MM-DD in `timeZone`'), count: z.number().int() }))
    .describe('The last 30 days of `timeZone`, oldest first, today last; zero-filled'),
});

const projectRefOutput = z.object({ id: z.number().int(), name: z.string() });
const fieldChange = <T extends z.ZodType>(value: T) => z.object({ from: value, to: value });
const eventBase = { id: z.number().int(), taskId: z.number().int(), actor: userRefOutput.nullable(), occurredAt: timestamp };

/** One entry of a task's history; `details` depends on `kind`. */
export const taskEventOutput = z.discriminatedUnion('kind', [
  z.object({
    ...eventBase,
    kind: z.literal('created'),
    details: z.object({ title: z.string(), status: z.string(), priority: z.string(), project: projectRefOutput }),
  }),
  z.object({
    ...eventBase,
    kind: z.literal('updated'),
    details: z.object({
      changes: z
        .object({
          title: fieldChange(z.string()).optional(),
          description: fieldChange(z.string()).optional(),
          status: fieldChange(z.string()).optional(),
          priority: fieldChange(z.string()).optional(),
          dueAt: fieldChange(z.string().nullable()).optional(),
        })
        .describe('Each changed field, old → new'),
    }),
  }),
  z.object({
    ...eventBase,
    kind: z.literal('assigned'),
    details: z.object({
      from: userRefOutput.nullable(),
      to: userRefOutput.nullable(),
      reason: z
        .enum(['left_project', 'removed_from_project', 'moved_to_other_project', 'account_deleted'])
        .optional()
        .describe('Why the assignee went without anyone choosing so'),
    }),
  }),
  z.object({
    ...eventBase,
    kind: z.literal('labelled'),
    details: z.object({
      added: z.array(labelRefOutput),
      removed: z.array(labelRefOutput),
      reason: z.enum(['label_deleted']).optional().describe('The label was deleted from the project'),
    }),
  }),
  z.object({ ...eventBase, kind: z.literal('moved'), details: z.object({ from: projectRefOutput, to: projectRefOutput }) }),
  z.object({ ...eventBase, kind: z.enum(['commented', 'comment_edited', 'comment_deleted']), details: z.object({ commentId: z.number().int() }) }),
]);

const idInput = z.object({ id: idSchema });
const deleteTaskInput = idInput.extend({
  expectedVersion: versionSchema.optional().describe('The version you last saw; a stale one is refused with 409 and the task stays'),
});

const tags = ['tasks'];
const FILTERS_DESCRIPTION =
  'Without `projectId`, the tasks of every project of yours that is not archived (`assignee=me`: your work across them). Filters combine with AND; `status`, `priority` and `label` may repeat. Cursor pagination: pass `nextCursor` as `cursor` with the same filters, `sort` and `order`.';

// `stats` comes before `get`: the REST bridge matches paths in this order, and
// `/tasks/stats` must not be read as a task id.
export const tasksRouter = {
  create: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'POST',
        path: '/tasks',
        tags,
        summary: 'Create a task',
        description:
          'In `projectId` (you must be able to write there), or your inbox. It goes to the top of its status column. Creator, id, version, position and timestamps are set by the server; sending them is an error. Refused with `QUOTA_EXCEEDED` (`details.quota` is `tasks`, `details.limit` the limit) when you already have as many tasks as the live setting allows.',
      },
      successStatus: 201,
      location: '/tasks/{id}',
      refusals: [...WRITE_REFUSALS, 'QUOTA_EXCEEDED'],
    })
    .input(createTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) => ctx.services.tasks.create(ctx.user, input, ctx.client)),

  list: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: { method: 'GET', path: '/tasks', tags, summary: 'Tasks of your projects', description: FILTERS_DESCRIPTION },
      refusals: ['NOT_FOUND', 'SEARCH_TIMEOUT'],
    })
    .input(listTasksInput)
    .output(countedPageOutput(taskOutput))
    .query(({ ctx, input }) => ctx.services.tasks.list(ctx.user, input)),

  stats: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/tasks/stats',
        tags,
        summary: 'Counts of tasks',
        description:
          'Of one project, or of every project of yours that is not archived. Days (today, the next seven, completions per day) are those of `timeZone`.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(taskStatsInput.optional())
    .output(statsOutput)
    .query(({ ctx, input }) => ctx.services.tasks.stats(ctx.user, input)),

  get: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: { method: 'GET', path: '/tasks/{id}', tags, summary: 'A task', description: 'With an `ETag` (its version) to send back as `If-Match`.' },
      refusals: ['NOT_FOUND'],
      etag: true,
    })
    .input(idInput)
    .output(taskOutput)
    .query(({ ctx, input }) => ctx.services.tasks.get(ctx.user, input.id)),

  update: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'PATCH',
        path: '/tasks/{id}',
        tags,
        summary: 'Change a task',
        description:
          "Only the fields sent change, and each change goes into the task's history. With `expectedVersion`, a task changed since that version is refused with 409 (`VERSION_CONFLICT`, `details.currentVersion`) and nothing is written; with `If-Match` (the `ETag` of `GET /tasks/{id}`), the same with 412.",
      },
      refusals: [...WRITE_REFUSALS, 'VERSION_CONFLICT'],
      etag: true,
      ifMatch: true,
    })
    .input(updateTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) => ctx.services.tasks.update(ctx.user, input, ctx.client)),

  move: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'POST',
        path: '/tasks/{id}/move',
        tags,
        summary: 'Place a task in a board column',
        description:
          'Into `status` (default: its own column), right after `afterId` or right before `beforeId` (a task of that column), or at the top. Moves into one column apply one at a time: none is lost, no two tasks share a place.',
      },
      refusals: [...WRITE_REFUSALS, 'VERSION_CONFLICT'],
    })
    .input(moveTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) => ctx.services.tasks.move(ctx.user, input, ctx.client)),

  history: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/tasks/{taskId}/history',
        tags,
        summary: "A task's history, newest first",
        description: 'Written with each change; never editable.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(taskHistoryInput)
    .output(pageOutput(taskEventOutput))
    .query(({ ctx, input }) => ctx.services.tasks.history(ctx.user, input)),

  delete: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'DELETE',
        path: '/tasks/{id}',
        tags,
        summary: 'Delete a task',
        description:
          'With `expectedVersion`, a task changed since that version is refused with 409 (`VERSION_CONFLICT`) and stays; with `If-Match`, the same with 412.',
      },
      refusals: [...WRITE_REFUSALS, 'VERSION_CONFLICT'],
      ifMatch: true,
    })
    .input(deleteTaskInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.tasks.delete(ctx.user, input.id, ctx.client, input.expectedVersion);
      return { ok: true as const };
    }),

  bulkUpdate: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'POST',
        path: '/tasks/bulk-update',
        tags,
        summary: 'Change up to 100 tasks at once',
        description: 'All or nothing: if any id is not found (or not yours), 404 and no task changes; if you may only view one of them, 403.',
      },
      refusals: WRITE_REFUSALS,
    })
    .input(bulkUpdateTasksInput)
    .output(z.object({ updated: z.number().int() }))
    .mutation(async ({ ctx, input }) => ({ updated: await ctx.services.tasks.bulkUpdate(ctx.user, input, ctx.client) })),

  bulkDelete: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'POST',
        path: '/tasks/bulk-delete',
        tags,
        summary: 'Delete up to 100 tasks at once',
        description: 'All or nothing: if any id is not found (or not yours), 404 and no task is deleted; if you may only view one of them, 403.',
      },
      refusals: WRITE_REFUSALS,
    })
    .input(bulkDeleteTasksInput)
    .output(z.object({ deleted: z.number().int() }))
    .mutation(async ({ ctx, input }) => ({ deleted: await ctx.services.tasks.bulkDelete(ctx.user, input, ctx.client) })),
} satisfies TRPCRouterRecord;
