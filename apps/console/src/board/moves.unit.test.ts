import { describe, expect, it } from 'vitest';
import { anchorOf, type Columns, moveTo, step } from './moves';

const board = (): Columns => ({ todo: [1, 2, 3], in_progress: [4], done: [] });

describe('board moves', () => {
  it('move a task within its column and to another, at the index given (clamped)', () => {
    expect(moveTo(board(), 1, 'todo', 2)).toEqual({ todo: [2, 3, 1], in_progress: [4], done: [] });
    expect(moveTo(board(), 2, 'in_progress', 0)).toEqual({ todo: [1, 3], in_progress: [2, 4], done: [] });
    expect(moveTo(board(), 2, 'done', 9)).toEqual({ todo: [1, 3], in_progress: [4], done: [2] });
  });

  it('name the neighbour the server places the task by', () => {
    expect(anchorOf(board(), 2)).toEqual({ afterId: 1 });
    expect(anchorOf(board(), 1)).toEqual({ beforeId: 2 });
    expect(anchorOf(board(), 4)).toEqual({});
    expect(anchorOf(board(), 99)).toEqual({});
  });

  it('step with the keyboard: up and down in the column, sideways to the top of the next one, never off the board', () => {
    expect(step(board(), 2, 'up')).toEqual({ todo: [2, 1, 3], in_progress: [4], done: [] });
    expect(step(board(), 2, 'down')).toEqual({ todo: [1, 3, 2], in_progress: [4], done: [] });
    expect(step(board(), 3, 'right')).toEqual({ todo: [1, 2], in_progress: [3, 4], done: [] });
    expect(step(board(), 4, 'left')).toEqual({ todo: [4, 1, 2, 3], in_progress: [], done: [] });
    expect(step(board(), 1, 'up')).toBeUndefined();
    expect(step(board(), 3, 'down')).toBeUndefined();
    expect(step(board(), 1, 'left')).toBeUndefined();
    expect(step({ todo: [], in_progress: [], done: [5] }, 5, 'right')).toBeUndefined();
  });
});
