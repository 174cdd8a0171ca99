import type { LiveChange } from '@stm/api/router';
import { type InfiniteData, type QueryClient, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useMe } from '../lib/auth';
import { type RouterOutputs, session, trpcClient, useTRPC } from '../lib/trpc';
import type { Task } from '../tasks/cache';

type LiveEvent = Extract<LiveChange, { type: 'event' }>['event'];
type ListData = InfiniteData<RouterOutputs['tasks']['list'], string | null>;

/** A task someone saved, for an open editor of that task to say so. */
export interface RemoteSave {
  taskId: number;
  version: number;
  actorId: number | null;
}

const remoteSaves = new EventTarget();

/** Calls `listener` whenever a change to a task arrives live; returns the unsubscribe. */
export function onRemoteSave(listener: (save: RemoteSave) => void): () => void {
  const handler = (event: Event) => listener((event as CustomEvent<RemoteSave>).detail);
  remoteSaves.addEventListener('save', handler);
  return () => remoteSaves.removeEventListener('save', handler);
}

/** Reloads coalesce: a burst of changes (a bulk edit) costs one refetch of what is shown. */
const RELOAD_DELAY_MS = 300;
/** After a stream fails to open, the wait before the next try, doubling up to the last. */
const RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/** A live stream's message, and the id to resume after (tRPC's `tracked` messages arrive as `{ id, data }`). */
export function readTracked(data: unknown): { message: LiveChange; id: string | undefined } {
  const sent = data as LiveChange | { id: string; data: LiveChange };
  if ('data' in sent && 'id' in sent) return { message: sent.data, id: typeof sent.id === 'string' && sent.id !== '' ? sent.id : undefined };
  return { message: sent, id: undefined };
}

/** Projects whose page is open: their own stream keeps them current (`useLiveProject`). */
const watchedProjects = new Map<number, number>();

/**
 * The cached data a live event changes: every list and panel of the task it names is patched in
 * place, comments and history of it reloaded; what cannot be patched (a new task in filtered and
 * sorted lists) reloads once per burst. `apply` takes events of any project, for the project page
 * and for the views across projects alike.
 */
export function liveCache(queryClient: QueryClient, trpc: Trpc) {
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  const reloadTasks = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      void queryClient.invalidateQueries(trpc.tasks.pathFilter());
    }, RELOAD_DELAY_MS);
  };
  /** Everything the stream may have missed: tasks, projects, members and comments. */
  const reloadAll = () => {
    reloadTasks();
    void queryClient.invalidateQueries(trpc.projects.pathFilter());
    void queryClient.invalidateQueries(trpc.members.pathFilter());
    void queryClient.invalidateQueries(trpc.comments.pathFilter());
  };
  const apply = (event: LiveEvent) => {
    const payload = event.payload as { task?: Task; taskId?: number; unassignedTaskIds?: number[] };
    switch (event.kind) {
      case 'task.updated':
        if (payload.task) {
          // A change of where it belongs (column, order, filters) moves it between lists: those reload.
          if (movesInLists(queryClient, trpc, payload.task)) reloadTasks();
          replaceTask(queryClient, trpc, payload.task);
          remoteSaves.dispatchEvent(
            new CustomEvent<RemoteSave>('save', { detail: { taskId: payload.task.id, version: payload.task.version, actorId: event.actorId } }),
          );
          void queryClient.invalidateQueries({
            ...trpc.tasks.history.pathFilter(),
            predicate: (query) => inputOf(query.queryKey)?.taskId === payload.task?.id,
          });
        } else reloadTasks();
        break;
      case 'task.created':
        reloadTasks();
        break;
      case 'task.deleted':
        if (event.entityId !== null) removeTask(queryClient, trpc, event.entityId);
        break;
      case 'comment.created':
      case 'comment.updated':
      case 'comment.deleted':
        void queryClient.invalidateQueries({ ...trpc.comments.list.pathFilter(), predicate: (query) => inputOf(query.queryKey)?.taskId === payload.taskId });
        void queryClient.invalidateQueries({ ...trpc.tasks.history.pathFilter(), predicate: (query) => inputOf(query.queryKey)?.taskId === payload.taskId });
        break;
      case 'member.added':
      case 'member.updated':
      case 'member.removed':
        void queryClient.invalidateQueries(trpc.members.pathFilter());
        void queryClient.invalidateQueries(trpc.projects.pathFilter());
        // Joining or leaving a project changes what the views across projects hold.
        if ((payload.unassignedTaskIds?.length ?? 0) > 0 || event.kind !== 'member.updated') reloadTasks();
        break;
      case 'project.updated':
        void queryClient.invalidateQueries(trpc.projects.pathFilter());
        break;
      case 'project.deleted':
        void queryClient.invalidateQueries(trpc.projects.pathFilter());
        reloadTasks();
        break;
    }
  };
  return {
    apply,
    reloadAll,
    /** Applies an event of a project whose page is not open (that page's stream applies its own). */
    applyUnwatched: (event: LiveEvent) => {
      if (event.projectId === null || !watchedProjects.has(event.projectId)) apply(event);
    },
    dispose: () => clearTimeout(reloadTimer),
  };
}

