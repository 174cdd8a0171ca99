import type { TRPCRouterRecord } from '@trpc/server';
import { auditListInput } from '@stm/validators';
import { z } from 'zod';
import { listAuditEntries } from '../services/audit-log';
import { adminProcedure } from '../trpc';
import { pageOutput, timestamp } from './schemas';

const tags = ['admin'];

const auditEntryOutput = z.object({
  id: z.number().int(),
  occurredAt: timestamp,
  action: z.string(),
  actorId: z.number().int().nullable(),
  actorUsername: z.string().nullable(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  targetLabel: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

export const auditRouter = {
  list: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/admin/audit', tags, summary: 'Security events, newest first' } })
    .input(auditListInput)
    .output(pageOutput(auditEntryOutput))
    .query(({ ctx, input }) =>
      listAuditEntries(ctx.services.database.db, ctx.user, {
        ...input,
        from: input.from === undefined ? undefined : new Date(input.from),
        to: input.to === undefined ? undefined : new Date(input.to),
      }),
    ),
} satisfies TRPCRouterRecord;
