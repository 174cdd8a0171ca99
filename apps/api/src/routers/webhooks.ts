import type { TRPCRouterRecord } from '@trpc/server';
import {
  createGlobalWebhookInput,
  createProjectWebhookInput,
  globalWebhookDeliveriesInput,
  globalWebhookRefInput,
  projectWebhookDeliveriesInput,
  projectWebhookRefInput,
  projectWebhooksInput,
  redeliverGlobalWebhookInput,
  redeliverProjectWebhookInput,
  rotateGlobalWebhookInput,
  rotateProjectWebhookInput,
  updateGlobalWebhookInput,
  updateProjectWebhookInput,
  webhookEventTypeSchema,
} from '@stm/validators';
import { z } from 'zod';
import { adminProcedure, protectedProcedure } from '../trpc';
import { okOutput, timestamp, WRITE_REFUSALS } from './schemas';

const endpointOutput = z.object({
  id: z.number().int(),
  projectId: z.number().int().nullable().describe('Null for a global endpoint'),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(webhookEventTypeSchema),
  active: z.boolean(),
  disabledReason: z.string().nullable().describe('`failing` when deliveries kept failing for the retry window; null otherwise'),
  failingSince: timestamp.nullable(),
  previousSecretExpiresAt: timestamp.nullable().describe('Until when the secret before the last rotation still signs beside the new one'),
  createdAt: timestamp,
  updatedAt: timestamp,
});

const withSecretOutput = endpointOutput.extend({
  secret: z.string().describe('The signing secret (`whsec_…`, Standard Webhooks): shown this once, never again'),
});

const deliveryOutput = z.object({
  id: z.number().int(),
  messageId: z.string().describe('The `webhook-id` header: the same on every attempt of one message'),
  eventType: z.string(),
  attempt: z.number().int(),
  manual: z.boolean().describe('Sent by a person (test or redeliver), not by the worker'),
  succeeded: z.boolean(),
  httpStatus: z.number().int().nullable(),
  durationMs: z.number().int(),
  responseExcerpt: z.string().nullable().describe("The start of the receiver's answer (at most 1 KiB)"),
  error: z.string().nullable(),
  createdAt: timestamp,
});

const deliveriesOutput = z.object({ items: z.array(deliveryOutput), nextBefore: z.number().int().nullable() });

const CREATE_DESCRIPTION =
  'Payloads are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer carries the secret this once. ' +
  'A URL that resolves to a loopback, private, link-local or otherwise non-public address is refused (400 `WEBHOOK_URL_NOT_ALLOWED`).';
const URL_REFUSALS = ['WEBHOOK_URL_NOT_ALLOWED'] as const;

const tags = ['webhooks'];
const base = '/projects/{projectId}/webhooks';

/** A project's webhooks: its owners (and administrators) manage them. */
export const webhooksRouter = {
  list: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: { method: 'GET', path: base, tags, summary: "A project's webhooks", description: 'Owners only.' },
      refusals: WRITE_REFUSALS,
    })
    .input(projectWebhooksInput)
    .output(z.object({ items: z.array(endpointOutput) }))
    .query(async ({ ctx, input }) => ({ items: await ctx.services.webhooks.list(ctx.user, { projectId: input.projectId }) })),

  get: protectedProcedure
    .meta({ scope: 'projects:manage', openapi: { method: 'GET', path: `${base}/{id}`, tags, summary: 'One webhook of a project' }, refusals: WRITE_REFUSALS })
    .input(projectWebhookRefInput)
    .output(endpointOutput)
    .query(({ ctx, input }) => ctx.services.webhooks.get(ctx.user, { projectId: input.projectId }, input.id)),

  create: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: { method: 'POST', path: base, tags, summary: 'Add a webhook to a project', description: CREATE_DESCRIPTION },
      successStatus: 201,
      location: 'webhooks/{id}',
      refusals: [...WRITE_REFUSALS, ...URL_REFUSALS, 'QUOTA_EXCEEDED'],
    })
    .input(createProjectWebhookInput)
    .output(withSecretOutput)
    .mutation(({ ctx, input }) => {
      const { projectId, ...fields } = input;
      return ctx.services.webhooks.create(ctx.user, { projectId }, fields, ctx.client);
    }),

  update: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'PATCH',
        path: `${base}/{id}`,
        tags,
        summary: 'Change a webhook',
        description: 'Enabling a disabled webhook resumes delivery from where it stopped.',
      },
      refusals: [...WRITE_REFUSALS, ...URL_REFUSALS],
    })
    .input(updateProjectWebhookInput)
    .output(endpointOutput)
    .mutation(({ ctx, input }) => {
      const { projectId, id, ...changes } = input;
      return ctx.services.webhooks.update(ctx.user, { projectId }, id, changes, ctx.client);
    }),

  delete: protectedProcedure
    .meta({ scope: 'projects:manage', openapi: { method: 'DELETE', path: `${base}/{id}`, tags, summary: 'Remove a webhook' }, refusals: WRITE_REFUSALS })
    .input(projectWebhookRefInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.webhooks.delete(ctx.user, { projectId: input.projectId }, input.id, ctx.client);
      return { ok: true as const };
    }),

  rotateSecret: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: `${base}/{id}/rotate-secret`,
        tags,
        summary: "Rotate a webhook's signing secret",
        description: 'The old secret keeps signing beside the new one for `overlapHours` (default 24): `webhook-signature` then carries both signatures.',
      },
      refusals: WRITE_REFUSALS,
    })
    .input(rotateProjectWebhookInput)
    .output(withSecretOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.rotateSecret(ctx.user, { projectId: input.projectId }, input.id, input.overlapHours, ctx.client)),

  deliveries: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: { method: 'GET', path: `${base}/{id}/deliveries`, tags, summary: "A webhook's delivery log, newest first" },
      refusals: WRITE_REFUSALS,
    })
    .input(projectWebhookDeliveriesInput)
    .output(deliveriesOutput)
    .query(({ ctx, input }) => ctx.services.webhooks.deliveries(ctx.user, { projectId: input.projectId }, input.id, input)),

  redeliver: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: `${base}/{id}/deliveries/{deliveryId}/redeliver`,
        tags,
        summary: 'Send a logged message again, now',
        description: 'Same `webhook-id`, fresh timestamp and signature.',
      },
      refusals: WRITE_REFUSALS,
    })
    .input(redeliverProjectWebhookInput)
    .output(deliveryOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.redeliver(ctx.user, { projectId: input.projectId }, input.id, input.deliveryId, ctx.client)),

  test: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: { method: 'POST', path: `${base}/{id}/test`, tags, summary: 'Send a signed `webhook.ping` now' },
      refusals: WRITE_REFUSALS,
    })
    .input(projectWebhookRefInput)
    .output(deliveryOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.ping(ctx.user, { projectId: input.projectId }, input.id)),
} satisfies TRPCRouterRecord;

