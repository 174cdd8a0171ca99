import { z } from 'zod';
import type { ErrorReason } from '../errors';
import { parsedSynchronously } from '../fastpath/sync-parse';

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
  .transform((date) => date.toISOString())
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

/** A page of a list: its items and the cursor of the next page. */
export function pageOutput<T extends z.ZodType>(item: T) {
  return parsedSynchronously(
    z.object({
      items: z.array(item),
      nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
    }),
  );
}

/** How many items match a list's filters, counted up to a bound (see `capped`). */
export const listTotalOutput = z
  .object({
    count: z.number().int().describe('How many match; when `capped`, the bound, and more match (show "10,000+")'),
    capped: z.boolean().describe('More than `count` match: counting stopped there, so a huge list costs no more than a long one'),
  })
  .nullable()
  .describe(
    'How many items match the filters, on the first page (without `cursor`); null on the pages after it, and when a search could not be counted within its time budget',
  );

/** A page of a list whose first page also says how many items match in all. */
export function countedPageOutput<T extends z.ZodType>(item: T) {
  return parsedSynchronously(
    z.object({
      items: z.array(item),
      nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
      total: listTotalOutput,
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
