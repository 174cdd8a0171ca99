import type { TRPCRouterRecord } from '@trpc/server';
import {
  adminListProjectsInput,
  createProjectInput,
  idSchema,
  listProjectsInput,
  projectColorSchema,
  projectRoleSchema,
  updateProjectInput,
} from '@stm/validators';
import { z } from 'zod';
import { adminProcedure, protectedProcedure } from '../trpc';
import { okOutput, pageOutput, timestamp, WRITE_REFUSALS } from './schemas';

const projectFields = {
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  color: projectColorSchema,
  isInbox: z.boolean().describe('Your personal project: never shared, archived or deleted'),
  archived: z.boolean().describe('Read-only and left out of task lists until unarchived'),
  archivedAt: timestamp.nullable(),
  memberCount: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.number().int().describe('Incremented by every change; send it back as `expectedVersion`'),
};

export const projectOutput = z.object({
  ...projectFields,
  role: projectRoleSchema.nullable().describe('Your role; null for an administrator who is not a member'),
});

const adminProjectOutput = z.object({ ...projectFields, ownerUsernames: z.array(z.string()) });

const tags = ['projects'];
const MANAGE_REFUSALS = [...WRITE_REFUSALS, 'PROJECT_IS_INBOX'] as const;

export const projectsRouter = {
  list: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: { method: 'GET', path: '/projects', tags, summary: 'Your projects', description: 'Your inbox first, then by name.' },
    })
    .input(listProjectsInput)
    .output(pageOutput(projectOutput))
    .query(({ ctx, input }) => ctx.services.projects.list(ctx.user, input)),

  create: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'POST',
        path: '/projects',
        tags,
        summary: 'Create a project',
        description:
          'You are its first owner. Refused with `QUOTA_EXCEEDED` (`details.quota` is `projects`) when you have already made as many projects as the live setting allows.',
      },
      successStatus: 201,
      location: '/projects/{id}',
      refusals: ['QUOTA_EXCEEDED'],
    })
    .input(createProjectInput)
    .output(projectOutput)
    .mutation(({ ctx, input }) => ctx.services.projects.create(ctx.user, input)),

  get: protectedProcedure
    .meta({ scope: 'tasks:read', openapi: { method: 'GET', path: '/projects/{id}', tags, summary: 'A project' }, refusals: ['NOT_FOUND'] })
    .input(z.object({ id: idSchema }))
    .output(projectOutput)
    .query(({ ctx, input }) => ctx.services.projects.get(ctx.user, input.id)),

  update: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'PATCH',
        path: '/projects/{id}',
        tags,
        summary: 'Rename, describe, recolour, archive or unarchive a project',
        description: 'Owners only. An archived project takes no other change until it is unarchived (which may come in the same call).',
      },
      refusals: [...MANAGE_REFUSALS, 'VERSION_CONFLICT'],
    })
    .input(updateProjectInput)
    .output(projectOutput)
    .mutation(({ ctx, input }) => ctx.services.projects.update(ctx.user, input, ctx.client)),

  delete: protectedProcedure
    .meta({
      scope: 'projects:manage',
      openapi: {
        method: 'DELETE',
        path: '/projects/{id}',
        tags,
        summary: 'Delete a project',
        description: 'Owners only; its tasks, comments, labels and history go with it.',
      },
      refusals: MANAGE_REFUSALS,
    })
    .input(z.object({ id: idSchema }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.projects.delete(ctx.user, input.id, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;

export const adminProjectsRouter = {
  list: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/admin/projects', tags: ['admin'], summary: 'Every project, newest first' } })
    .input(adminListProjectsInput)
    .output(pageOutput(adminProjectOutput))
    .query(({ ctx, input }) => ctx.services.projects.listAll(ctx.user, input)),
} satisfies TRPCRouterRecord;
