import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'wouter';

/**
 * A list's filters as they live in the address bar, and a setter that rewrites it in place (no
 * history entry per keystroke). `parse` is forgiving (a hand-edited address still shows a list)
 * and `write` canonical; both must be stable (module-level) functions.
 */
export function useSearchFilters<Filters>(
  parse: (search: string) => Filters,
  write: (filters: Filters) => string,
): [Filters, (patch: Partial<Filters>) => void] {
  const [params, setParams] = useSearchParams();
  const search = params.toString();
  const filters = useMemo(() => parse(search), [parse, search]);
  const update = useCallback(
    (patch: Partial<Filters>) => setParams((previous) => write({ ...parse(previous.toString()), ...patch }), { replace: true }),
    [parse, write, setParams],
  );
  return [filters, update];
}

/** Text from the address: no NUL (PostgreSQL refuses it), trimmed, within the API's limit. */
export function searchText(params: URLSearchParams, name: string, max: number): string {
  return (params.get(name) ?? '').replaceAll('\u0000', '').trim().slice(0, max);
}
