import type { TRPCRouterRecord } from '@trpc/server';
import {
  bulkDeleteTasksInput,
  bulkUpdateTasksInput,
  createTaskInput,
  idSchema,
  listTasksInput,
  taskPrioritySchema,
  taskStatusSchema,
  updateTaskInput,
} from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure } from '../trpc';
import { okOutput, pageOutput, timestamp } from './schemas';

export const taskOutput = z.object({
  id: z.number().int(),
  ownerId: z.number().int(),
  title: z.string(),
  description: z.string(),
  status: taskStatusSchema,
  priority: taskPrioritySchema,
  dueAt: timestamp.nullable(),
  completedAt: timestamp.nullable().describe('When the task became done; null while it is not'),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.number().int().describe('Incremented by every update; send it back as `expectedVersion`'),
});

const statsOutput = z.object({
  byStatus: z.object({ todo: z.number().int(), in_progress: z.number().int(), done: z.number().int() }),
  overdue: z.number().int().describe('Not done and due before now'),
  completedPerDay: z
    .array(z.object({ date: z.string().describe('YYYY-MM-DD (UTC)'), count: z.number().int() }))
    .describe('The last 30 UTC days, oldest first, today last; zero-filled'),
});

const idInput = z.object({ id: idSchema });

const tags = ['tasks'];
const FILTERS_DESCRIPTION =
  'Filters combine with AND; `status` and `priority` may repeat. Cursor pagination: pass `nextCursor` as `cursor` with the same filters, `sort` and `order`.';

// `stats` comes before `get`: the REST bridge matches paths in this order, and
// `/tasks/stats` must not be read as a task id.
export const tasksRouter = {
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/tasks',
        tags,
        summary: 'Create a task',
        description: 'The task belongs to the caller. Owner, id, version and timestamps are set by the server; sending them is an error.',
      },
    })
    .input(createTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) => ctx.services.tasks.create(ctx.user, input)),

  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/tasks', tags, summary: 'Your tasks', description: FILTERS_DESCRIPTION } })
    .input(listTasksInput)
    .output(pageOutput(taskOutput))
    .query(({ ctx, input }) => ctx.services.tasks.list(ctx.user, input)),

  stats: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/tasks/stats', tags, summary: 'Counts of your tasks' } })
    .output(statsOutput)
    .query(({ ctx }) => ctx.services.tasks.stats(ctx.user)),

  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/tasks/{id}', tags, summary: 'A task' }, refusals: ['NOT_FOUND'] })
    .input(idInput)
    .output(taskOutput)
    .query(({ ctx, input }) => ctx.services.tasks.get(ctx.user, input.id)),

  update: protectedProcedure
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/tasks/{id}',
        tags,
        summary: 'Change a task',
        description:
          'Only the fields sent change. With `expectedVersion`, a task changed since that version is refused with 409 (`VERSION_CONFLICT`, `data.details.currentVersion`) and nothing is written.',
      },
      refusals: ['NOT_FOUND', 'VERSION_CONFLICT'],
    })
    .input(updateTaskInput)
    .output(taskOutput)
    .mutation(({ ctx, input }) => ctx.services.tasks.update(ctx.user, input)),

  delete: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/tasks/{id}', tags, summary: 'Delete a task' }, refusals: ['NOT_FOUND'] })
    .input(idInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.tasks.delete(ctx.user, input.id);
      return { ok: true as const };
    }),

  bulkUpdate: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/tasks/bulk-update',
        tags,
        summary: 'Change up to 100 tasks at once',
        description: 'All or nothing: if any id is not found (or not yours), 404 and no task changes.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(bulkUpdateTasksInput)
    .output(z.object({ updated: z.number().int() }))
    .mutation(async ({ ctx, input }) => ({ updated: await ctx.services.tasks.bulkUpdate(ctx.user, input) })),

  bulkDelete: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/tasks/bulk-delete',
        tags,
        summary: 'Delete up to 100 tasks at once',
        description: 'All or nothing: if any id is not found (or not yours), 404 and no task is deleted.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(bulkDeleteTasksInput)
    .output(z.object({ deleted: z.number().int() }))
    .mutation(async ({ ctx, input }) => ({ deleted: await ctx.services.tasks.bulkDelete(ctx.user, input) })),
} satisfies TRPCRouterRecord;
