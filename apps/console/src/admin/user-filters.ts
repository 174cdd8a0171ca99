import { type Role, USER_SEARCH_MAX } from '@stm/validators';
import { searchText } from '../lib/url-filters';

/** The users list's narrowing, as it lives in the address bar (`?q=ann&role=admin&active=false`). */
export interface UserFilters {
  search: string;
  role: Role | null;
  /** null: active and deactivated alike. */
  active: boolean | null;
}

export const DEFAULT_USER_FILTERS: UserFilters = { search: '', role: null, active: null };

/** Users per request; more load as the reader reaches the end. */
export const USER_PAGE_SIZE = 25;

export function parseUserFilters(search: string): UserFilters {
  const params = new URLSearchParams(search);
  const role = params.get('role');
  const active = params.get('active');
  return {
    search: searchText(params, 'q', USER_SEARCH_MAX),
    role: role === 'admin' || role === 'user' ? role : null,
    active: active === 'true' ? true : active === 'false' ? false : null,
  };
}

/** The query string, without `?`; '' when nothing narrows the list. */
export function userFiltersToSearch(filters: UserFilters): string {
  const params = new URLSearchParams();
  if (filters.search.trim()) params.set('q', filters.search.trim());
  if (filters.role) params.set('role', filters.role);
  if (filters.active !== null) params.set('active', String(filters.active));
  return params.toString();
}

export function hasUserFilters(filters: UserFilters): boolean {
  return filters.search.trim() !== '' || filters.role !== null || filters.active !== null;
}

/** `admin.users.list` input (cursor aside): only what narrows, so one view has one cache key. */
export function userFiltersToListInput(filters: UserFilters): { search?: string; role?: Role; isActive?: boolean; limit: number } {
  const search = filters.search.trim();
  return {
    ...(search ? { search } : {}),
    ...(filters.role ? { role: filters.role } : {}),
    ...(filters.active !== null ? { isActive: filters.active } : {}),
    limit: USER_PAGE_SIZE,
  };
}
