import type { TRPCRouterRecord } from '@trpc/server';
import { adminListTasksInput } from '@stm/validators';
import { z } from 'zod';
import { adminProcedure } from '../trpc';
import { countedPageOutput } from './schemas';
import { taskOutput } from './tasks';

const adminTaskOutput = taskOutput.extend({ ownerUsername: z.string().nullable().describe("The creator's username; null once that account is deleted") });

export const adminTasksRouter = {
  list: adminProcedure
    .meta({
      scope: 'admin:read',
      openapi: {
        method: 'GET',
        path: '/admin/tasks',
        tags: ['admin'],
        summary: 'Every task of every project',
        description:
          'The filters, sorts and cursor pagination of `GET /api/tasks`, across every project (or one, with `projectId`); narrow to one creator with `ownerId` or `owner` (username, any letter case).',
      },
      refusals: ['SEARCH_TIMEOUT'],
    })
    .input(adminListTasksInput)
    .output(countedPageOutput(adminTaskOutput))
    .query(({ ctx, input }) => ctx.services.tasks.listAll(ctx.user, input)),
} satisfies TRPCRouterRecord;
