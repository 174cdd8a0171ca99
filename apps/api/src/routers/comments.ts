import type { TRPCRouterRecord } from '@trpc/server';
import { createCommentInput, idSchema, listCommentsInput, updateCommentInput } from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure } from '../trpc';
import { okOutput, pageOutput, timestamp, userRefOutput, WRITE_REFUSALS } from './schemas';

const commentOutput = z.object({
  id: z.number().int(),
  taskId: z.number().int(),
  author: userRefOutput.nullable().describe("Null once the author's account is deleted"),
  body: z.string().describe('Plain text as written: show it as text, never as markup'),
  mentions: z.array(userRefOutput).describe('Members the text names with @username'),
  createdAt: timestamp,
  updatedAt: timestamp,
  edited: z.boolean(),
  version: z.number().int().describe('Incremented by every edit; send it back as `expectedVersion`'),
});

const tags = ['comments'];

export const commentsRouter = {
  list: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: { method: 'GET', path: '/tasks/{taskId}/comments', tags, summary: "A task's comments, oldest first" },
      refusals: ['NOT_FOUND'],
    })
    .input(listCommentsInput)
    .output(pageOutput(commentOutput))
    .query(({ ctx, input }) => ctx.services.comments.list(ctx.user, input)),

  create: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: {
        method: 'POST',
        path: '/tasks/{taskId}/comments',
        tags,
        summary: 'Comment on a task',
        description:
          'Plain text up to 10,000 characters; `@username` mentions a member of the project. Refused with `QUOTA_EXCEEDED` (`details.quota` is `comments`) when you already have as many comments as the live setting allows.',
      },
      successStatus: 201,
      location: '/comments/{id}',
      refusals: [...WRITE_REFUSALS, 'QUOTA_EXCEEDED'],
    })
    .input(createCommentInput)
    .output(commentOutput)
    .mutation(({ ctx, input }) => ctx.services.comments.create(ctx.user, input, ctx.client)),

  update: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: { method: 'PATCH', path: '/comments/{id}', tags, summary: 'Edit a comment', description: 'Its author, or an owner of the project.' },
      refusals: [...WRITE_REFUSALS, 'VERSION_CONFLICT'],
    })
    .input(updateCommentInput)
    .output(commentOutput)
    .mutation(({ ctx, input }) => ctx.services.comments.update(ctx.user, input, ctx.client)),

  delete: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: { method: 'DELETE', path: '/comments/{id}', tags, summary: 'Delete a comment', description: 'Its author, or an owner of the project.' },
      refusals: WRITE_REFUSALS,
    })
    .input(z.object({ id: idSchema }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.comments.delete(ctx.user, input.id, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;
