import { z } from 'zod';

/** Database ids are positive 32-bit integers; REST path parameters arrive as strings. */
export const idSchema = z.coerce.number().int().positive().max(2_147_483_647);

export const limitSchema = z.coerce.number().int().min(1).max(100).default(20);

/** Opaque pagination cursor, as handed out in `nextCursor`. */
export const cursorSchema = z.string().min(1).max(500);

/**
 * An ISO 8601 date-time with an offset, e.g. 2026-11-25T10:00:00Z, in the years 1000–9999 (UTC)
 * the database and ISO strings share: year 0 does not exist in PostgreSQL, and years past 9999
 * would not round-trip as ISO strings.
 */
export const isoDateTime = z.iso.datetime({ offset: true }).refine((value) => {
  const year = new Date(value).getUTCFullYear();
  return year >= 1000 && year <= 9999;
}, 'Must be between the years 1000 and 9999');

/**
 * A JSON boolean, exactly. The REST bridge switches plain `z.boolean()` fields to coercion, which
 * reads the string "false" as true; a pipe is left as it is.
 */
export const strictBoolean = z.boolean().pipe(z.boolean());

/**
 * `true`/`false`, also as the strings a query string carries ("false" must not mean true). Anything
 * else is a 400.
 */
export const queryBoolean = z
  .union([z.boolean(), z.enum(['true', 'false'])], { error: 'Must be true or false' })
  .transform((value) => value === true || value === 'true');

/** The version a client last saw of a row; a stale one is refused with 409 and nothing is written. */
export const versionSchema = z.number().int().positive().max(2_147_483_647);

/** PostgreSQL text cannot hold U+0000: refused at the edge, it would otherwise fail deep in the database. */
export const noNul = (value: string) => !value.includes('\u0000');
export const NUL_MESSAGE = 'Must not contain the character U+0000';
