import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Empty, Loading } from '../components/Feedback';
import { ListSummary, LoadFailed, StaleNotice, PagedTable, usePagedItems } from '../components/PagedList';
import { Page } from '../components/Page';
import { useI18n } from '../i18n';
import { useTRPC } from '../lib/trpc';
import { isOverdue } from '../tasks/dates';
import { clearFilters, filtersToAdminListInput, hasActiveFilters, TASK_PAGE_SIZE } from '../tasks/filters';
import { DueLabel, PriorityLabel, StatusBadge, TaskFilterBar, useTaskFilters, useTotalLabel } from '../tasks/parts';

/** Every user's tasks, for administrators: the same filters, sorts and paging, plus the owner. Read-only. */
export function AllTasks() {
  const { t, plural, dateTime } = useI18n();
  const trpc = useTRPC();
  const [filters, setFilters] = useTaskFilters();
  const input = useMemo(() => ({ ...filtersToAdminListInput(filters), limit: TASK_PAGE_SIZE }), [filters]);
  const list = useInfiniteQuery(
    trpc.admin.tasks.list.infiniteQueryOptions(input, {
      getNextPageParam: (last) => last.nextCursor,
      placeholderData: keepPreviousData,
    }),
  );
  const items = usePagedItems(list.data);
  const total = useTotalLabel(list.data?.pages[0]?.total);

  let body;
  if (list.isPending) body = <Loading block />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  else if (items.length === 0) {
    body = hasActiveFilters(filters) ? (
      <Empty title={t('tasks.noMatchTitle')}>
        <p>{t('tasks.noMatchBody')}</p>
        <button type="button" className="btn" onClick={() => setFilters(clearFilters(filters))}>
          {t('filters.clear')}
        </button>
      </Empty>
    ) : (
      <Empty title={t('adminTasks.empty')} />
    );
  } else {
    body = (
      <PagedTable
        list={list}
        caption={t('admin.tasks')}
        columns={[t('field.title'), t('adminTasks.owner'), t('field.status'), t('field.priority'), t('field.due'), t('adminTasks.updated')]}
      >
        {items.map((task) => (
          <tr key={task.id} className={isOverdue(task) ? 'row-overdue' : undefined}>
            <th scope="row" className="cell-title">
              {task.title}
            </th>
            <td>
              {task.ownerUsername === null ? (
                <span className="muted">{t('adminTasks.deletedAccount')}</span>
              ) : (
                <button
                  type="button"
                  className="btn-link"
                  onClick={() => setFilters({ owner: task.ownerUsername ?? '' })}
                  aria-label={t('adminTasks.onlyOwner', { username: task.ownerUsername })}
                >
                  {task.ownerUsername}
                </button>
              )}
            </td>
            <td>
              <StatusBadge status={task.status} />
            </td>
            <td>
              <PriorityLabel priority={task.priority} short />
            </td>
            <td className="cell-due">{task.dueAt ? <DueLabel task={task} /> : <span aria-label={t('common.none')}>—</span>}</td>
            <td>
              <time dateTime={task.updatedAt}>{dateTime(task.updatedAt)}</time>
            </td>
          </tr>
        ))}
      </PagedTable>
    );
  }

  return (
    <Page title={t('admin.tasks')} count={total}>
      <p className="muted">{t('adminTasks.help')}</p>
      <TaskFilterBar filters={filters} onChange={setFilters} showOwner />
      <ListSummary list={list} shown={plural('tasks.shown', items.length)} />
      <StaleNotice query={list} />
      {body}
    </Page>
  );
}
