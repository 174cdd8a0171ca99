import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'wouter';
import { DebouncedInput } from '../components/DebouncedInput';
import { Empty, Loading } from '../components/Feedback';
import { ListSummary, LoadFailed, StaleNotice, PagedTable, usePagedItems } from '../components/PagedList';
import { Page } from '../components/Page';
import { useI18n } from '../i18n';
import { useTRPC } from '../lib/trpc';
import { ColorDot } from '../projects/parts';

/**
 * Every project, for administrators: they may open and manage any of them, and what they change
 * in a project they are not an owner of is recorded in the audit log.
 */
export function AllProjects() {
  const { t, plural, date } = useI18n();
  const trpc = useTRPC();
  const [search, setSearch] = useState('');
  const [includeInboxes, setIncludeInboxes] = useState(false);
  const inboxesId = useId();
  const list = useInfiniteQuery(
    trpc.admin.projects.list.infiniteQueryOptions(
      { ...(search.trim() ? { search: search.trim() } : {}), includeInboxes, limit: 50 },
      { getNextPageParam: (last) => last.nextCursor, placeholderData: keepPreviousData },
    ),
  );
  const items = usePagedItems(list.data);

  let body;
  if (list.isPending) body = <Loading block />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  else if (items.length === 0) body = <Empty title={t('adminProjects.empty')} />;
  else {
    body = (
      <PagedTable
        list={list}
        caption={t('admin.projects')}
        columns={[t('field.name'), t('adminProjects.owners'), t('adminProjects.members'), t('field.status'), t('adminProjects.created')]}
      >
        {items.map((project) => (
          <tr key={project.id}>
            <th scope="row" className="cell-title">
              <span className="task-project">
                <ColorDot color={project.color} />
                <Link href={`~/projects/${project.id}`}>
                  {project.isInbox ? `${t('projects.inbox')} (${project.ownerUsernames.join(', ')})` : project.name}
                </Link>
              </span>
            </th>
            <td>{project.ownerUsernames.join(', ') || '—'}</td>
            <td>{project.memberCount}</td>
            <td>{project.archived ? t('adminProjects.archived') : t('adminProjects.active')}</td>
            <td>
              <time dateTime={project.createdAt}>{date(project.createdAt)}</time>
            </td>
          </tr>
        ))}
      </PagedTable>
    );
  }

  return (
    <Page title={t('admin.projects')}>
      <p className="muted">{t('adminProjects.help')}</p>
      <div className="filters" role="search" aria-label={t('adminProjects.filters')}>
        <div className="filters-row">
          <DebouncedInput label={t('filters.search')} value={search} onCommit={setSearch} />
          <label className="check" htmlFor={inboxesId}>
            <input id={inboxesId} type="checkbox" checked={includeInboxes} onChange={(event) => setIncludeInboxes(event.target.checked)} />
            {t('adminProjects.includeInboxes')}
          </label>
        </div>
      </div>
      <ListSummary list={list} shown={plural('adminProjects.shown', items.length)} />
      <StaleNotice query={list} />
      {body}
    </Page>
  );
}
