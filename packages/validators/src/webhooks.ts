import { z } from 'zod';
import { idSchema, limitSchema, NUL_MESSAGE, noNul, strictBoolean } from './common';
import { PROJECT_CHANGE_KINDS } from './projects';

/** What happens in a project that a webhook can hear of, one by one: each change the change log records. */
export const WEBHOOK_PROJECT_EVENTS = PROJECT_CHANGE_KINDS;

/** Every event of one family: `task.*` is each `task.` event, today's and later ones. */
export const WEBHOOK_PROJECT_FAMILIES = ['task.*', 'comment.*', 'member.*', 'project.*'] as const;

/**
 * Only for global endpoints (administrators): accounts (`user.created`, `user.deleted`, …) and
 * security events (`security.auth.login_failed`, `security.mfa.totp_enabled`, …), read from the
 * audit log.
 */
export const WEBHOOK_ADMIN_FAMILIES = ['user.*', 'security.*'] as const;

export const WEBHOOK_EVENT_TYPES = [...WEBHOOK_PROJECT_EVENTS, ...WEBHOOK_PROJECT_FAMILIES, ...WEBHOOK_ADMIN_FAMILIES] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);

export const WEBHOOK_URL_MAX = 2_000;

/** Where a webhook goes: an http(s) URL without credentials in it (they would be logged and shown). */
export const webhookUrlSchema = z
  .string()
  .trim()
  .max(WEBHOOK_URL_MAX)
  .refine(noNul, NUL_MESSAGE)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'Must be an http:// or https:// URL without a user name or password');

const eventTypes = z
  .array(webhookEventTypeSchema)
  .min(1, 'Choose at least one event')
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((types) => [...new Set(types)]);

const description = z.string().trim().max(200).refine(noNul, NUL_MESSAGE);

const endpointFields = {
  url: webhookUrlSchema,
  description: description.default(''),
  eventTypes,
  active: strictBoolean.default(true),
};

export const createProjectWebhookInput = z.strictObject({ projectId: idSchema, ...endpointFields });
export const createGlobalWebhookInput = z.strictObject(endpointFields);
export type CreateWebhookInput = z.infer<typeof createGlobalWebhookInput>;

const changeFields = {
  url: webhookUrlSchema.optional(),
  description: description.optional(),
  eventTypes: eventTypes.optional(),
  active: strictBoolean.optional(),
};

export const projectWebhookRefInput = z.object({ projectId: idSchema, id: idSchema });
export const globalWebhookRefInput = z.object({ id: idSchema });
export const projectWebhooksInput = z.object({ projectId: idSchema });

export const updateProjectWebhookInput = z.strictObject({ projectId: idSchema, id: idSchema, ...changeFields });
export const updateGlobalWebhookInput = z.strictObject({ id: idSchema, ...changeFields });
export type UpdateWebhookInput = z.infer<typeof updateGlobalWebhookInput>;

/** How long the old secret keeps signing beside the new one, so receivers can switch without losing a message. */
const overlapHours = z.coerce.number().int().min(0).max(168).default(24);
export const rotateProjectWebhookInput = z.object({ projectId: idSchema, id: idSchema, overlapHours });
export const rotateGlobalWebhookInput = z.object({ id: idSchema, overlapHours });

const deliveryPage = { limit: limitSchema, before: idSchema.optional().describe('Deliveries older than this one (paging)') };
export const projectWebhookDeliveriesInput = z.object({ projectId: idSchema, id: idSchema, ...deliveryPage });
export const globalWebhookDeliveriesInput = z.object({ id: idSchema, ...deliveryPage });

export const redeliverProjectWebhookInput = z.object({ projectId: idSchema, id: idSchema, deliveryId: idSchema });
export const redeliverGlobalWebhookInput = z.object({ id: idSchema, deliveryId: idSchema });