/**
 * Keeps what the console shows of a project current while it is open: every change to its tasks,
 * comments and members arrives over a subscription and patches the cached data in place (a task's
 * new state replaces the old one in every list and its panel); only what cannot be patched (a new
 * task in filtered and sorted lists, a bulk change) reloads, once per burst. A network blip is
 * bridged by the stream itself, resuming after the last event received; when the server cannot
 * replay what was missed it says so and the project's data is reloaded.
 */
export function useLiveProject(projectId: number): { accessLost: boolean } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useMe().data?.id;
  // Read by the stream's handlers; the stream is not restarted when it becomes known.
  const meRef = useRef(me);
  useEffect(() => {
    meRef.current = me;
  }, [me]);
  const [lostProject, setLostProject] = useState<number | null>(null);

  useEffect(() => {
    let stopped = false;
    let lastEventId: string | undefined;
    let subscription: { unsubscribe(): void } | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let closedBy: string | undefined;
    const cache = liveCache(queryClient, trpc);
    watchedProjects.set(projectId, (watchedProjects.get(projectId) ?? 0) + 1);

    const start = () => {
      if (stopped) return;
      closedBy = undefined;
      subscription = trpcClient.live.project.subscribe(
        { projectId, ...(lastEventId ? { lastEventId } : {}) },
        {
          onStarted: () => {
            failures = 0;
          },
          onData: (data: unknown) => {
            const { message, id } = readTracked(data);
            lastEventId = id ?? lastEventId;
            if (message.type === 'refetch') cache.reloadAll();
            else if (message.type === 'closed') closedBy = message.reason;
            else if (message.type !== 'event') return;
            // The page stays as it was, with what was being typed, and says why nothing saves
            // any more: reloading the project now would replace it with "not found".
            else if (endsAccess(message.event, meRef.current)) setLostProject(projectId);
            else cache.apply(message.event);
          },
          onError: () => {
            // Refused (signed out, no longer a member): the pages themselves say so; try again later.
            retry = setTimeout(start, RETRY_DELAYS_MS[Math.min(failures++, RETRY_DELAYS_MS.length - 1)]);
          },
          onComplete: () => {
            if (stopped) return;
            if (closedBy === 'access_lost') {
              setLostProject(projectId);
              return;
            }
            // The token expired or the session ended: renew (which signs out if it cannot), then resume.
            if (closedBy === 'token_expired' || closedBy === 'signed_out') {
              void session.renew().then((token) => token && start());
              return;
            }
            retry = setTimeout(start, RETRY_DELAYS_MS[0]);
          },
        },
      );
    };
    start();
    return () => {
      stopped = true;
      clearTimeout(retry);
      cache.dispose();
      const watchers = (watchedProjects.get(projectId) ?? 1) - 1;
      if (watchers > 0) watchedProjects.set(projectId, watchers);
      else watchedProjects.delete(projectId);
      subscription?.unsubscribe();
    };
  }, [projectId, trpc, queryClient]);
  return { accessLost: lostProject === projectId };
}

/** The event that takes the project away from this user: their removal, or its deletion. */
function endsAccess(event: LiveEvent, me: number | undefined): boolean {
  return event.kind === 'project.deleted' || (event.kind === 'member.removed' && me !== undefined && event.entityId === me);
}

/** The input a tRPC query key was made with. */
function inputOf(queryKey: readonly unknown[]): { taskId?: number } | undefined {
  const second = queryKey[1] as { input?: { taskId?: number } } | undefined;
  return second?.input;
}

type Trpc = ReturnType<typeof useTRPC>;

function mapLists(queryClient: QueryClient, trpc: Trpc, fn: (items: Task[]) => Task[]) {
  queryClient.setQueriesData<ListData>(trpc.tasks.list.pathFilter(), (data) =>
    data ? { ...data, pages: data.pages.map((page) => ({ ...page, items: fn(page.items) })) } : data,
  );
}

/** The server's newer copy of a task, everywhere it is shown; an older one never overwrites a newer. */
function replaceTask(queryClient: QueryClient, trpc: Trpc, task: Task) {
  mapLists(queryClient, trpc, (items) => items.map((item) => (item.id === task.id && item.version < task.version ? task : item)));
  queryClient.setQueryData(trpc.tasks.get.queryKey({ id: task.id }), (current: Task | undefined) =>
    current && current.version >= task.version ? current : task,
  );
}

/** The fields lists are filtered and sorted by; a change of any may move the task to another list or place. */
const PLACING: (keyof Task)[] = ['status', 'position', 'priority', 'dueAt', 'projectId'];

function movesInLists(queryClient: QueryClient, trpc: Trpc, task: Task): boolean {
  let shown: Task | undefined;
  for (const [, data] of queryClient.getQueriesData<ListData>(trpc.tasks.list.pathFilter())) {
    shown = data?.pages.flatMap((page) => page.items).find((item) => item.id === task.id);
    if (shown) break;
  }
  if (!shown) return true;
  return (
    PLACING.some((field) => shown[field] !== task[field]) ||
    shown.assignee?.id !== task.assignee?.id ||
    shown.labels.map((label) => label.id).join() !== task.labels.map((label) => label.id).join()
  );
}

function removeTask(queryClient: QueryClient, trpc: Trpc, id: number) {
  mapLists(queryClient, trpc, (items) => items.filter((item) => item.id !== id));
  void queryClient.invalidateQueries(trpc.tasks.get.queryFilter({ id }));
}
