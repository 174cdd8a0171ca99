import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, Loading } from '../components/Feedback';
import { ListSummary, LoadFailed, LoadMore, usePagedItems } from '../components/PagedList';
import { Page } from '../components/Page';
import { useI18n } from '../i18n';
import { useTRPC } from '../lib/trpc';
import { type Task, useTaskActions } from './cache';
import { isOverdue } from './dates';
import { clearFilters, filtersToListInput, hasActiveFilters, TASK_PAGE_SIZE } from './filters';
import { DueLabel, PriorityLabel, StatusBadge, TaskFilterBar, useTaskFilters } from './parts';
import { TaskEditor } from './TaskEditor';

export function TasksPage() {
  const { t, plural } = useI18n();
  const trpc = useTRPC();
  const [filters, setFilters] = useTaskFilters();
  const input = useMemo(() => ({ ...filtersToListInput(filters), limit: TASK_PAGE_SIZE }), [filters]);
  const list = useInfiniteQuery(
    trpc.tasks.list.infiniteQueryOptions(input, {
      getNextPageParam: (last) => last.nextCursor,
      // While another filter's first page loads, the previous results stay (marked busy).
      placeholderData: keepPreviousData,
    }),
  );
  const items = usePagedItems(list.data);
  const actions = useTaskActions();

  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const selectedIds = items.filter((item) => selected.has(item.id)).map((item) => item.id);
  const [editing, setEditing] = useState<Task | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Task | null>(null);
  const [confirmBulkDelete, setConfirmBulkDelete] = useState(false);

  // A deleted row takes the focus with it; it goes to the next row that stays (or the heading).
  const focusAfterRemoval = useRef<{ removed: number[]; next: number | null } | null>(null);
  useEffect(() => {
    const pending = focusAfterRemoval.current;
    if (!pending || items.some((item) => pending.removed.includes(item.id))) return;
    focusAfterRemoval.current = null;
    const row = pending.next === null ? null : document.querySelector(`[data-task-id="${pending.next}"] .done-toggle`);
    (row instanceof HTMLElement ? row : document.querySelector<HTMLElement>('main h1'))?.focus();
  }, [items]);
  const removing = (ids: number[]) => {
    const gone = new Set(ids);
    const index = items.findIndex((item) => gone.has(item.id));
    const next = [...items.slice(index + 1), ...items.slice(0, index).reverse()].find((item) => !gone.has(item.id));
    focusAfterRemoval.current = { removed: ids, next: next?.id ?? null };
  };
  // Refused: the rows come back, and the focus stays where it is.
  const keepFocus = () => {
    focusAfterRemoval.current = null;
  };

  const select = (id: number, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allSelected = items.length > 0 && selectedIds.length === items.length;

  const newTask = (
    <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
      {t('tasks.new')}
    </button>
  );

  let body;
  if (list.isPending) {
    body = <Loading block />;
  } else if (list.isError) {
    body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  } else if (items.length === 0) {
    body = hasActiveFilters(filters) ? (
      <Empty title={t('tasks.noMatchTitle')}>
        <p>{t('tasks.noMatchBody')}</p>
        <button type="button" className="btn" onClick={() => setFilters(clearFilters(filters))}>
          {t('filters.clear')}
        </button>
      </Empty>
    ) : (
      <Empty title={t('tasks.emptyTitle')}>
        <p>{t('tasks.emptyBody')}</p>
        {newTask}
      </Empty>
    );
  } else {
    body = (
      <>
        <div className="list-toolbar">
          <SelectAll
            checked={allSelected}
            indeterminate={selectedIds.length > 0 && !allSelected}
            onChange={(on) => setSelected(on ? new Set(items.map((item) => item.id)) : new Set())}
          />
          {selectedIds.length > 0 ? (
            <div className="bulk" role="group" aria-label={t('tasks.bulkLabel')}>
              <span className="bulk-count">{plural('tasks.selected', selectedIds.length)}</span>
              <button
                type="button"
                className="btn btn-small"
                disabled={actions.bulkDone.isPending}
                onClick={() => actions.bulkDone.mutate(selectedIds, { onSuccess: () => setSelected(new Set()) })}
              >
                {t('tasks.bulkDone')}
              </button>
              <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setConfirmBulkDelete(true)}>
                {t('tasks.bulkDelete')}
              </button>
              <button type="button" className="btn btn-small" onClick={() => setSelected(new Set())}>
                {t('tasks.clearSelection')}
              </button>
            </div>
          ) : null}
        </div>
        <ul className="task-list" aria-label={t('nav.tasks')} aria-busy={list.isPlaceholderData || undefined}>
          {items.map((task) => (
            <TaskItem
              key={task.id}
              task={task}
              selected={selected.has(task.id)}
              onSelect={(on) => select(task.id, on)}
              onToggleDone={() => actions.setStatus.mutate({ id: task.id, status: task.status === 'done' ? 'todo' : 'done' })}
              onEdit={() => setEditing(task)}
              onDelete={() => setDeleting(task)}
            />
          ))}
        </ul>
        <LoadMore list={list} />
      </>
    );
  }

  return (
    <Page title={t('nav.tasks')} actions={newTask} className="tasks-page">
      <TaskFilterBar filters={filters} onChange={setFilters} />
      <ListSummary list={list} shown={plural('tasks.shown', items.length)} />
      {body}
      {editing ? <TaskEditor key={editing === 'new' ? 'new' : editing.id} task={editing === 'new' ? null : editing} onClose={() => setEditing(null)} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        title={t('tasks.deleteConfirmTitle')}
        confirmLabel={t('tasks.delete')}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) {
            removing([deleting.id]);
            actions.remove.mutate({ id: deleting.id }, { onError: keepFocus });
          }
          setDeleting(null);
        }}
      >
        <p>{t('tasks.deleteConfirmBody', { title: deleting?.title ?? '' })}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirmBulkDelete}
        title={plural('tasks.bulkDeleteConfirmTitle', selectedIds.length)}
        confirmLabel={t('tasks.delete')}
        onCancel={() => setConfirmBulkDelete(false)}
        onConfirm={() => {
          removing(selectedIds);
          actions.bulkRemove.mutate(selectedIds, { onSuccess: () => setSelected(new Set()), onError: keepFocus });
          setConfirmBulkDelete(false);
        }}
      >
        <p>{t('tasks.bulkDeleteConfirmBody')}</p>
      </ConfirmDialog>
    </Page>
  );
}

