import type { TRPCRouterRecord } from '@trpc/server';
import { NUL_MESSAGE, noNul } from '@stm/validators';
import { z } from 'zod';
import { actorOf } from '../services/auth';
import { adminProcedure } from '../trpc';
import { timestamp } from './schemas';

const tags = ['admin'];

const keyOutput = z.object({
  kid: z.string(),
  algorithm: z.string(),
  createdAt: timestamp,
  retiredAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  status: z.enum(['current', 'retired', 'revoked']),
});

export const keysRouter = {
  list: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/admin/keys', tags, summary: 'Signing keys' } })
    .output(z.object({ items: z.array(keyOutput) }))
    .query(async ({ ctx }) => ({ items: await ctx.services.keyring.list() })),

  rotate: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'POST',
        path: '/admin/keys/rotate',
        tags,
        summary: 'Rotate the signing key',
        description: 'A new key signs from now on; tokens signed by the previous key stay valid until they expire.',
      },
    })
    .output(z.object({ kid: z.string(), previousKid: z.string().nullable() }))
    .mutation(({ ctx }) => ctx.services.keyring.rotate(actorOf(ctx.user), ctx.client)),

  revoke: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'POST',
        path: '/admin/keys/{kid}/revoke',
        tags,
        summary: 'Revoke a signing key',
        description: 'Every token it signed stops working at once. Revoking the current key also creates a new one.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(z.object({ kid: z.string().min(1).max(100).refine(noNul, NUL_MESSAGE) }))
    .output(z.object({ kid: z.string(), newKid: z.string().nullable() }))
    .mutation(({ ctx, input }) => ctx.services.keyring.revoke(input.kid, actorOf(ctx.user), ctx.client)),
} satisfies TRPCRouterRecord;
