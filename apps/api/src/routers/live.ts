import { type TRPCRouterRecord, tracked } from '@trpc/server';
import { idSchema, limitSchema } from '@stm/validators';
import { z } from 'zod';
import { type AuthUser, sessionOf } from '../services/auth';
import type { LiveEvent, LiveMessage } from '../services/live';
import { protectedProcedure } from '../trpc';
import { timestamp } from './schemas';

/** An event id as the stream sends it (`id:` of server-sent events), and as a client resumes from it. */
const eventId = z.string().regex(/^\d{1,15}$/, 'An event id is digits');

const resume = {
  /** Set by `httpSubscriptionLink` when it reconnects: the id of the last event received. */
  lastEventId: eventId.nullish(),
};

const projectStreamInput = z.strictObject({ projectId: z.number().int().positive(), ...resume });
const userStreamInput = z.strictObject({
  ...resume,
  projects: z.boolean().optional().describe('Also the changes of every project you are a member of, followed as you join and leave them'),
});

const changeEventOutput = z.object({
  id: z.number().int(),
  kind: z.string(),
  entityId: z.number().int().nullable(),
  projectId: z.number().int().nullable(),
  actorId: z.number().int().nullable(),
  payload: z.record(z.string(), z.unknown()),
  at: timestamp,
});

/**
 * What a stream sends, each as one server-sent event. `event`, `ready` and `refetch` carry an id
 * (tRPC's `tracked`), so a client that reconnects resumes after the last one it received.
 */
export type LiveChange = { type: 'event'; event: Omit<LiveEvent, 'at'> & { at: string } } | Exclude<LiveMessage, { type: 'event' }>;

/**
 * Each event as it goes out, made once for every stream of the instance that sends it (the hub
 * hands them all the same event) and frozen, so the stream writer serializes it once too.
 */
const outgoing = new WeakMap<LiveEvent, LiveChange>();

function changeOf(event: LiveEvent): LiveChange {
  let change = outgoing.get(event);
  if (!change) {
    change = Object.freeze({ type: 'event', event: { ...event, at: event.at.toISOString() } } as const);
    outgoing.set(event, change);
  }
  return change;
}

/** A message as it goes out: with an id tracked under it (but `closed`), dates as ISO strings. */
function present(message: LiveMessage) {
  if (message.type === 'event') return tracked(String(message.event.id), changeOf(message.event));
  // Untracked: a client resumes from the last change it received, not from this.
  if (message.type === 'closed') return message as LiveChange;
  return tracked(String(message.id), message as LiveChange);
}

/** What ends a stream: its session and its access token's key. An API token has neither, and is refused here. */
function ownerOf(user: AuthUser) {
  const sessionId = sessionOf(user);
  return { userId: user.id, sessionId, signingKeyId: user.signingKeyId ?? sessionId, tokenExpiresAt: user.tokenExpiresAt };
}

/**
 * Changes as they happen, over server-sent events (tRPC's `httpSubscriptionLink`). Not part of
 * the REST bridge: REST clients poll `GET /api/projects/{projectId}/events?after=<id>`.
 */
export const liveRouter = {
  projectEvents: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/projects/{projectId}/events',
        tags: ['projects'],
        summary: "A project's changes since an event id",
        description:
          'How REST clients follow changes (tRPC clients subscribe to `live.project` over server-sent events instead). ' +
          'Without `after`: no events, and `lastId`, where to start. Then ask with `after=<lastId>` every few seconds: the changes to tasks, ' +
          'comments, members and the project after that id, oldest first, and the `lastId` to ask after next. `more`: ask again at once. ' +
          '`refetch`: events after `after` are no longer kept (older than the retention); reload what you show and go on from `lastId`.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(
      z.object({
        projectId: idSchema,
        after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('`lastId` of the previous answer'),
        limit: limitSchema.describe('Events per answer, 1–100'),
      }),
    )
    .output(z.object({ events: z.array(changeEventOutput), lastId: z.number().int(), more: z.boolean(), refetch: z.boolean() }))
    .query(async ({ ctx, input }) => {
      await ctx.services.projects.get(ctx.user, input.projectId);
      return ctx.services.live.projectEventsAfter(input.projectId, input.after, input.limit);
    }),

  /**
   * The changes to a project's tasks, comments and members and to the project itself, for anyone
   * who may read it. Ends with a `closed` message when the caller's session, account, signing key
   * or membership ends, or the access token expires (renew and resume).
   */
  project: protectedProcedure
    .meta({ scope: 'none', refusals: ['NOT_FOUND'] })
    .input(projectStreamInput)
    // Checked before the stream starts, so a refusal is the procedure's own, mapped like any other.
    .subscription(async ({ ctx, input, signal }) => {
      await ctx.services.projects.get(ctx.user, input.projectId);
      const after = input.lastEventId == null ? null : Number(input.lastEventId);
      return ctx.services.live.project(ownerOf(ctx.user), input.projectId, after, signal ?? new AbortController().signal, present);
    }),

  /**
   * Events for the caller alone (notifications), with the same endings as `project`; with
   * `projects`, also the changes of every project the caller is a member of (views across
   * projects: all tasks, my work). Leaving a project ends its changes, not the stream.
   */
  mine: protectedProcedure
    .meta({ scope: 'none' })
    .input(userStreamInput)
    .subscription(({ ctx, input, signal }) => {
      const after = input.lastEventId == null ? null : Number(input.lastEventId);
      return ctx.services.live.user(ownerOf(ctx.user), after, signal ?? new AbortController().signal, present, { projects: input.projects === true });
    }),
} satisfies TRPCRouterRecord;
