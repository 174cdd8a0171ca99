import type { TRPCRouterRecord } from '@trpc/server';
import { createLabelInput, idSchema, projectColorSchema, projectRefInput, updateLabelInput } from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure } from '../trpc';
import { okOutput, timestamp, WRITE_REFUSALS } from './schemas';

const labelOutput = z.object({ id: z.number().int(), projectId: z.number().int(), name: z.string(), color: projectColorSchema, createdAt: timestamp });

const tags = ['labels'];

export const labelsRouter = {
  list: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: { method: 'GET', path: '/projects/{projectId}/labels', tags, summary: "A project's labels", description: 'By name.' },
      refusals: ['NOT_FOUND'],
    })
    .input(projectRefInput)
    .output(z.array(labelOutput))
    .query(({ ctx, input }) => ctx.services.labels.list(ctx.user, input.projectId)),

  create: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: '/projects/{projectId}/labels',
        tags,
        summary: 'Create a label',
        description: 'Names are unique in a project, whatever their letter case.',
      },
      successStatus: 201,
      location: '/labels/{id}',
      refusals: [...WRITE_REFUSALS, 'LABEL_NAME_TAKEN', 'QUOTA_EXCEEDED'],
    })
    .input(createLabelInput)
    .output(labelOutput)
    .mutation(({ ctx, input }) => ctx.services.labels.create(ctx.user, input, ctx.client)),

  update: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: { method: 'PATCH', path: '/labels/{id}', tags, summary: 'Rename or recolour a label' },
      refusals: [...WRITE_REFUSALS, 'LABEL_NAME_TAKEN'],
    })
    .input(updateLabelInput)
    .output(labelOutput)
    .mutation(({ ctx, input }) => ctx.services.labels.update(ctx.user, input, ctx.client)),

  delete: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: { method: 'DELETE', path: '/labels/{id}', tags, summary: 'Delete a label', description: 'Tasks that had it keep everything else.' },
      refusals: WRITE_REFUSALS,
    })
    .input(z.object({ id: idSchema }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.labels.delete(ctx.user, input.id, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;
