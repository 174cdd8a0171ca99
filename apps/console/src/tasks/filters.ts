import type { SortOrder, TaskPriority, TaskSort, TaskStatus } from '@stm/validators';
import { searchText } from '../lib/url-filters';
import { dueRangeToApi, isDateOnly } from './dates';

/**
 * What the task lists show, as it lives in the address bar: shareable, kept by a reload and by
 * the back button. Reading is forgiving (an unknown value is dropped, never an error page);
 * writing is canonical (defaults left out, a fixed order), so one view has one address.
 */
export interface TaskFilters {
  /** Empty: every status. */
  status: TaskStatus[];
  priority: TaskPriority | null;
  overdue: boolean;
  /** First and last local day of the due range, `YYYY-MM-DD`, both included. */
  dueFrom: string | null;
  dueTo: string | null;
  search: string;
  sort: TaskSort;
  order: SortOrder;
  /** All tasks (admin): the owner's username; '' for everyone. */
  owner: string;
  /** `me`, `none`, a user's id, or null for anyone. */
  assignee: 'me' | 'none' | number | null;
  /** A label's id, or null for any. */
  label: number | null;
}

export const TASK_STATUSES: readonly TaskStatus[] = ['todo', 'in_progress', 'done'];
export const TASK_PRIORITIES: readonly TaskPriority[] = ['high', 'medium', 'low'];
export const TASK_SORTS: readonly TaskSort[] = ['createdAt', 'updatedAt', 'dueAt', 'priority'];
const ORDERS: readonly SortOrder[] = ['asc', 'desc'];

/** Tasks per request of a list; more load as the reader reaches the end. */
export const TASK_PAGE_SIZE = 25;

export const DEFAULT_FILTERS: TaskFilters = {
  status: [],
  priority: null,
  overdue: false,
  dueFrom: null,
  dueTo: null,
  search: '',
  sort: 'createdAt',
  order: 'desc',
  owner: '',
  assignee: null,
  label: null,
};

/** The API's limits, so a hand-edited address cannot make every request fail validation. */
const SEARCH_MAX = 200;
const OWNER_MAX = 64;

const oneOf = <T extends string>(allowed: readonly T[], value: string | null): T | null =>
  value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : null;

/** A positive id as the API takes it, or null. */
function idOf(value: string | null): number | null {
  if (value === null || !/^[1-9][0-9]{0,9}$/.test(value)) return null;
  const id = Number(value);
  return id <= 2_147_483_647 ? id : null;
}

function assigneeOf(value: string | null): TaskFilters['assignee'] {
  return value === 'me' || value === 'none' ? value : idOf(value);
}

export function parseFilters(search: string | URLSearchParams): TaskFilters {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  // `status=todo&status=done` and `status=todo,done` both work; the first is what we write.
  const statuses = params
    .getAll('status')
    .flatMap((value) => value.split(','))
    .map((value) => oneOf(TASK_STATUSES, value.trim()))
    .filter((value): value is TaskStatus => value !== null);
  const date = (name: string) => {
    const value = params.get(name);
    return value !== null && isDateOnly(value) ? value : null;
  };
  return {
    // In the order the screen lists them, whatever order the address had.
    status: TASK_STATUSES.filter((status) => statuses.includes(status)),
    priority: oneOf(TASK_PRIORITIES, params.get('priority')),
    overdue: params.get('overdue') === 'true',
    dueFrom: date('dueFrom'),
    dueTo: date('dueTo'),
    search: searchText(params, 'q', SEARCH_MAX),
    sort: oneOf(TASK_SORTS, params.get('sort')) ?? DEFAULT_FILTERS.sort,
    order: oneOf(ORDERS, params.get('order')) ?? DEFAULT_FILTERS.order,
    owner: searchText(params, 'owner', OWNER_MAX),
    assignee: assigneeOf(params.get('assignee')),
    label: idOf(params.get('label')),
  };
}

/** The query string for these filters, without the `?`; '' when everything is at its default. */
export function filtersToSearch(filters: TaskFilters): string {
  const params = new URLSearchParams();
  if (filters.owner.trim()) params.set('owner', filters.owner.trim());
  if (filters.assignee !== null) params.set('assignee', String(filters.assignee));
  if (filters.label !== null) params.set('label', String(filters.label));
  if (filters.search.trim()) params.set('q', filters.search.trim());
  for (const status of TASK_STATUSES) if (filters.status.includes(status)) params.append('status', status);
  if (filters.priority) params.set('priority', filters.priority);
  if (filters.overdue) params.set('overdue', 'true');
  if (filters.dueFrom) params.set('dueFrom', filters.dueFrom);
  if (filters.dueTo) params.set('dueTo', filters.dueTo);
  if (filters.sort !== DEFAULT_FILTERS.sort) params.set('sort', filters.sort);
  if (filters.order !== DEFAULT_FILTERS.order) params.set('order', filters.order);
  return params.toString();
}

/** Whether anything narrows the list (sorting does not): "nothing matches" vs "no tasks yet". */
export function hasActiveFilters(filters: TaskFilters): boolean {
  return (
    filters.status.length > 0 ||
    filters.priority !== null ||
    filters.overdue ||
    filters.dueFrom !== null ||
    filters.dueTo !== null ||
    filters.search.trim() !== '' ||
    filters.owner.trim() !== '' ||
    filters.assignee !== null ||
    filters.label !== null
  );
}

/** The same view with every narrowing removed, keeping the sort. */
export function clearFilters(filters: TaskFilters): TaskFilters {
  return { ...DEFAULT_FILTERS, sort: filters.sort, order: filters.order };
}

export interface TaskListInput {
  assignee?: 'me' | 'none' | number;
  label?: number[];
  status?: TaskStatus[];
  priority?: TaskPriority[];
  search?: string;
  dueAfter?: string;
  dueBefore?: string;
  overdue?: true;
  sort: TaskSort;
  order: SortOrder;
}

/**
 * The filters as `tasks.list` input (cursor and limit aside). Only what narrows is sent, so the
 * same view always has the same query key and shares its cache.
 */
export function filtersToListInput(filters: TaskFilters): TaskListInput {
  const search = filters.search.trim();
  return {
    ...(filters.assignee === null ? {} : { assignee: filters.assignee }),
    ...(filters.label === null ? {} : { label: [filters.label] }),
    ...(filters.status.length > 0 && filters.status.length < TASK_STATUSES.length ? { status: [...filters.status] } : {}),
    ...(filters.priority ? { priority: [filters.priority] } : {}),
    ...(search ? { search } : {}),
    ...dueRangeToApi(filters.dueFrom, filters.dueTo),
    ...(filters.overdue ? { overdue: true as const } : {}),
    sort: filters.sort,
    order: filters.order,
  };
}

/** `admin.tasks.list` input: the same, plus the creator by username (no assignee: that is each user's own view). */
export function filtersToAdminListInput(filters: TaskFilters): Omit<TaskListInput, 'assignee'> & { owner?: string } {
  const owner = filters.owner.trim();
  const { assignee: _assignee, ...input } = filtersToListInput(filters);
  return { ...input, ...(owner ? { owner } : {}) };
}