const adminTags = ['admin', 'webhooks'];
const adminBase = '/admin/webhooks';
const GLOBAL = 'global' as const;

/** Global webhooks: every project's events, and account and security events. Administrators only. */
export const globalWebhooksRouter = {
  list: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: adminBase, tags: adminTags, summary: 'Global webhooks' } })
    .output(z.object({ items: z.array(endpointOutput) }))
    .query(async ({ ctx }) => ({ items: await ctx.services.webhooks.list(ctx.user, GLOBAL) })),

  get: adminProcedure
    .meta({
      scope: 'admin:read',
      openapi: { method: 'GET', path: `${adminBase}/{id}`, tags: adminTags, summary: 'One global webhook' },
      refusals: ['NOT_FOUND'],
    })
    .input(globalWebhookRefInput)
    .output(endpointOutput)
    .query(({ ctx, input }) => ctx.services.webhooks.get(ctx.user, GLOBAL, input.id)),

  create: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: {
        method: 'POST',
        path: adminBase,
        tags: adminTags,
        summary: 'Add a global webhook',
        description: `${CREATE_DESCRIPTION} Besides project events (of every project), \`user.*\` and \`security.*\` (from the audit log).`,
      },
      successStatus: 201,
      location: '/admin/webhooks/{id}',
      refusals: [...URL_REFUSALS, 'QUOTA_EXCEEDED'],
    })
    .input(createGlobalWebhookInput)
    .output(withSecretOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.create(ctx.user, GLOBAL, input, ctx.client)),

  update: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: { method: 'PATCH', path: `${adminBase}/{id}`, tags: adminTags, summary: 'Change a global webhook' },
      refusals: ['NOT_FOUND', ...URL_REFUSALS],
    })
    .input(updateGlobalWebhookInput)
    .output(endpointOutput)
    .mutation(({ ctx, input }) => {
      const { id, ...changes } = input;
      return ctx.services.webhooks.update(ctx.user, GLOBAL, id, changes, ctx.client);
    }),

  delete: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: { method: 'DELETE', path: `${adminBase}/{id}`, tags: adminTags, summary: 'Remove a global webhook' },
      refusals: ['NOT_FOUND'],
    })
    .input(globalWebhookRefInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.webhooks.delete(ctx.user, GLOBAL, input.id, ctx.client);
      return { ok: true as const };
    }),

  rotateSecret: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: { method: 'POST', path: `${adminBase}/{id}/rotate-secret`, tags: adminTags, summary: "Rotate a global webhook's signing secret" },
      refusals: ['NOT_FOUND'],
    })
    .input(rotateGlobalWebhookInput)
    .output(withSecretOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.rotateSecret(ctx.user, GLOBAL, input.id, input.overlapHours, ctx.client)),

  deliveries: adminProcedure
    .meta({
      scope: 'admin:read',
      openapi: { method: 'GET', path: `${adminBase}/{id}/deliveries`, tags: adminTags, summary: "A global webhook's delivery log" },
      refusals: ['NOT_FOUND'],
    })
    .input(globalWebhookDeliveriesInput)
    .output(deliveriesOutput)
    .query(({ ctx, input }) => ctx.services.webhooks.deliveries(ctx.user, GLOBAL, input.id, input)),

  redeliver: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: { method: 'POST', path: `${adminBase}/{id}/deliveries/{deliveryId}/redeliver`, tags: adminTags, summary: 'Send a logged message again, now' },
      refusals: ['NOT_FOUND'],
    })
    .input(redeliverGlobalWebhookInput)
    .output(deliveryOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.redeliver(ctx.user, GLOBAL, input.id, input.deliveryId, ctx.client)),

  test: adminProcedure
    .meta({
      scope: 'admin:write',
      openapi: { method: 'POST', path: `${adminBase}/{id}/test`, tags: adminTags, summary: 'Send a signed `webhook.ping` now' },
      refusals: ['NOT_FOUND'],
    })
    .input(globalWebhookRefInput)
    .output(deliveryOutput)
    .mutation(({ ctx, input }) => ctx.services.webhooks.ping(ctx.user, GLOBAL, input.id)),
} satisfies TRPCRouterRecord;
