import { z } from 'zod';
import type { ErrorReason } from '../errors';

/** How a new password may be refused (the live policy), and the hashing queue being full. */
export const NEW_PASSWORD_REFUSALS = [
  'PASSWORD_TOO_SHORT',
  'PASSWORD_TOO_LONG',
  'PASSWORD_TOO_COMMON',
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

export const okOutput = z.object({ ok: z.literal(true) });

/** A boolean in a query string ("true"/"false"), or a real one from tRPC. Anything else is a 400. */
export const queryBoolean = z
  .union([z.boolean(), z.enum(['true', 'false'])])
  .transform((value) => value === true || value === 'true');
