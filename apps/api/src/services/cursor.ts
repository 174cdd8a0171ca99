import { z } from 'zod';
import { DomainError } from '../errors';

/**
 * Pagination cursors are opaque to clients: base64url JSON of the last row's sort key. A cursor
 * that does not decode to the expected shape is bad input (400), never a 500.
 */
export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The 400 for a cursor a list cannot use, with the reason when there is more to say. */
export function invalidCursor(message = 'The cursor is not one this list handed out; start again without it'): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { field: 'cursor' });
}

/**
 * The id of an integer-keyed row in a cursor: a larger number is refused as a bad cursor (400)
 * instead of reaching the database as a value out of range.
 */
export const rowId = z.number().int().positive().max(2_147_483_647);

/** One page of a list, and where the next one starts (null: this is the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * The page made of rows read with one more than `limit`, which tells whether another page exists
 * without counting: the first `limit` rows as items, and the cursor of the last of them when
 * more follow.
 */
export function pageOf<Row, Item>(rows: Row[], limit: number, toItem: (row: Row) => Item, positionOf: (last: Row) => Record<string, unknown>): Page<Item> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => toItem(row)),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}

export function decodeCursor<T>(cursor: string, shape: z.ZodType<T>): T {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = shape.safeParse(decoded);
  if (!parsed.success) {
    throw invalidCursor();
  }
  return parsed.data;
}
