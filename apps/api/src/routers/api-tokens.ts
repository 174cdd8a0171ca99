import type { TRPCRouterRecord } from '@trpc/server';
import {
  apiTokenIdInput,
  apiTokenScopeSchema,
  createApiTokenInput,
  createServiceAccountInput,
  createServiceAccountTokenInput,
  serviceAccountIdInput,
} from '@stm/validators';
import { z } from 'zod';
import { adminProcedure, protectedProcedure } from '../trpc';
import { okOutput, timestamp } from './schemas';

const tokenOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  hint: z.string().describe('The prefix and first characters of the secret, to tell tokens apart'),
  scopes: z.array(apiTokenScopeSchema),
  createdAt: timestamp,
  expiresAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  lastUsedIp: z.string().nullable(),
  revokedAt: timestamp.nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
});

const createdTokenOutput = tokenOutput.extend({
  token: z.string().describe('The secret: shown this once, never again. Send it as `Authorization: Bearer <token>`'),
});

const serviceAccountOutput = z.object({
  id: z.number().int(),
  username: z.string(),
  role: z.enum(['admin', 'user']),
  isActive: z.boolean(),
  createdAt: timestamp,
  liveTokens: z.number().int(),
});

const CREATE_REFUSALS = ['TOKEN_LIFETIME_TOO_LONG', 'TOKEN_SCOPE_NOT_ALLOWED', 'QUOTA_EXCEEDED', 'TOKEN_NOT_ALLOWED'] as const;

const tags = ['tokens'];

/** The caller's own personal access tokens. None of this is callable with a token. */
export const apiTokensRouter = {
  list: protectedProcedure
    .meta({ scope: 'none', openapi: { method: 'GET', path: '/tokens', tags, summary: 'Your API tokens, newest first' } })
    .output(z.object({ items: z.array(tokenOutput) }))
    .query(async ({ ctx }) => ({ items: await ctx.services.apiTokens.list(ctx.user) })),

  create: protectedProcedure
    .meta({
      scope: 'none',
      // Minting a credential needs a recent sign-in (STEP_UP_REQUIRED otherwise), as changing the password does.
      stepUp: true,
      openapi: {
        method: 'POST',
        path: '/tokens',
        tags,
        summary: 'Create a personal access token',
        description:
          'The answer carries the secret (`stm_pat_…`) this once. Admin scopes only for administrators; the expiry at most the `apiTokenMaxLifetimeDays` setting.',
      },
      successStatus: 201,
      refusals: CREATE_REFUSALS,
    })
    .input(createApiTokenInput)
    .output(createdTokenOutput)
    .mutation(({ ctx, input }) => ctx.services.apiTokens.create(ctx.user, input, ctx.client)),

  revoke: protectedProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'DELETE', path: '/tokens/{id}', tags, summary: 'Revoke one of your API tokens', description: 'Refused at once by every instance.' },
      refusals: ['NOT_FOUND'],
    })
    .input(apiTokenIdInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.apiTokens.revoke(ctx.user, input.id, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;

const adminTags = ['admin'];

/** Accounts for programs: no password, no console, only tokens. Administrators manage them. */
export const serviceAccountsRouter = {
  list: adminProcedure
    .meta({ scope: 'none', openapi: { method: 'GET', path: '/admin/service-accounts', tags: adminTags, summary: 'Service accounts, by name' } })
    .output(z.object({ items: z.array(serviceAccountOutput) }))
    .query(async ({ ctx }) => ({ items: await ctx.services.apiTokens.listServiceAccounts() })),

  create: adminProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/admin/service-accounts',
        tags: adminTags,
        summary: 'Create a service account',
        description: 'It has no password and can never sign in; it acts through its tokens.',
      },
      successStatus: 201,
      refusals: ['USERNAME_TAKEN'],
    })
    .input(createServiceAccountInput)
    .output(serviceAccountOutput)
    .mutation(({ ctx, input }) => ctx.services.apiTokens.createServiceAccount(input, ctx.user, ctx.client)),

  disable: adminProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/admin/service-accounts/{id}/disable',
        tags: adminTags,
        summary: 'Disable a service account',
        description: 'Its tokens are refused at once by every instance.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(serviceAccountIdInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.apiTokens.setServiceAccountActive(input.id, false, ctx.user, ctx.client);
      return { ok: true as const };
    }),

  enable: adminProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'POST', path: '/admin/service-accounts/{id}/enable', tags: adminTags, summary: 'Enable a service account again' },
      refusals: ['NOT_FOUND'],
    })
    .input(serviceAccountIdInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.apiTokens.setServiceAccountActive(input.id, true, ctx.user, ctx.client);
      return { ok: true as const };
    }),

  tokens: adminProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'GET', path: '/admin/service-accounts/{id}/tokens', tags: adminTags, summary: "A service account's tokens" },
      refusals: ['NOT_FOUND'],
    })
    .input(serviceAccountIdInput)
    .output(z.object({ items: z.array(tokenOutput) }))
    .query(async ({ ctx, input }) => ({ items: await ctx.services.apiTokens.listServiceAccountTokens(input.id) })),

  createToken: adminProcedure
    .meta({
      scope: 'none',
      stepUp: true,
      openapi: {
        method: 'POST',
        path: '/admin/service-accounts/{accountId}/tokens',
        tags: adminTags,
        summary: 'Create a token for a service account',
        description: 'The answer carries the secret (`stm_sat_…`) this once.',
      },
      successStatus: 201,
      refusals: ['NOT_FOUND', ...CREATE_REFUSALS],
    })
    .input(createServiceAccountTokenInput)
    .output(createdTokenOutput)
    .mutation(({ ctx, input }) => {
      const { accountId, ...token } = input;
      return ctx.services.apiTokens.createServiceAccountToken(accountId, token, ctx.user, ctx.client);
    }),

  revokeToken: adminProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'DELETE', path: '/admin/service-accounts/{accountId}/tokens/{id}', tags: adminTags, summary: "Revoke a service account's token" },
      refusals: ['NOT_FOUND'],
    })
    .input(apiTokenIdInput.extend({ accountId: serviceAccountIdInput.shape.id }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.apiTokens.revokeServiceAccountToken(input.accountId, input.id, ctx.user, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;
