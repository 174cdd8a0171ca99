import type { TRPCRouterRecord } from '@trpc/server';
import { setEmailInput, verifyEmailInput } from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure, publicProcedure } from '../trpc';
import { okOutput, timestamp } from './schemas';

const accountEmailOutput = z.object({
  email: z.string().nullable().describe('Your confirmed address: password-reset and notification mail go here, and nowhere else'),
  verifiedAt: timestamp.nullable().describe('When `email` was confirmed'),
  pendingEmail: z.string().nullable().describe('An address you gave that is waiting for you to open the link mailed to it; `email` stays in use until then'),
});

const tags = ['account'];

export const accountRouter = {
  email: protectedProcedure
    .meta({ scope: 'any', openapi: { method: 'GET', path: '/account/email', tags, summary: 'Your email address and whether it is confirmed' } })
    .output(accountEmailOutput)
    .query(({ ctx }) => ctx.services.accountEmail.get(ctx.user)),

  setEmail: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'PUT',
        path: '/account/email',
        tags,
        summary: 'Give your account an email address, change it, or remove it',
        description:
          'A link to confirm it is mailed to the new address (single use, valid 24 hours); until it is opened the address is `pendingEmail`, and the confirmed one, if any, stays in use and is told of the change. `null` removes both. Unique whatever the letter case among confirmed addresses: an address another account confirmed is answered alike (pending), but its owner is told instead and no link is sent, so the answer says nothing of whose it is. At most 5 confirmation links an hour, however asked for (429 `RATE_LIMITED`). Needs a sign-in within the last 5 minutes (403 `STEP_UP_REQUIRED`).',
      },
      rateLimit: 'auth',
      stepUp: true,
    })
    .input(setEmailInput)
    .output(accountEmailOutput)
    .mutation(({ ctx, input }) => ctx.services.accountEmail.set(ctx.user, input.email, ctx.client)),

  resendVerification: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/account/email/resend',
        tags,
        summary: 'Mail a new confirmation link to your pending address',
        description: 'Earlier links stop working. At most 5 confirmation links an hour, counting those of `PUT /api/account/email` (429 `RATE_LIMITED`).',
      },
      rateLimit: 'auth',
      refusals: ['EMAIL_NOT_PENDING'],
    })
    .output(okOutput)
    .mutation(async ({ ctx }) => {
      await ctx.services.accountEmail.resend(ctx.user);
      return { ok: true as const };
    }),

  verifyEmail: publicProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/account/email/verify',
        protect: false,
        tags,
        summary: 'Confirm an email address with the token of its link',
        description:
          'No sign-in needed: the token is the proof. It works once, within 24 hours, and only while that address is still the pending one (400 `EMAIL_TOKEN_INVALID` otherwise). 409 `EMAIL_TAKEN` when another account confirmed the same address first.',
      },
      rateLimit: 'auth',
      refusals: ['EMAIL_TOKEN_INVALID', 'EMAIL_TAKEN'],
    })
    .input(verifyEmailInput)
    .output(z.object({ ok: z.literal(true), email: z.string() }))
    .mutation(async ({ ctx, input }) => ({ ok: true as const, ...(await ctx.services.accountEmail.verify(input.token, ctx.client)) })),
} satisfies TRPCRouterRecord;
