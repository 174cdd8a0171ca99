import type { TRPCRouterRecord } from '@trpc/server';
import {
  createUserInput,
  cursorSchema,
  idSchema,
  limitSchema,
  NUL_MESSAGE,
  noNul,
  queryBoolean,
  roleSchema,
  strictBoolean,
  USER_SEARCH_MAX,
} from '@stm/validators';
import { z } from 'zod';
import { adminProcedure } from '../trpc';
import { adminUserOutput, NEW_PASSWORD_REFUSALS, okOutput, pageOutput, timestamp, userOutput } from './schemas';

const tags = ['admin'];

const listInput = z.object({
  search: z.string().trim().max(USER_SEARCH_MAX).refine(noNul, NUL_MESSAGE).optional().describe('Part of the username, any case'),
  role: roleSchema.optional(),
  isActive: queryBoolean.optional().describe('"true" or "false"'),
  limit: limitSchema,
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});

export const usersRouter = {
  list: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/admin/users', tags, summary: 'Users, filtered, one page at a time' } })
    .input(listInput)
    .output(pageOutput(adminUserOutput))
    .query(({ ctx, input }) => ctx.services.users.list(ctx.user, input)),

  get: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/admin/users/{id}', tags, summary: 'One user' }, refusals: ['NOT_FOUND'] })
    .input(z.object({ id: idSchema }))
    .output(adminUserOutput)
    .query(({ ctx, input }) => ctx.services.users.get(ctx.user, input.id)),

  create: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'POST',
        path: '/admin/users',
        tags,
        summary: 'Create a user of any role',
        description: 'Creating an administrator needs a sign-in within the last 5 minutes (403 `STEP_UP_REQUIRED`), as granting the role does.',
      },
      successStatus: 201,
      location: '/admin/users/{id}',
      refusals: ['USERNAME_TAKEN', 'STEP_UP_REQUIRED', ...NEW_PASSWORD_REFUSALS],
    })
    .input(createUserInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => ctx.services.users.create(ctx.user, input, ctx.client)),

  update: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'PATCH',
        path: '/admin/users/{id}',
        tags,
        summary: 'Change role or activation',
        description:
          'Deactivation ends every session of the user. The last active administrator cannot be demoted or deactivated (409). Changing a role needs a sign-in within the last 5 minutes (403 `STEP_UP_REQUIRED`).',
      },
      refusals: ['NOT_FOUND', 'LAST_ADMIN', 'STEP_UP_REQUIRED'],
    })
    .input(z.object({ id: idSchema, role: roleSchema.optional(), isActive: strictBoolean.optional() }))
    .output(userOutput)
    .mutation(({ ctx, input }) => {
      const { id, ...change } = input;
      return ctx.services.users.update(ctx.user, id, change, ctx.client);
    }),

  delete: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'DELETE',
        path: '/admin/users/{id}',
        tags,
        summary: 'Delete a user',
        description:
          'Their inbox and the projects only they were a member of go with them; their tasks elsewhere stay, unassigned where they were the assignee. Their sessions end. Refused (409) for the last active administrator (`LAST_ADMIN`), and for the only owner of a project others work in (`SOLE_PROJECT_OWNER`, `data.details.projects`).',
      },
      refusals: ['NOT_FOUND', 'LAST_ADMIN', 'SOLE_PROJECT_OWNER'],
    })
    .input(z.object({ id: idSchema }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.users.delete(ctx.user, input.id, ctx.client);
      return { ok: true as const };
    }),

  resetFactors: adminProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/admin/users/{id}/reset-factors',
        tags,
        summary: "Remove a user's second factors",
        description:
          'For a user who lost their authenticator: their authenticator app, passkeys and recovery codes are removed and every session of theirs ends; they sign in with their password and set up a factor again. Audited. Needs a sign-in within the last 5 minutes.',
      },
      stepUp: true,
      refusals: ['NOT_FOUND'],
    })
    .input(z.object({ id: idSchema }))
    .output(z.object({ ok: z.literal(true), endedSessions: z.number().int() }))
    .mutation(async ({ ctx, input }) => ({ ok: true as const, ...(await ctx.services.users.resetFactors(ctx.user, input.id, ctx.client)) })),

  createResetLink: adminProcedure
    .meta({
      // Whoever holds the link takes the account over: a person who signed in lately, never a token.
      scope: 'none',
      stepUp: true,
      openapi: {
        method: 'POST',
        path: '/admin/users/{id}/reset-link',
        tags,
        summary: 'Create a password-reset token',
        description:
          'Single use, valid for one hour, shown only in this answer: hand it to the user, who sets a new password with `POST /api/auth/reset-password`. Older unused tokens of the user stop working. Needs a sign-in within the last 5 minutes; never with an API token.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(z.object({ id: idSchema }))
    .output(z.object({ token: z.string(), expiresAt: timestamp }))
    .mutation(({ ctx, input }) => ctx.services.passwordResets.createLink(ctx.user, input.id, ctx.client)),
} satisfies TRPCRouterRecord;
