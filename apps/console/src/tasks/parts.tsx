import type { TaskPriority, TaskStatus } from '@stm/validators';
import { useId, useState } from 'react';
import { DebouncedInput } from '../components/DebouncedInput';
import { Control } from '../components/Field';
import { type MessageKey, useI18n } from '../i18n';
import { useSearchFilters } from '../lib/url-filters';
import { useLabels, useMembers } from '../projects/queries';
import { isOverdue } from './dates';
import type { ListScope } from './scope';
import { clearFilters, filtersToSearch, hasActiveFilters, parseFilters, TASK_PRIORITIES, TASK_SORTS, TASK_STATUSES, type TaskFilters } from './filters';

export const STATUS_LABELS: Record<TaskStatus, MessageKey> = {
  todo: 'tasks.status.todo',
  in_progress: 'tasks.status.in_progress',
  done: 'tasks.status.done',
};

export const PRIORITY_LABELS: Record<TaskPriority, MessageKey> = {
  high: 'tasks.priority.high',
  medium: 'tasks.priority.medium',
  low: 'tasks.priority.low',
};

const SORT_LABELS: Record<TaskFilters['sort'], MessageKey> = {
  createdAt: 'filters.sort.createdAt',
  updatedAt: 'filters.sort.updatedAt',
  dueAt: 'filters.sort.dueAt',
  priority: 'filters.sort.priority',
  position: 'filters.sort.position',
};

/** A task list's filters from the address bar, and a setter that rewrites it. */
export function useTaskFilters(): [TaskFilters, (patch: Partial<TaskFilters>) => void] {
  return useSearchFilters(parseFilters, filtersToSearch);
}

/** Who does a task, as the assignee filter offers it: anyone, the reader, nobody, or a member. */
function AssigneeFilter({
  filters,
  onChange,
  projectId,
}: {
  filters: TaskFilters;
  onChange(patch: Partial<TaskFilters>): void;
  projectId: number | undefined;
}) {
  const { t } = useI18n();
  const members = useMembers(projectId);
  const value = filters.assignee === null ? '' : String(filters.assignee);
  return (
    <Control label={t('filters.assignee')} className="filter-compact">
      {(control) => (
        <select
          {...control}
          value={value}
          onChange={(event) => {
            const chosen = event.target.value;
            onChange({ assignee: chosen === '' ? null : chosen === 'me' || chosen === 'none' ? chosen : Number(chosen) });
          }}
        >
          <option value="">{t('filters.anyone')}</option>
          <option value="me">{t('filters.me')}</option>
          <option value="none">{t('filters.unassigned')}</option>
          {(members.data ?? []).map((member) => (
            <option key={member.userId} value={member.userId}>
              {member.username}
            </option>
          ))}
        </select>
      )}
    </Control>
  );
}

function LabelFilter({ filters, onChange, projectId }: { filters: TaskFilters; onChange(patch: Partial<TaskFilters>): void; projectId: number }) {
  const { t } = useI18n();
  const labels = useLabels(projectId);
  if (!labels.data || labels.data.length === 0) return null;
  return (
    <Control label={t('filters.labelFilter')} className="filter-compact">
      {(control) => (
        <select {...control} value={filters.label ?? ''} onChange={(event) => onChange({ label: event.target.value ? Number(event.target.value) : null })}>
          <option value="">{t('filters.anyLabel')}</option>
          {labels.data.map((label) => (
            <option key={label.id} value={label.id}>
              {label.name}
            </option>
          ))}
        </select>
      )}
    </Control>
  );
}

