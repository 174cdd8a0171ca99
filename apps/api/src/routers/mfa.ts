import type { TRPCRouterRecord } from '@trpc/server';
import { passkeyIdSchema, passkeyNameSchema, passkeyRegisterInput, totpCodeSchema } from '@stm/validators';
import { z } from 'zod';
import { sessionOf } from '../services/auth';
import { protectedProcedure } from '../trpc';
import { webauthnOptions } from './auth';
import { okOutput, timestamp } from './schemas';

const tags = ['second factors'];

const passkeyOutput = z.object({ id: z.string(), name: z.string(), createdAt: timestamp, lastUsedAt: timestamp.nullable(), backedUp: z.boolean() });
const recoveryCodesOutput = z.array(z.string()).describe('Shown this once: store them somewhere safe');

/**
 * The caller's own second factors. Adding or removing one needs a sign-in within the last five
 * minutes (`stepUp`); an account a policy requires to enrol may use these before anything else.
 */
export const mfaRouter = {
  status: protectedProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'GET', path: '/auth/mfa', tags, summary: 'Your second factors, and whether a policy requires one' },
      duringEnrolment: true,
    })
    .output(
      z.object({
        totp: z.boolean(),
        passkeys: z.array(passkeyOutput),
        recoveryCodes: z.object({ total: z.number().int(), unused: z.number().int() }),
        policy: z.object({ required: z.boolean(), graceEndsAt: timestamp.nullable(), mustEnrolNow: z.boolean() }),
      }),
    )
    .query(({ ctx }) => ctx.services.factors.status(ctx.user)),

  totpBegin: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/mfa/totp',
        tags,
        summary: 'Start setting up an authenticator app',
        description: 'Answers the secret (to type) and its QR code (an SVG data URL), shown this once. Confirm with a code from the app.',
      },
      stepUp: true,
      duringEnrolment: true,
      refusals: ['TOTP_ALREADY_ENABLED'],
    })
    .output(z.object({ secret: z.string(), uri: z.string(), qrCode: z.string() }))
    .mutation(({ ctx }) => ctx.services.factors.beginTotp(ctx.user)),

  totpConfirm: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/mfa/totp/confirm',
        tags,
        summary: 'Finish setting up an authenticator app',
        description: 'With the first factor of the account come ten recovery codes, shown this once (`recoveryCodes`; null when it already had some).',
      },
      stepUp: true,
      duringEnrolment: true,
      refusals: ['TOTP_NOT_STARTED', 'TOTP_ALREADY_ENABLED', 'MFA_CODE_INVALID', 'CONFLICT'],
    })
    .input(z.object({ code: totpCodeSchema }))
    .output(z.object({ recoveryCodes: recoveryCodesOutput.nullable() }))
    .mutation(({ ctx, input }) => ctx.services.factors.confirmTotp(ctx.user, input.code, ctx.client)),

  totpDisable: protectedProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'DELETE', path: '/auth/mfa/totp', tags, summary: 'Remove the authenticator app' },
      stepUp: true,
      refusals: ['NOT_FOUND'],
    })
    .output(okOutput)
    .mutation(async ({ ctx }) => {
      await ctx.services.factors.disableTotp(ctx.user, ctx.client);
      return { ok: true as const };
    }),

  regenerateRecoveryCodes: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/mfa/recovery-codes',
        tags,
        summary: 'Make ten new recovery codes',
        description: 'The earlier ones stop working.',
      },
      stepUp: true,
      refusals: ['CONFLICT'],
    })
    .output(z.object({ recoveryCodes: recoveryCodesOutput }))
    .mutation(async ({ ctx }) => ({ recoveryCodes: await ctx.services.factors.regenerateRecoveryCodes(ctx.user, ctx.client) })),

  passkeyRegistrationOptions: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/mfa/passkeys/options',
        tags,
        summary: 'Start adding a passkey',
        description: 'Answers a `challenge` and the options for `navigator.credentials.create` (a discoverable credential).',
      },
      stepUp: true,
      duringEnrolment: true,
    })
    .output(z.object({ challenge: z.string(), options: z.record(z.string(), z.unknown()) }))
    .mutation(async ({ ctx }) => {
      const started = await ctx.services.factors.passkeyRegistrationOptions(ctx.user, sessionOf(ctx.user));
      return { ...started, options: webauthnOptions(started.options) };
    }),

  passkeyRegister: protectedProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'POST', path: '/auth/mfa/passkeys', tags, summary: 'Add a passkey' },
      successStatus: 201,
      stepUp: true,
      duringEnrolment: true,
      refusals: ['MFA_CHALLENGE_INVALID', 'PASSKEY_REGISTRATION_FAILED', 'CONFLICT'],
    })
    .input(passkeyRegisterInput)
    .output(z.object({ passkey: passkeyOutput, recoveryCodes: recoveryCodesOutput.nullable() }))
    .mutation(({ ctx, input }) => ctx.services.factors.registerPasskey(ctx.user, sessionOf(ctx.user), input, ctx.client)),

  passkeyRename: protectedProcedure
    .meta({ scope: 'none', openapi: { method: 'PATCH', path: '/auth/mfa/passkeys/{id}', tags, summary: 'Rename a passkey' }, refusals: ['NOT_FOUND'] })
    .input(z.object({ id: passkeyIdSchema, name: passkeyNameSchema }))
    .output(passkeyOutput)
    .mutation(({ ctx, input }) => ctx.services.factors.renamePasskey(ctx.user, input.id, input.name, ctx.client)),

  passkeyRemove: protectedProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'DELETE', path: '/auth/mfa/passkeys/{id}', tags, summary: 'Remove a passkey' },
      stepUp: true,
      refusals: ['NOT_FOUND'],
    })
    .input(z.object({ id: passkeyIdSchema }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.factors.removePasskey(ctx.user, input.id, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;
