import { z } from 'zod';
import type { ErrorReason } from '../errors';
import { isoTimestamp } from './iso-timestamp';

/** How a new password may be refused (the live policy), and the hashing queue being full. */
export const NEW_PASSWORD_REFUSALS = [
  'PASSWORD_TOO_SHORT',
  'PASSWORD_TOO_LONG',
  'PASSWORD_TOO_COMMON',
  'PASSWORD_TOO_WEAK',
  'PASSWORD_CONTAINS_USERNAME',
  'SERVER_BUSY',
] as const satisfies readonly ErrorReason[];

/** Dates leave the API as ISO 8601 strings in UTC, over tRPC and REST alike. */
export const timestamp = z
  .date()
  .transform(isoTimestamp)
  .meta({ override: { type: 'string', format: 'date-time' } });

export const userOutput = z.object({
  id: z.number().int(),
  username: z.string(),
  role: z.enum(['admin', 'user']),
  isActive: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

/** A user as an administrator sees them. */
export const adminUserOutput = userOutput.extend({
  email: z.string().nullable().describe('The confirmed email address, else the one waiting for confirmation; null: none'),
  emailVerified: z.boolean().describe('Whether `email` is confirmed (only a confirmed address receives reset and notification mail)'),
  serviceAccount: z.boolean().describe("A program's account (see /admin/service-accounts): no password, signs in only with its API tokens"),
});

export const okOutput = z.object({ ok: z.literal(true) });

/**
 * tRPC checks answers with `parseAsync`, and zod runs its compiled parsers only for synchronous
 * parses; no schema of ours checks anything asynchronously. For the largest answers, pages of
 * rows, that was a visible share of a list call's CPU (bench --cpu-prof): their schema parses
 * synchronously, through `z.compile`. The schema object stays as it was for the OpenAPI document.
 */
function parsedSynchronously<T extends z.ZodType>(schema: T): T {
  const compiled = z.compile(schema);
  const parseAsync = schema.parseAsync.bind(schema);
  schema.parseAsync = async (data, params) => {
    try {
      return compiled.parse(data, params);
    } catch (error) {
      // A check that turned out asynchronous after all: the parse it needs.
      if (error instanceof z.core.$ZodAsyncError) return parseAsync(data, params);
      throw error;
    }
  };
  return schema;
}

/** A page of a list: its items and the cursor of the next page. */
export function pageOutput<T extends z.ZodType>(item: T) {
  return parsedSynchronously(
    z.object({
      items: z.array(item),
      nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
    }),
  );
}

/** Someone an answer names: their id and username. */
export const userRefOutput = z.object({ id: z.number().int(), username: z.string() });

/**
 * How a change to a project's objects may be refused beyond its tier: the object (or its project)
 * is missing or not the caller's (404, alike), the caller only views the project, or the project
 * is archived (403).
 */
export const WRITE_REFUSALS = ['NOT_FOUND', 'PROJECT_ROLE_TOO_LOW', 'PROJECT_ARCHIVED'] as const satisfies readonly ErrorReason[];
