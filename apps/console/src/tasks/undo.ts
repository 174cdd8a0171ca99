import { useSyncExternalStore } from 'react';
import { mutateOnPageExit } from '../lib/trpc';

/**
 * Deletions waiting out their undo time. Until then the server still has the task, so the lists
 * hide it by id (a refetch meanwhile would bring it back otherwise); when the time is up the
 * delete is sent, and a page closed before that sends it on the way out.
 */
const waiting = new Map<number, () => void>();
let hidden: ReadonlySet<number> = new Set();
const listeners = new Set<() => void>();

function publish() {
  hidden = new Set(waiting.keys());
  for (const listener of listeners) listener();
}

/** The ids of tasks deleted but still undoable: not to be shown. */
export function useTasksAwaitingDelete(): ReadonlySet<number> {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => hidden,
  );
}

/**
 * Holds back a task's delete: `commit` sends it (when the undo time is up), `cancel` drops it
 * (Undo). Each runs once, and neither after the other.
 */
export function holdDelete(id: number, send: () => Promise<void>): { commit(): Promise<void>; cancel(): boolean } {
  let settled = false;
  waiting.set(id, () => {
    settled = true;
    mutateOnPageExit('tasks.delete', { id });
  });
  publish();
  return {
    async commit() {
      if (settled) return;
      settled = true;
      try {
        await send();
      } finally {
        waiting.delete(id);
        publish();
      }
    },
    cancel() {
      if (settled) return false;
      settled = true;
      waiting.delete(id);
      publish();
      return true;
    },
  };
}

if (typeof window !== 'undefined') {
  window.addEventListener('pagehide', () => {
    for (const leave of waiting.values()) leave();
    waiting.clear();
  });
}
