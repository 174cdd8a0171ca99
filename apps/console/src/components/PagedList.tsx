import type { InfiniteData } from '@tanstack/react-query';
import { type ReactNode, useEffect, useLayoutEffect, useMemo, useRef } from 'react';
import { useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { Alert } from './Feedback';
import { RecordTable } from './RecordTable';

/** The parts of an infinite query (`useInfiniteQuery`) that a list's summary and end read. */
interface PagedQuery {
  isSuccess: boolean;
  isPlaceholderData: boolean;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage(options: { cancelRefetch: boolean }): Promise<unknown>;
}

/** Every item of the pages loaded so far, in order. */
export function usePagedItems<Item>(data: InfiniteData<{ items: Item[] }> | undefined): Item[] {
  return useMemo(() => data?.pages.flatMap((page) => page.items) ?? [], [data]);
}

/**
 * Announced after every change of filters or page: how many items are on screen now (`shown`),
 * and whether there are more. Always in the tree, so that assistive technology notices; empty
 * while the list loads, and when `shown` is null.
 */
export function ListSummary({ list, shown }: { list: PagedQuery; shown: string | null }) {
  const { t } = useI18n();
  return (
    <p className="list-summary muted" role="status">
      {shown !== null && list.isSuccess && !list.isPlaceholderData ? `${shown}${list.hasNextPage ? ` ${t('tasks.moreAvailable')}` : ''}` : null}
    </p>
  );
}

/** A list that could not be loaded: why, and a button to try again. */
export function LoadFailed({ error, onRetry }: { error: unknown; onRetry(): void }) {
  const { t } = useI18n();
  return (
    <div className="stack">
      <Alert message={describeError(error, t).message} />
      <div>
        <button type="button" className="btn" onClick={onRetry}>
          {t('common.retry')}
        </button>
      </div>
    </div>
  );
}

/**
 * A list or figures already on screen whose refresh failed: they stay, marked as possibly out of
 * date, with a button to try again (the query client also retries on focus, on reconnect and
 * every little while). Renders nothing otherwise.
 */
export function StaleNotice({ query }: { query: { isError: boolean; data: unknown; isFetching: boolean; refetch(): unknown } }) {
  const { t } = useI18n();
  if (!query.isError || query.data === undefined) return null;
  return (
    <div className="alert alert-info stale-notice" role="status">
      <span>{t('common.staleData')}</span>
      <button
        type="button"
        className="btn btn-small"
        onClick={() => void query.refetch()}
        disabled={query.isFetching}
        aria-busy={query.isFetching || undefined}
      >
        {t('common.retry')}
      </button>
    </div>
  );
}

/**
 * The end of an infinite list: more loads by itself when this comes into view, and the button
 * does the same for keyboards, screen readers and browsers without IntersectionObserver. A page
 * already on its way is not asked for again.
 */
export function LoadMore({ list }: { list: PagedQuery }) {
  const { t } = useI18n();
  const { hasNextPage, isFetchingNextPage } = list;
  const sentinel = useRef<HTMLDivElement>(null);
  const load = useRef(() => {});
  useLayoutEffect(() => {
    load.current = () => {
      if (!list.isFetchingNextPage) void list.fetchNextPage({ cancelRefetch: false });
    };
  });

  useEffect(() => {
    const element = sentinel.current;
    if (!element || !hasNextPage || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) load.current();
      },
      { rootMargin: '200px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [hasNextPage]);

  if (!hasNextPage) return null;
  return (
    <div className="load-more" ref={sentinel}>
      <button type="button" className="btn" onClick={() => load.current()} disabled={isFetchingNextPage} aria-busy={isFetchingNextPage || undefined}>
        {isFetchingNextPage ? t('tasks.loadingMore') : t('tasks.loadMore')}
      </button>
    </div>
  );
}

/**
 * A table of the items loaded so far, then the list's end. `columns` are the header cells' texts;
 * the caller writes the rows. The caption names the table for screen readers only: the page's
 * heading already says it on screen.
 */
export function PagedTable({
  list,
  caption,
  columns,
  className,
  children,
}: {
  list: PagedQuery;
  caption: string;
  columns: string[];
  className?: string;
  children: ReactNode;
}) {
  return (
    <>
      <RecordTable caption={caption} columns={columns} actions={false} className={className} busy={list.isPlaceholderData}>
        {children}
      </RecordTable>
      <LoadMore list={list} />
    </>
  );
}
