import { createTaskInput, listTasksInput, updateTaskInput } from '@stm/validators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueRangeToApi, isOverdue, isoToLocalInput, localInputToIso, startOfLocalDay } from './dates';
import {
  clearFilters,
  DEFAULT_FILTERS,
  filtersToAdminListInput,
  filtersToListInput,
  filtersToSearch,
  hasActiveFilters,
  parseFilters,
  type TaskFilters,
} from './filters';
import { EMPTY_TASK_FORM, formToInput, taskChanges, valuesFromTask } from './form';

// Node reads TZ whenever it changes; the conversions must follow the reader's zone, so they are
// checked in one with daylight saving and an offset that is not whole hours away from UTC.
const originalTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'America/St_Johns'; // UTC−03:30, −02:30 in summer
});
afterAll(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

describe('URL ↔ filters', () => {
  it('reads an empty address as the defaults, and writes the defaults as an empty address', () => {
    expect(parseFilters('')).toEqual(DEFAULT_FILTERS);
    expect(filtersToSearch(DEFAULT_FILTERS)).toBe('');
  });

  it('round-trips every filter through a canonical query string', () => {
    const filters: TaskFilters = {
      status: ['todo', 'done'],
      priority: 'high',
      overdue: true,
      dueFrom: '2026-03-01',
      dueTo: '2026-03-31',
      search: 'café & tea?',
      sort: 'dueAt',
      order: 'asc',
      owner: 'alice',
      assignee: 'me',
      label: 12,
    };
    const search = filtersToSearch(filters);
    expect(search).toBe(
      'owner=alice&assignee=me&label=12&q=caf%C3%A9+%26+tea%3F&status=todo&status=done&priority=high&overdue=true&dueFrom=2026-03-01&dueTo=2026-03-31&sort=dueAt&order=asc',
    );
    expect(parseFilters('assignee=42&label=0').assignee).toBe(42);
    expect(parseFilters('assignee=someone&label=0').label).toBeNull();
    expect(parseFilters('assignee=someone').assignee).toBeNull();
    expect(parseFilters(search)).toEqual(filters);
    expect(parseFilters(`?${search}`)).toEqual(filters);
  });

  it('accepts statuses repeated or comma-separated, in any order, once each', () => {
    expect(parseFilters('status=done,todo&status=todo').status).toEqual(['todo', 'done']);
  });

  it('drops what it does not understand instead of failing', () => {
    const filters = parseFilters('status=late&priority=urgent&overdue=yes&dueFrom=2026-02-30&dueTo=tomorrow&sort=title&order=up');
    expect(filters).toEqual(DEFAULT_FILTERS);
    expect(parseFilters(`q=${'x'.repeat(500)}`).search).toHaveLength(200);
    expect(parseFilters('dueFrom=0999-12-31').dueFrom).toBeNull();
  });

  it('trims the search and the owner, and leaves blank ones out', () => {
    expect(filtersToSearch({ ...DEFAULT_FILTERS, search: '   ', owner: ' ' })).toBe('');
    expect(filtersToSearch({ ...DEFAULT_FILTERS, search: ' milk ' })).toBe('q=milk');
  });

  it('tells narrowing from sorting, and clearing keeps the sort', () => {
    expect(hasActiveFilters(DEFAULT_FILTERS)).toBe(false);
    expect(hasActiveFilters({ ...DEFAULT_FILTERS, sort: 'priority', order: 'asc' })).toBe(false);
    expect(hasActiveFilters({ ...DEFAULT_FILTERS, overdue: true })).toBe(true);
    expect(hasActiveFilters({ ...DEFAULT_FILTERS, owner: 'bob' })).toBe(true);
    const sorted: TaskFilters = { ...DEFAULT_FILTERS, sort: 'dueAt', order: 'asc', status: ['done'], search: 'x' };
    expect(clearFilters(sorted)).toEqual({ ...DEFAULT_FILTERS, sort: 'dueAt', order: 'asc' });
  });
});

describe('filters → list input', () => {
  it('sends only what narrows, and the API schema accepts it', () => {
    const input = filtersToListInput(DEFAULT_FILTERS);
    expect(input).toEqual({ sort: 'createdAt', order: 'desc' });
    expect(listTasksInput.safeParse(input).success).toBe(true);
  });

  it('leaves out a status filter that selects every status (same results, same cache entry)', () => {
    expect(filtersToListInput({ ...DEFAULT_FILTERS, status: ['todo', 'in_progress', 'done'] }).status).toBeUndefined();
  });

  it('turns a range of local days into strict UTC bounds that include both days', () => {
    const input = filtersToListInput({
      ...DEFAULT_FILTERS,
      status: ['in_progress'],
      priority: 'low',
      overdue: true,
      search: ' report ',
      dueFrom: '2026-01-10',
      dueTo: '2026-07-10',
    });
    expect(input).toEqual({
      status: ['in_progress'],
      priority: ['low'],
      search: 'report',
      // St. John's is UTC−3:30 in January and UTC−2:30 in July.
      dueAfter: '2026-01-10T03:29:59.999Z',
      dueBefore: '2026-07-11T02:30:00.000Z',
      overdue: true,
      sort: 'createdAt',
      order: 'desc',
    });
    expect(listTasksInput.safeParse(input).success).toBe(true);
  });

  it('adds the owner for the admin list', () => {
    expect(filtersToAdminListInput({ ...DEFAULT_FILTERS, owner: ' Alice ' })).toEqual({ sort: 'createdAt', order: 'desc', owner: 'Alice' });
    expect(filtersToAdminListInput(DEFAULT_FILTERS)).not.toHaveProperty('owner');
  });
});

describe('local date-time inputs ↔ UTC instants', () => {
  it('reads a datetime-local value in the local zone and writes it in UTC', () => {
    expect(localInputToIso('2026-01-15T09:30')).toBe('2026-01-15T13:00:00.000Z');
    expect(localInputToIso('2026-07-15T09:30')).toBe('2026-07-15T12:00:00.000Z');
    expect(localInputToIso('2026-07-15T09:30:15')).toBe('2026-07-15T12:00:15.000Z');
  });

  it('shows a UTC instant as local wall-clock time, and the two round-trip', () => {
    expect(isoToLocalInput('2026-01-15T13:00:00.000Z')).toBe('2026-01-15T09:30');
    expect(isoToLocalInput('2026-12-31T23:59:00+00:00')).toBe('2026-12-31T20:29');
    for (const value of ['2026-03-08T01:59', '2026-11-01T23:15', '1000-01-01T00:00', '9999-12-31T23:59']) {
      expect(isoToLocalInput(localInputToIso(value))).toBe(value);
    }
  });

  it('treats empty as no date, and passes anything unreadable on for the schema to refuse', () => {
    expect(localInputToIso('')).toBeNull();
    expect(localInputToIso('  ')).toBeNull();
    expect(isoToLocalInput(null)).toBe('');
    expect(isoToLocalInput('not a date')).toBe('');
    for (const bad of ['2026-02-30T10:00', '2026-13-01T10:00', '2026-01-01T24:00', '0999-12-31T10:00', 'tomorrow']) {
      const value = localInputToIso(bad);
      expect(value).toBe(bad);
      expect(createTaskInput.safeParse({ title: 't', dueAt: value }).success).toBe(false);
    }
  });

  it('keeps a time skipped by daylight saving on its day', () => {
    // 2026-03-08 02:00 does not exist in St. John's (clocks jump from 02:00 to 03:00).
    const iso = localInputToIso('2026-03-08T02:30');
    expect(iso).not.toBeNull();
    expect(isoToLocalInput(iso).slice(0, 10)).toBe('2026-03-08');
  });

  it('finds the start of a local day, refusing days that do not exist', () => {
    expect(startOfLocalDay('2026-01-10')?.toISOString()).toBe('2026-01-10T03:30:00.000Z');
    expect(startOfLocalDay('2026-02-29')).toBeNull();
    expect(startOfLocalDay('2026-1-1')).toBeNull();
    expect(dueRangeToApi(null, null)).toEqual({});
    expect(dueRangeToApi('nope', null)).toEqual({});
  });

  it('marks overdue as the API does: not done and due before now', () => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    expect(isOverdue({ status: 'todo', dueAt: '2026-05-01T11:59:59Z' }, now)).toBe(true);
    expect(isOverdue({ status: 'in_progress', dueAt: '2026-04-01T00:00:00Z' }, now)).toBe(true);
    expect(isOverdue({ status: 'done', dueAt: '2026-04-01T00:00:00Z' }, now)).toBe(false);
    expect(isOverdue({ status: 'todo', dueAt: '2026-05-01T12:00:00Z' }, now)).toBe(false);
    expect(isOverdue({ status: 'todo', dueAt: null }, now)).toBe(false);
  });
});

