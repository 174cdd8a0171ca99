import { useCallback } from 'react';
import { useSearchParams } from 'wouter';

/**
 * The task open in the side panel, as it lives in the address bar (`?task=12`): a link to a
 * task opens it, and Back closes it.
 */
export function useOpenTask(): [number | null, (id: number | null) => void] {
  const [params, setParams] = useSearchParams();
  const raw = params.get('task');
  const id = raw !== null && /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : null;
  const open = useCallback(
    (next: number | null) =>
      setParams(
        (previous) => {
          const updated = new URLSearchParams(previous);
          if (next === null) updated.delete('task');
          else updated.set('task', String(next));
          return updated;
        },
        // Opening adds a history entry (Back closes the panel); closing replaces it.
        { replace: next === null },
      ),
    [setParams],
  );
  return [id, open];
}
