import type { TRPCRouterRecord } from '@trpc/server';
import { addMemberInput, memberRefInput, projectRefInput, projectRoleSchema, updateMemberInput } from '@stm/validators';
import { z } from 'zod';
import { protectedProcedure } from '../trpc';
import { okOutput, timestamp, WRITE_REFUSALS } from './schemas';

const memberOutput = z.object({
  userId: z.number().int(),
  username: z.string(),
  isActive: z.boolean(),
  role: projectRoleSchema,
  addedAt: timestamp,
});

const tags = ['projects'];
const MEMBERSHIP_REFUSALS = [...WRITE_REFUSALS, 'PROJECT_IS_INBOX'] as const;

export const membersRouter = {
  list: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/projects/{projectId}/members',
        tags,
        summary: "A project's members",
        description: 'Owners first, then editors, then viewers.',
      },
      refusals: ['NOT_FOUND'],
    })
    .input(projectRefInput)
    .output(z.array(memberOutput))
    .query(({ ctx, input }) => ctx.services.projects.members(ctx.user, input.projectId)),

  add: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: '/projects/{projectId}/members',
        tags,
        summary: 'Add a member',
        description: 'Owners only: an active account, by username in any letter case, as `owner`, `editor` (default) or `viewer`.',
      },
      successStatus: 201,
      location: 'members/{userId}',
      refusals: [...MEMBERSHIP_REFUSALS, 'NO_SUCH_USER', 'ALREADY_MEMBER', 'QUOTA_EXCEEDED'],
    })
    .input(addMemberInput)
    .output(memberOutput)
    .mutation(({ ctx, input }) => ctx.services.projects.addMember(ctx.user, input, ctx.client)),

  update: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'PATCH',
        path: '/projects/{projectId}/members/{userId}',
        tags,
        summary: "Change a member's role",
        description: 'Owners only. A project always keeps an owner: the last one cannot step down (409 `LAST_OWNER`).',
      },
      refusals: [...MEMBERSHIP_REFUSALS, 'LAST_OWNER'],
    })
    .input(updateMemberInput)
    .output(memberOutput)
    .mutation(({ ctx, input }) => ctx.services.projects.updateMember(ctx.user, input, ctx.client)),

  remove: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'DELETE',
        path: '/projects/{projectId}/members/{userId}',
        tags,
        summary: 'Remove a member',
        description: 'Owners only (or yourself: leaving). Their tasks in the project become unassigned, as each history says. Not the last owner.',
      },
      refusals: [...MEMBERSHIP_REFUSALS, 'LAST_OWNER'],
    })
    .input(memberRefInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.projects.removeMember(ctx.user, input, ctx.client);
      return { ok: true as const };
    }),

  leave: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: '/projects/{projectId}/leave',
        tags,
        summary: 'Leave a project',
        description: 'Your tasks there become unassigned. The last owner cannot leave.',
      },
      refusals: ['NOT_FOUND', 'PROJECT_IS_INBOX', 'LAST_OWNER'],
    })
    .input(projectRefInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.projects.removeMember(ctx.user, { projectId: input.projectId, userId: ctx.user.id }, ctx.client);
      return { ok: true as const };
    }),

  transferOwnership: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: '/projects/{projectId}/transfer-ownership',
        tags,
        summary: 'Hand ownership to a member',
        description: 'Owners only: the member becomes an owner and you an editor. Answers the members as they are now.',
      },
      refusals: MEMBERSHIP_REFUSALS,
    })
    .input(memberRefInput)
    .output(z.array(memberOutput))
    .mutation(({ ctx, input }) => ctx.services.projects.transferOwnership(ctx.user, input, ctx.client)),
} satisfies TRPCRouterRecord;
