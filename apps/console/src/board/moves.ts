import type { TaskStatus } from '@stm/validators';

export const BOARD_STATUSES: readonly TaskStatus[] = ['todo', 'in_progress', 'done'];

/** A board as ids in order, column by column. */
export type Columns = Record<TaskStatus, number[]>;

/** Which column holds the task, if any. */
export function columnOf(columns: Columns, id: number): TaskStatus | undefined {
  return BOARD_STATUSES.find((status) => columns[status].includes(id));
}

/** The board with the task taken out of its column and put at `index` of `to` (clamped). */
export function moveTo(columns: Columns, id: number, to: TaskStatus, index: number): Columns {
  const next = Object.fromEntries(BOARD_STATUSES.map((status) => [status, columns[status].filter((other) => other !== id)])) as Columns;
  const target = next[to];
  target.splice(Math.max(0, Math.min(index, target.length)), 0, id);
  return next;
}

/**
 * Where the server is to put a task the board shows at its place: right after the task above it,
 * or (first in its column) right before the one below, or at the top of an empty column.
 */
export function anchorOf(columns: Columns, id: number): { afterId: number } | { beforeId: number } | Record<string, never> {
  const status = columnOf(columns, id);
  if (status === undefined) return {};
  const column = columns[status];
  const index = column.indexOf(id);
  const above = column[index - 1];
  if (above !== undefined) return { afterId: above };
  const below = column[index + 1];
  return below === undefined ? {} : { beforeId: below };
}

export type Step = 'up' | 'down' | 'left' | 'right';

/**
 * The board after a keyboard move: up and down within the column, left and right to the top of
 * the neighbouring column. Undefined when the task cannot go that way.
 */
export function step(columns: Columns, id: number, direction: Step): Columns | undefined {
  const status = columnOf(columns, id);
  if (status === undefined) return undefined;
  const index = columns[status].indexOf(id);
  if (direction === 'up') return index > 0 ? moveTo(columns, id, status, index - 1) : undefined;
  if (direction === 'down') return index < columns[status].length - 1 ? moveTo(columns, id, status, index + 1) : undefined;
  const neighbour = BOARD_STATUSES[BOARD_STATUSES.indexOf(status) + (direction === 'left' ? -1 : 1)];
  return neighbour === undefined ? undefined : moveTo(columns, id, neighbour, 0);
}