describe('the task form', () => {
  const task = {
    title: 'Write report',
    description: 'Quarterly',
    status: 'todo' as const,
    priority: 'medium' as const,
    dueAt: '2026-01-15T13:00:42.000Z',
    projectId: 7,
    assignee: { id: 3 },
    labels: [{ id: 5 }, { id: 6 }],
  };

  it('starts from the task, the due time shown locally', () => {
    expect(valuesFromTask(task)).toEqual({
      title: 'Write report',
      description: 'Quarterly',
      status: 'todo',
      priority: 'medium',
      due: '2026-01-15T09:30',
      projectId: 7,
      assigneeId: 3,
      labelIds: [5, 6],
    });
  });

  it('sends only what changed, so untouched fields (and the seconds of the due time) survive', () => {
    const values = valuesFromTask(task);
    expect(taskChanges(task, values)).toEqual({});
    expect(taskChanges(task, { ...values, title: '  Write report  ' })).toEqual({});
    expect(taskChanges(task, { ...values, title: 'Write the report', priority: 'high' })).toEqual({ title: 'Write the report', priority: 'high' });
    expect(taskChanges(task, { ...values, due: '' })).toEqual({ dueAt: null });
    expect(taskChanges(task, { ...values, due: '2026-01-16T09:30' })).toEqual({ dueAt: '2026-01-16T13:00:00.000Z' });
    expect(taskChanges({ ...task, dueAt: null }, { ...values, due: '' })).toEqual({});
    expect(taskChanges(task, { ...values, labelIds: [6, 5] })).toEqual({});
    expect(taskChanges(task, { ...values, labelIds: [5], assigneeId: null })).toEqual({ labelIds: [5], assigneeId: null });
    // Another project: the labels picked there are sent (none: the old ones stay behind).
    expect(taskChanges(task, { ...values, projectId: 8, labelIds: [] })).toEqual({ projectId: 8, labelIds: [] });
  });

  it('produces input the shared schemas accept', () => {
    expect(createTaskInput.safeParse(formToInput({ ...EMPTY_TASK_FORM, title: 'New' })).success).toBe(true);
    expect(createTaskInput.safeParse(formToInput(EMPTY_TASK_FORM)).success).toBe(false);
    const changes = taskChanges(task, { ...valuesFromTask(task), status: 'done', due: '' });
    expect(updateTaskInput.safeParse({ id: 1, ...changes, expectedVersion: 3 }).success).toBe(true);
  });
});
