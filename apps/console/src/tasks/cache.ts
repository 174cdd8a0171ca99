import { TASK_BULK_MAX, type TaskStatus } from '@stm/validators';
import { type InfiniteData, useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { type RouterOutputs, trpcClient, useTRPC } from '../lib/trpc';
import { holdDelete } from './undo';

export type Task = RouterOutputs['tasks']['get'];
type ListData = InfiniteData<RouterOutputs['tasks']['list'], string | null>;

/** The loaded pages of every cached "my tasks" list, changed in place for optimistic updates. */
export function useTaskCache() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useMemo(() => {
    const lists = trpc.tasks.list.pathFilter();
    const map = (fn: (items: Task[]) => Task[]) =>
      queryClient.setQueriesData<ListData>(lists, (data) => (data ? { ...data, pages: data.pages.map((page) => ({ ...page, items: fn(page.items) })) } : data));
    return {
      /** Applies the change now; the returned function puts every list back as it was. */
      async patch(fn: (items: Task[]) => Task[]): Promise<() => void> {
        // A list request already under way would answer with the old state over the new one.
        await queryClient.cancelQueries(lists);
        const snapshot = queryClient.getQueriesData<ListData>(lists);
        map(fn);
        return () => {
          for (const [key, data] of snapshot) queryClient.setQueryData(key, data);
        };
      },
      /** The server's copy of a task replaces the one in the lists. */
      replace(task: Task) {
        map((items) => items.map((item) => (item.id === task.id ? task : item)));
      },
      /** After any write: lists, counts and the admin's view of everyone's tasks. */
      invalidate() {
        return Promise.all([queryClient.invalidateQueries(trpc.tasks.pathFilter()), queryClient.invalidateQueries(trpc.admin.tasks.pathFilter())]);
      },
    };
  }, [trpc, queryClient]);
}

function withStatus(task: Task, status: TaskStatus): Task {
  const completedAt = status === 'done' ? (task.status === 'done' ? task.completedAt : new Date().toISOString()) : null;
  return { ...task, status, completedAt };
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}

/**
 * The list's writes. Status changes and deletions are optimistic (the list changes at once and
 * comes back if the server says no): they cannot surprise anyone but the user who made them.
 * Creating and editing wait for the server: a new task's id is the server's, and an edit may
 * meet someone else's change.
 */
export function useTaskActions() {
  const trpc = useTRPC();
  const cache = useTaskCache();
  const toast = useToast();
  const { t, plural } = useI18n();
  const fail = (error: unknown) => toast.show(describeError(error, t).message, 'error');

  // The status alone, without expectedVersion: "this is done" holds whatever else changed.
  const setStatus = useMutation(
    trpc.tasks.update.mutationOptions({
      onMutate: ({ id, status }) => cache.patch((items) => items.map((item) => (item.id === id && status ? withStatus(item, status) : item))),
      onError: (error, _input, restore) => {
        restore?.();
        fail(error);
      },
      onSuccess: (task) => cache.replace(task),
      onSettled: () => cache.invalidate(),
    }),
  );

  /** Done or not done at once; marking done offers Undo, which puts the status it had back. */
  const toggleDone = (task: Task) => {
    if (task.status === 'done') {
      setStatus.mutate({ id: task.id, status: 'todo' });
      return;
    }
    const before = task.status;
    setStatus.mutate(
      { id: task.id, status: 'done' },
      {
        onSuccess: () =>
          toast.show(t('tasks.markedDone', { title: task.title }), 'success', {
            action: { label: t('common.undo'), run: () => setStatus.mutate({ id: task.id, status: before }) },
          }),
      },
    );
  };

  /**
   * Gone from the lists at once, deleted when the Undo notice goes (or the page does). Undo
   * brings it back as it was: nothing was deleted yet.
   */
  const removeWithUndo = (task: Task, options: { onUndo?(): void } = {}) => {
    void cache.patch((items) => items.filter((item) => item.id !== task.id));
    const held = holdDelete(task.id, async () => {
      try {
        await trpcClient.tasks.delete.mutate({ id: task.id });
        // Lists read while the delete waited still hold it: drop it before it shows again.
        await cache.patch((items) => items.filter((item) => item.id !== task.id));
      } catch (error) {
        fail(error);
      } finally {
        void cache.invalidate();
      }
    });
    toast.show(t('tasks.deletedUndo', { title: task.title }), 'success', {
      action: {
        label: t('common.undo'),
        run: () => {
          if (!held.cancel()) return;
          void cache.invalidate();
          options.onUndo?.();
        },
      },
      onClose: () => void held.commit(),
    });
  };

  // More than a request's worth goes in several requests, one after the other.
  const bulkDone = useMutation({
    mutationFn: async (ids: number[]) => {
      let updated = 0;
      for (const part of chunks(ids, TASK_BULK_MAX)) {
        updated += (await trpcClient.tasks.bulkUpdate.mutate({ ids: part, changes: { status: 'done' } })).updated;
      }
      return updated;
    },
    onMutate: (ids: number[]) => {
      const selected = new Set(ids);
      return cache.patch((items) => items.map((item) => (selected.has(item.id) ? withStatus(item, 'done') : item)));
    },
    onError: (error, _ids, restore) => {
      restore?.();
      fail(error);
    },
    onSuccess: (updated) => toast.show(plural('tasks.bulkDoneResult', updated)),
    onSettled: () => cache.invalidate(),
  });

  const bulkRemove = useMutation({
    mutationFn: async (ids: number[]) => {
      let deleted = 0;
      for (const part of chunks(ids, TASK_BULK_MAX)) {
        deleted += (await trpcClient.tasks.bulkDelete.mutate({ ids: part })).deleted;
      }
      return deleted;
    },
    onMutate: (ids: number[]) => {
      const selected = new Set(ids);
      return cache.patch((items) => items.filter((item) => !selected.has(item.id)));
    },
    onError: (error, _ids, restore) => {
      restore?.();
      fail(error);
    },
    onSuccess: (deleted) => toast.show(plural('tasks.bulkDeleteResult', deleted)),
    onSettled: () => cache.invalidate(),
  });

  return { setStatus, toggleDone, removeWithUndo, bulkDone, bulkRemove };
}
