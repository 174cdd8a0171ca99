import type { TRPCRouterRecord } from '@trpc/server';
import { cursorSchema, idSchema, isoDateTime, limitSchema, NUL_MESSAGE, noNul } from '@stm/validators';
import { z } from 'zod';
import { listAuditEntries } from '../services/audit-log';
import { adminProcedure } from '../trpc';
import { timestamp } from './schemas';

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

const listInput = z
  .object({
    actorId: idSchema.optional(),
    actor: z.string().min(1).max(64).refine(noNul, NUL_MESSAGE).optional().describe('Username of the actor, any case'),
    action: z
      .string()
      .max(64)
      .regex(/^[a-z_]+\.[a-z_]+$/, 'An action looks like "auth.login_failed"')
      .optional(),
    from: isoDateTime.optional().describe('Events at or after this instant'),
    to: isoDateTime.optional().describe('Events at or before this instant'),
    limit: limitSchema,
    cursor: cursorSchema.optional(),
  })
  .refine((input) => !input.from || !input.to || Date.parse(input.from) <= Date.parse(input.to), {
    message: '"from" must not be after "to"',
    path: ['from'],
  });

export const auditRouter = {
  list: adminProcedure
    .meta({ openapi: { method: 'GET', path: '/admin/audit', tags, summary: 'Security events, newest first' } })
    .input(listInput)
    .output(z.object({ items: z.array(auditEntryOutput), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) =>
      listAuditEntries(ctx.services.database.db, ctx.user, {
        ...input,
        from: input.from === undefined ? undefined : new Date(input.from),
        to: input.to === undefined ? undefined : new Date(input.to),
      }),
    ),
} satisfies TRPCRouterRecord;