/** Search, filters and sort of a task list; every change goes to the address bar. */
export function TaskFilterBar({
  filters,
  onChange,
  showOwner = false,
  scope,
}: {
  filters: TaskFilters;
  onChange(patch: Partial<TaskFilters>): void;
  showOwner?: boolean;
  /** Which people and labels there are to filter by. */
  scope?: ListScope;
}) {
  const projectId = scope?.kind === 'project' ? scope.project.id : undefined;
  // An agenda fixes its days, its order and that its tasks are open: those controls go.
  const agenda = scope?.kind === 'due';
  const { t } = useI18n();
  const statusLegend = useId();
  const moreId = useId();
  // On a phone the less used filters fold away; on wider screens they are always shown.
  const [moreOpen, setMoreOpen] = useState(false);
  const narrowing = [
    filters.status.length > 0,
    filters.priority !== null,
    filters.dueFrom || filters.dueTo,
    filters.overdue,
    filters.assignee !== null,
    filters.label !== null,
  ].filter(Boolean).length;
  const toggleStatus = (status: TaskStatus, on: boolean) =>
    onChange({ status: on ? [...filters.status, status] : filters.status.filter((value) => value !== status) });

  return (
    <div role="search" className="filters" aria-label={t('filters.label')}>
      <div className="filters-row">
        <DebouncedInput label={t('filters.search')} value={filters.search} onCommit={(search) => onChange({ search })} />
        {showOwner ? <DebouncedInput label={t('filters.owner')} type="text" value={filters.owner} onCommit={(owner) => onChange({ owner })} /> : null}
        {agenda ? null : (
          <>
            <Control label={t('filters.sort')} className="filter-compact">
              {(control) => (
                <select {...control} value={filters.sort} onChange={(event) => onChange({ sort: event.target.value as TaskFilters['sort'] })}>
                  {TASK_SORTS.map((sort) => (
                    <option key={sort} value={sort}>
                      {t(SORT_LABELS[sort])}
                    </option>
                  ))}
                </select>
              )}
            </Control>
            <Control label={t('filters.order')} className="filter-compact">
              {(control) => (
                <select {...control} value={filters.order} onChange={(event) => onChange({ order: event.target.value as TaskFilters['order'] })}>
                  <option value="asc">{t('filters.order.asc')}</option>
                  <option value="desc">{t('filters.order.desc')}</option>
                </select>
              )}
            </Control>
          </>
        )}
        <button
          type="button"
          className="btn btn-small filters-toggle"
          aria-expanded={moreOpen}
          aria-controls={moreId}
          onClick={() => setMoreOpen((open) => !open)}
        >
          {t('filters.more')}
          {narrowing > 0 ? ` (${narrowing})` : ''}
        </button>
      </div>
      <div id={moreId} className={moreOpen ? 'filters-row filters-more open' : 'filters-row filters-more'}>
        {scope && scope.kind !== 'mine' ? <AssigneeFilter filters={filters} onChange={onChange} projectId={projectId} /> : null}
        {projectId !== undefined ? <LabelFilter filters={filters} onChange={onChange} projectId={projectId} /> : null}
        {agenda ? null : (
          <fieldset className="filter-statuses" aria-labelledby={statusLegend}>
            <legend id={statusLegend}>{t('filters.status')}</legend>
            <div className="checks">
              {TASK_STATUSES.map((status) => (
                <label key={status} className="check">
                  <input type="checkbox" checked={filters.status.includes(status)} onChange={(event) => toggleStatus(status, event.target.checked)} />
                  {t(STATUS_LABELS[status])}
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <Control label={t('filters.priority')} className="filter-compact">
          {(control) => (
            <select
              {...control}
              value={filters.priority ?? ''}
              onChange={(event) => onChange({ priority: (event.target.value || null) as TaskPriority | null })}
            >
              <option value="">{t('filters.anyPriority')}</option>
              {TASK_PRIORITIES.map((priority) => (
                <option key={priority} value={priority}>
                  {t(PRIORITY_LABELS[priority])}
                </option>
              ))}
            </select>
          )}
        </Control>
        {agenda ? null : (
          <>
            <Control label={t('filters.dueFrom')} className="filter-compact">
              {(control) => (
                <input
                  {...control}
                  type="date"
                  min="1000-01-01"
                  max="9999-12-31"
                  value={filters.dueFrom ?? ''}
                  onChange={(event) => onChange({ dueFrom: event.target.value || null })}
                />
              )}
            </Control>
            <Control label={t('filters.dueTo')} className="filter-compact">
              {(control) => (
                <input
                  {...control}
                  type="date"
                  min="1000-01-01"
                  max="9999-12-31"
                  value={filters.dueTo ?? ''}
                  onChange={(event) => onChange({ dueTo: event.target.value || null })}
                />
              )}
            </Control>
            <label className="check filter-overdue">
              <input type="checkbox" checked={filters.overdue} onChange={(event) => onChange({ overdue: event.target.checked })} />
              {t('filters.overdue')}
            </label>
          </>
        )}
        {hasActiveFilters(filters) ? (
          <button type="button" className="btn btn-small" onClick={() => onChange(clearFilters(filters))}>
            {t('filters.clear')}
          </button>
        ) : null}
      </div>
    </div>
  );
}

export function StatusBadge({ status }: { status: TaskStatus }) {
  const { t } = useI18n();
  return <span className={`badge status status-${status}`}>{t(STATUS_LABELS[status])}</span>;
}

/** "High priority"; in a column already headed "Priority", `short` says just "High". */
export function PriorityLabel({ priority, short = false }: { priority: TaskPriority; short?: boolean }) {
  const { t } = useI18n();
  const level = t(PRIORITY_LABELS[priority]);
  return (
    <span className={`priority priority-${priority}`}>
      <span aria-hidden="true" className="priority-icon">
        {priority === 'high' ? '▲' : priority === 'low' ? '▽' : '◆'}
      </span>
      {short ? level : t('tasks.priorityIs', { priority: level })}
    </span>
  );
}

/**
 * The due date, and "Overdue" in words (and an icon), not only in colour. Where a label already
 * says "Due", `short` leaves the word out.
 */
export function DueLabel({ task, short = false }: { task: { status: TaskStatus; dueAt: string | null }; short?: boolean }) {
  const { t, dateTime } = useI18n();
  if (!task.dueAt) return null;
  const overdue = isOverdue(task);
  return (
    <>
      <span className="due">
        {short ? null : `${t('tasks.due')} `}
        <time dateTime={task.dueAt}>{dateTime(task.dueAt)}</time>
      </span>
      {overdue ? (
        <span className="badge badge-overdue">
          <span aria-hidden="true">⚠ </span>
          {t('tasks.overdue')}
        </span>
      ) : null}
    </>
  );
}

/**
 * "42 tasks", as the server counted them for a list's first page (so not only the pages loaded),
 * less `hidden` of them (deleted a moment ago, hidden while their Undo lasts); "10,000+ tasks"
 * past the server's bound. Null while there is no count.
 */
export function useTotalLabel(total: { count: number; capped: boolean } | null | undefined, hidden = 0): string | null {
  const { t, plural, language } = useI18n();
  if (!total) return null;
  const number = new Intl.NumberFormat(language);
  if (total.capped) return t('tasks.totalCapped', { count: number.format(total.count) });
  const count = Math.max(0, total.count - hidden);
  return plural('tasks.total', count, { count: number.format(count) });
}
