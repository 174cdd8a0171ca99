import { useEffect, useRef } from 'react';
import { useI18n } from '../i18n';

/**
 * The end of an infinite list: more loads by itself when this comes into view, and the button
 * does the same for keyboards, screen readers and browsers without IntersectionObserver.
 */
export function LoadMore({
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
}: {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage(): void;
}) {
  const { t } = useI18n();
  const sentinel = useRef<HTMLDivElement>(null);
  const load = useRef(fetchNextPage);
  load.current = fetchNextPage;

  useEffect(() => {
    const element = sentinel.current;
    if (!element || !hasNextPage || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) load.current();
    }, { rootMargin: '200px' });
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
