import type { tasks } from '@stm/db';
import { type SortOrder, sortOrderSchema, type TaskSort, taskSortSchema } from '@stm/validators';
import { z } from 'zod';
import * as cursors from './cursor';

/**
 * The opaque `nextCursor`: base64url JSON of where a page ended (sort, order, the last row's
 * sort key and id). It carries no secret and grants nothing: a forged one can only move within
 * the caller's own rows, so it is validated, not signed.
 */
const MICROSECOND_ISO = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A real instant the database can read back: the format alone would allow month 13 or year 0. */
const timeKey = z.string().refine((value) => {
  const match = MICROSECOND_ISO.exec(value);
  if (!match || Number(match[1]) < 1000) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === value.slice(0, 23);
});

/** A position as PostgreSQL writes an exact decimal. */
const DECIMAL = /^-?\d{1,30}(\.\d{1,40})?$/;

const payloadSchema = z.object({
  s: taskSortSchema,
  o: sortOrderSchema,
  k: z.union([timeKey, z.string().regex(DECIMAL), z.number().int().min(1).max(3), z.null()]),
  i: z.number().int().positive().max(2_147_483_647),
});

export function encodeTaskCursor(sort: TaskSort, order: SortOrder, position: tasks.TaskPagePosition): string {
  const payload: z.infer<typeof payloadSchema> = { s: sort, o: order, k: position.key, i: position.id };
  return cursors.encodeCursor(payload);
}

/** The position a cursor names, for the same sort and order it was made for; otherwise a 400. */
export function decodeTaskCursor(cursor: string, sort: TaskSort, order: SortOrder): tasks.TaskPagePosition {
  const { s, o, k, i } = cursors.decodeCursor(cursor, payloadSchema);
  if (s !== sort || o !== order) {
    throw cursors.invalidCursor('This cursor belongs to another sort order; start again without it');
  }
  const keyFits =
    sort === 'priority'
      ? typeof k === 'number'
      : sort === 'position'
        ? typeof k === 'string' && DECIMAL.test(k)
        : (sort === 'dueAt' && k === null) || (typeof k === 'string' && timeKey.safeParse(k).success);
  if (!keyFits) throw cursors.invalidCursor();
  return { key: k, id: i };
}