function SelectAll({ checked, indeterminate, onChange }: { checked: boolean; indeterminate: boolean; onChange(on: boolean): void }) {
  const { t } = useI18n();
  const ref = useRef<HTMLInputElement>(null);
  // "Some selected" exists only as a DOM property.
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = indeterminate;
  }, [indeterminate]);
  return (
    <label className="check select-all">
      <input ref={ref} type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} />
      {t('tasks.selectAll')}
    </label>
  );
}

function TaskItem({
  task,
  selected,
  onSelect,
  onToggleDone,
  onEdit,
  onDelete,
}: {
  task: Task;
  selected: boolean;
  onSelect(on: boolean): void;
  onToggleDone(): void;
  onEdit(): void;
  onDelete(): void;
}) {
  const { t } = useI18n();
  const done = task.status === 'done';
  const classes = ['task', done ? 'task-done' : '', isOverdue(task) ? 'task-overdue' : '', selected ? 'task-selected' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <li className={classes} data-task-id={task.id}>
      <input
        type="checkbox"
        className="task-select"
        checked={selected}
        onChange={(event) => onSelect(event.target.checked)}
        aria-label={t('tasks.select', { title: task.title })}
      />
      <button type="button" className="done-toggle" aria-pressed={done} aria-label={t('tasks.markDone', { title: task.title })} onClick={onToggleDone}>
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <circle cx="12" cy="12" r="10" />
          <path d="M7 12.5l3.2 3.2L17 9" />
        </svg>
      </button>
      <div className="task-main">
        <h2 className="task-title">{task.title}</h2>
        {task.description ? <p className="task-description">{task.description}</p> : null}
        <p className="task-meta">
          <StatusBadge status={task.status} />
          <PriorityLabel priority={task.priority} />
          <DueLabel task={task} />
        </p>
      </div>
      <div className="task-actions">
        <button type="button" className="btn btn-small" onClick={onEdit} aria-label={t('tasks.editNamed', { title: task.title })}>
          {t('tasks.edit')}
        </button>
        <button type="button" className="btn btn-small btn-danger-outline" onClick={onDelete} aria-label={t('tasks.deleteNamed', { title: task.title })}>
          {t('tasks.delete')}
        </button>
      </div>
    </li>
  );
}
