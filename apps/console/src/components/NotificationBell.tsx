import { type QueryClient, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { Link } from 'wouter';
import { type MessageKey, useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { type RouterOutputs, session, trpcClient, useTRPC } from '../lib/trpc';
import { liveCache, readTracked } from '../projects/live';
import { Alert, Loading } from './Feedback';

type Notification = RouterOutputs['notifications']['list']['items'][number];

/** How often the unread count is asked for while the page is open (and on every return to it). */
const COUNT_REFRESH_MS = 30_000;
const PAGE = { limit: 15 };

const KIND_MESSAGE: Record<Notification['kind'], MessageKey> = {
  assigned: 'notifications.kind.assigned',
  mentioned: 'notifications.kind.mentioned',
  commented: 'notifications.kind.commented',
  due_soon: 'notifications.kind.due_soon',
  overdue: 'notifications.kind.overdue',
};

/**
 * Everything the bell shows comes from the `notifications` procedures; refreshing it is one
 * invalidation of their path (e.g. when a live event says a notification arrived).
 */
export function refreshNotifications(queryClient: QueryClient, trpc: ReturnType<typeof useTRPC>): Promise<void> {
  return queryClient.invalidateQueries(trpc.notifications.pathFilter());
}

/** Waits before listening again after the stream failed or ended: quick first, then patient. */
const RELISTEN_DELAYS_MS = [1_000, 5_000, 15_000, 30_000];

/**
 * Follows the caller's own live stream (`live.mine`), with the changes of every project they are
 * a member of: a notification made for them refreshes the bell at once, and a change in any of
 * their projects patches what the views across projects show (all tasks, my work, the sidebar's
 * projects), as the project page's own stream does for that project. The periodic count stays as
 * the fallback while the stream is down.
 */
function useNotificationStream(): void {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  useEffect(() => {
    const cache = liveCache(queryClient, trpc);
    let stopped = false;
    let failures = 0;
    let lastEventId: string | undefined;
    let closedBy: string | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let subscription: { unsubscribe(): void } | undefined;
    const again = () => {
      retry = setTimeout(start, RELISTEN_DELAYS_MS[Math.min(failures++, RELISTEN_DELAYS_MS.length - 1)]);
    };
    function start() {
      if (stopped) return;
      closedBy = undefined;
      subscription = trpcClient.live.mine.subscribe(
        { projects: true, ...(lastEventId ? { lastEventId } : {}) },
        {
          onStarted: () => {
            failures = 0;
          },
          onData: (data: unknown) => {
            const { message, id } = readTracked(data);
            lastEventId = id ?? lastEventId;
            if (message.type === 'event' && message.event.projectId !== null) cache.applyUnwatched(message.event);
            else if (message.type === 'event' || message.type === 'refetch') void refreshNotifications(queryClient, trpc);
            if (message.type === 'refetch') cache.reloadAll();
            // A webhook of theirs was disabled for failing: a webhooks list on screen shows it at once.
            if (message.type === 'event' && message.event.kind === 'webhook.disabled') void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
            else if (message.type === 'closed') closedBy = message.reason;
          },
          onError: again,
          onComplete: () => {
            if (stopped) return;
            // The access token expired or the session ended: renew (which signs out if it cannot), then listen again.
            if (closedBy === 'token_expired' || closedBy === 'signed_out') void session.renew().then((token) => token && start());
            else again();
          },
        },
      );
    }
    start();
    return () => {
      stopped = true;
      clearTimeout(retry);
      cache.dispose();
      subscription?.unsubscribe();
    };
  }, [trpc, queryClient]);
}

/** The bell in the header: the unread count, and a panel of notifications to open, or mark read. */
export function NotificationBell() {
  useNotificationStream();
  const { t, plural } = useI18n();
  const trpc = useTRPC();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const headingId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const unread = useQuery(trpc.notifications.unreadCount.queryOptions(undefined, { refetchInterval: COUNT_REFRESH_MS, refetchOnWindowFocus: true }));
  const count = unread.data?.count ?? 0;

  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onPointer = (event: PointerEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [open]);

  return (
    <div className="bell" ref={root}>
      <button
        ref={button}
        type="button"
        className="btn bell-button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={count > 0 ? plural('notifications.bellUnread', count) : t('notifications.bell')}
        data-testid="notification-bell"
        onClick={() => setOpen((was) => !was)}
      >
        <svg
          aria-hidden="true"
          width="18"
          height="18"
          viewBox="0 0 24 24"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
          strokeLinecap="round"
          strokeLinejoin="round"
        >
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
          <path d="M13.73 21a2 2 0 0 1-3.46 0" />
        </svg>
        {count > 0 ? (
          <span className="bell-count" aria-hidden="true" data-testid="notification-count">
            {count > 99 ? '99+' : count}
          </span>
        ) : null}
      </button>
      {open ? <NotificationPanel id={panelId} headingId={headingId} onClose={() => setOpen(false)} /> : null}
    </div>
  );
}

function NotificationPanel({ id, headingId, onClose }: { id: string; headingId: string; onClose(): void }) {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useInfiniteQuery(trpc.notifications.list.infiniteQueryOptions(PAGE, { getNextPageParam: (last) => last.nextCursor, staleTime: 0 }));
  const refresh = () => refreshNotifications(queryClient, trpc);
  const markRead = useMutation(trpc.notifications.markRead.mutationOptions({ onSettled: refresh }));
  const markAll = useMutation(trpc.notifications.markAllRead.mutationOptions({ onSettled: refresh }));
  const items = list.data?.pages.flatMap((page) => page.items) ?? [];
  const anyUnread = items.some((item) => !item.read);
  const failed = markRead.error ?? markAll.error;

  const describe = (item: Notification) => t(KIND_MESSAGE[item.kind], { actor: item.actor?.username ?? t('notifications.someone'), task: item.task.title });

  return (
    <section id={id} className="bell-panel" aria-labelledby={headingId} data-testid="notification-panel">
      <div className="bell-panel-header">
        <h2 id={headingId}>{t('notifications.title')}</h2>
        <button type="button" className="btn btn-small" disabled={!anyUnread || markAll.isPending} onClick={() => markAll.mutate()}>
          {t('notifications.markAllRead')}
        </button>
      </div>
      <Alert message={failed ? describeError(failed, t).message : null} />
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <Alert message={describeError(list.error, t).message} />
      ) : items.length === 0 ? (
        <p className="muted bell-empty">{t('notifications.empty')}</p>
      ) : (
        <ul className="bell-list">
          {items.map((item) => (
            <li key={item.id} className={item.read ? 'bell-item' : 'bell-item unread'}>
              <Link
                href={`/projects/${item.task.projectId}?task=${item.task.id}`}
                className="bell-link"
                onClick={() => {
                  if (!item.read) markRead.mutate({ id: item.id });
                  onClose();
                }}
              >
                {item.read ? null : <span className="visually-hidden">{t('notifications.unread')}: </span>}
                <span>{describe(item)}</span>
                <time className="muted" dateTime={item.createdAt}>
                  {dateTime(item.createdAt)}
                </time>
              </Link>
              {item.read ? null : (
                <button
                  type="button"
                  className="btn btn-small"
                  aria-label={t('notifications.markReadNamed', { what: describe(item) })}
                  disabled={markRead.isPending}
                  onClick={() => markRead.mutate({ id: item.id })}
                >
                  {t('notifications.markRead')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {list.hasNextPage ? (
        <button type="button" className="btn btn-small" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          {t('notifications.loadMore')}
        </button>
      ) : null}
    </section>
  );
}
