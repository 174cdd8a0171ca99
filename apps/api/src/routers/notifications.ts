import type { TRPCRouterRecord } from '@trpc/server';
import {
  listNotificationsInput,
  markNotificationReadInput,
  notificationKinds,
  notificationPreferencesSchema,
  updateNotificationPreferencesInput,
} from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure } from '../trpc';
import { okOutput, pageOutput, timestamp, userRefOutput } from './schemas';

const notificationOutput = z.object({
  id: z.number().int(),
  kind: z.enum(notificationKinds).describe('assigned to you, mentioned in a comment, a comment on your task, due within 24 hours, overdue'),
  task: z.object({
    id: z.number().int(),
    title: z.string(),
    projectId: z.number().int(),
    dueAt: timestamp.nullable(),
  }),
  actor: userRefOutput.nullable().describe('Who did it; null for time-based notifications and once that account is deleted'),
  commentId: z.number().int().nullable(),
  read: z.boolean(),
  createdAt: timestamp,
});

const tags = ['notifications'];

export const notificationsRouter = {
  list: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/notifications',
        tags,
        summary: 'Your notifications, newest first',
        description: 'Those about tasks you can no longer see are left out, as are kinds you turned off in the app.',
      },
    })
    .input(listNotificationsInput)
    .output(pageOutput(notificationOutput))
    .query(({ ctx, input }) => ctx.services.notifications.list(ctx.user, input)),

  unreadCount: protectedProcedure
    .meta({ scope: 'tasks:read', openapi: { method: 'GET', path: '/notifications/unread-count', tags, summary: 'How many of your notifications are unread' } })
    .output(z.object({ count: z.number().int() }))
    .query(async ({ ctx }) => ({ count: await ctx.services.notifications.unreadCount(ctx.user) })),

  markRead: protectedProcedure
    .meta({
      scope: 'tasks:write',
      openapi: { method: 'POST', path: '/notifications/{id}/read', tags, summary: 'Mark one of your notifications read' },
      refusals: ['NOT_FOUND'],
    })
    .input(markNotificationReadInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.notifications.markRead(ctx.user, input.id);
      return { ok: true as const };
    }),

  markAllRead: protectedProcedure
    .meta({ scope: 'tasks:write', openapi: { method: 'POST', path: '/notifications/read-all', tags, summary: 'Mark all your notifications read' } })
    .output(z.object({ updated: z.number().int().describe('How many were unread') }))
    .mutation(async ({ ctx }) => ({ updated: await ctx.services.notifications.markAllRead(ctx.user) })),

  preferences: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: { method: 'GET', path: '/notifications/preferences', tags, summary: 'Which notifications you get, in the app and by mail' },
    })
    .output(notificationPreferencesSchema)
    .query(({ ctx }) => ctx.services.notifications.preferences(ctx.user)),

  updatePreferences: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'PATCH',
        path: '/notifications/preferences',
        tags,
        summary: 'Choose which notifications you get, in the app and by mail',
        description:
          "Only what is sent changes; a kind is sent with both its channels. Mail goes to your account's confirmed email address (`PUT /api/account/email`; `email` here is read-only), at most one digest per `MAIL_DIGEST_MINUTES`, in `language` (null: the server's default). Answers all your preferences.",
      },
    })
    .input(updateNotificationPreferencesInput)
    .output(notificationPreferencesSchema)
    .mutation(({ ctx, input }) => ctx.services.notifications.updatePreferences(ctx.user, input)),
} satisfies TRPCRouterRecord;
