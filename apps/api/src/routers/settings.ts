import type { TRPCRouterRecord } from '@trpc/server';
import { settingsSchema, settingsUpdateInput } from '@stm/validators';
import { z } from 'zod';
import type { SettingsSnapshot } from '../services/settings';
import { actorOf } from '../services/auth';
import { adminProcedure, publicProcedure } from '../trpc';
import { timestamp } from './schemas';

const tags = ['settings'];

const settingsOutput = z.object({ value: settingsSchema, version: z.number().int(), updatedAt: timestamp });

function present(snapshot: SettingsSnapshot) {
  return { value: snapshot.value, version: snapshot.version, updatedAt: snapshot.updatedAt };
}

export const settingsRouter = {
  public: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/settings/public',
        protect: false,
        tags,
        summary: 'What sign-up and token forms need to know',
      },
    })
    .output(z.object({ registrationOpen: z.boolean(), passwordMinLength: z.number().int(), apiTokenMaxLifetimeDays: z.number().int() }))
    .query(({ ctx }) => {
      const { registrationOpen, passwordMinLength, apiTokenMaxLifetimeDays } = ctx.services.settings.current;
      return { registrationOpen, passwordMinLength, apiTokenMaxLifetimeDays };
    }),

  get: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/settings', tags, summary: 'The live settings' } })
    .output(settingsOutput)
    .query(({ ctx }) => present(ctx.services.settings.snapshot)),

  update: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'PATCH',
        path: '/settings',
        tags,
        summary: 'Change live settings',
        description:
          'In force on every instance within seconds, without a restart, and audit-logged with before and after. Send `expectedVersion` to be refused (409) if someone else changed them since you read them. Requiring a second factor (`mfaRequiredForAdmins`, `mfaRequiredForEveryone`) is refused (403 `MFA_ENROLMENT_REQUIRED`) to an administrator without one.',
      },
      refusals: ['VERSION_CONFLICT', 'MFA_ENROLMENT_REQUIRED'],
    })
    .input(settingsUpdateInput)
    .output(settingsOutput)
    .mutation(async ({ ctx, input }) => present(await ctx.services.settings.update(input, actorOf(ctx.user), ctx.client, ctx.user.mfaEnabled))),
} satisfies TRPCRouterRecord;
