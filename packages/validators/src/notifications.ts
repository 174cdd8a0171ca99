import { z } from 'zod';
import { cursorSchema, idSchema, limitSchema, queryBoolean, strictBoolean } from './common';

export const notificationKinds = ['assigned', 'mentioned', 'commented', 'due_soon', 'overdue'] as const;
export type NotificationKind = (typeof notificationKinds)[number];
export const notificationKindSchema = z.enum(notificationKinds);

export const mailLanguages = ['en', 'es'] as const;
export type MailLanguage = (typeof mailLanguages)[number];

// Not strict: the console's paged lists send tRPC's own `direction` beside the cursor.
export const listNotificationsInput = z.object({
  unread: queryBoolean.optional().describe('true: only those not yet read'),
  limit: limitSchema.describe('Items per page, 1–100'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});

export const markNotificationReadInput = z.object({ id: idSchema }).strict();

const channelSchema = z.object({ inApp: strictBoolean, mail: strictBoolean }).strict();

/** An address mail can be sent to; an empty string clears it. */
export const mailAddressSchema = z
  .email({ error: 'Must be an email address' })
  .max(254)
  .refine((value) => !/[\r\n]/.test(value), 'Must be an email address');

/** Each kind's channels. Every kind is named, so a saved form never depends on defaults it did not show. */
export const notificationPreferencesSchema = z
  .object({
    kinds: z.object(Object.fromEntries(notificationKinds.map((kind) => [kind, channelSchema])) as Record<NotificationKind, typeof channelSchema>).strict(),
    email: mailAddressSchema
      .nullable()
      .describe("Read-only: where notification mail goes, your account's confirmed email address (set it with `PUT /api/account/email`); null: no mail"),
    language: z.enum(mailLanguages).nullable().describe("The language of mail to you; null: the server's default"),
  })
  .strict();
export type NotificationPreferences = z.infer<typeof notificationPreferencesSchema>;

/**
 * A change of preferences: only what is sent changes (a kind's channels are sent together). The
 * address is the account's (`account.setEmail`), so it is not one of them.
 */
export const updateNotificationPreferencesInput = z
  .object({
    kinds: z
      .object(
        Object.fromEntries(notificationKinds.map((kind) => [kind, channelSchema.optional()])) as Record<NotificationKind, z.ZodOptional<typeof channelSchema>>,
      )
      .strict()
      .optional(),
    email: mailAddressSchema
      .nullable()
      .optional()
      .describe('Read-only, accepted so that preferences read can be sent back: another address than your confirmed one is refused'),
    language: notificationPreferencesSchema.shape.language.optional(),
  })
  .strict();
export type UpdateNotificationPreferences = z.infer<typeof updateNotificationPreferencesInput>;

/** What a person gets before choosing: everything in the app, and by mail once they give an address. */
export const defaultNotificationChannels: Record<NotificationKind, { inApp: boolean; mail: boolean }> = {
  assigned: { inApp: true, mail: true },
  mentioned: { inApp: true, mail: true },
  commented: { inApp: true, mail: false },
  due_soon: { inApp: true, mail: true },
  overdue: { inApp: true, mail: true },
};
