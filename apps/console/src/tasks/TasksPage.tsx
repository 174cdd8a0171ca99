import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useMemo, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, Loading } from '../components/Feedback';
import { ListSummary, LoadFailed, LoadMore, StaleNotice, usePagedItems } from '../components/PagedList';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { useTRPC } from '../lib/trpc';
import { ColorDot, LabelChip, useProjectName } from '../projects/parts';
import { abilities, type Project, useProjects } from '../projects/queries';
import { type Task, useTaskActions } from './cache';
import { dueWindowToApi, isOverdue, localDayOf } from './dates';
import { clearFilters, filtersToListInput, hasActiveFilters, TASK_PAGE_SIZE } from './filters';
import { useOpenTask } from './panel-state';
import type { ListScope } from './scope';
import { DueLabel, PriorityLabel, StatusBadge, TaskFilterBar, useTaskFilters, useTotalLabel } from './parts';
import { TaskEditor } from './TaskEditor';
import { TaskPanel } from './TaskPanel';
import { QuickAdd } from './QuickAdd';
import { ShortcutsSheet, useTaskListShortcuts } from './shortcuts';
import { useTasksAwaitingDelete } from './undo';
import { useDensity } from './density';
import { focusedRowId, focusRow, onRowKeyDown } from './task-grid';

/** The projects of the reader's by id, for the names, colours and rights of the tasks listed. */
export function useProjectIndex() {
  const { projects } = useProjects();
  return useMemo(() => new Map(projects.map((project) => [project.id, project])), [projects]);
}

/**
 * A list of tasks with its filters, paging, bulk actions and the task panel: every project's,
 * "my work", or one project's (its page passes its title, actions and what goes above the list).
 */
export function TaskListView({ scope, title, headerActions, before }: { scope: ListScope; title: string; headerActions?: ReactNode; before?: ReactNode }) {
  const { t, plural } = useI18n();
  const trpc = useTRPC();
  const me = useMe();
  const isAdmin = me.data?.role === 'admin';
  const projectIndex = useProjectIndex();
  const projectOf = (task: Task) => (scope.kind === 'project' ? scope.project : projectIndex.get(task.projectId));
  const canWrite = (task: Task) => abilities(projectOf(task), isAdmin).write;
  const [filters, setFilters] = useTaskFilters();
  const [openTask, setOpenTask] = useOpenTask();
  const today = useLocalToday();
  const input = useMemo(() => {
    const narrowed = filtersToListInput(filters);
    if (scope.kind === 'due') {
      // An agenda is its days' open tasks, soonest first; the other filters still narrow it.
      const { dueAfter: _after, dueBefore: _before, overdue: _overdue, status: _status, ...rest } = narrowed;
      return { ...rest, ...dueWindowToApi(scope.window, new Date(`${today}T12:00:00`)), sort: 'dueAt' as const, order: 'asc' as const, limit: TASK_PAGE_SIZE };
    }
    return {
      ...narrowed,
      ...(scope.kind === 'project' ? { projectId: scope.project.id } : {}),
      ...(scope.kind === 'mine' ? { assignee: 'me' as const } : {}),
      limit: TASK_PAGE_SIZE,
    };
  }, [filters, scope, today]);
  const list = useInfiniteQuery(
    trpc.tasks.list.infiniteQueryOptions(input, {
      getNextPageParam: (last) => last.nextCursor,
      // While another filter's first page loads, the previous results stay (marked busy).
      placeholderData: keepPreviousData,
    }),
  );
  const loaded = usePagedItems(list.data);
  // A task deleted a moment ago stays hidden while its Undo is offered, whatever a refetch says.
  const awaitingDelete = useTasksAwaitingDelete();
  const items = useMemo(() => (awaitingDelete.size === 0 ? loaded : loaded.filter((item) => !awaitingDelete.has(item.id))), [loaded, awaitingDelete]);
  const actions = useTaskActions();
  const total = useTotalLabel(list.data?.pages[0]?.total, loaded.filter((item) => awaitingDelete.has(item.id)).length);

  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const selectedIds = items.filter((item) => selected.has(item.id)).map((item) => item.id);
  const [editing, setEditing] = useState<Task | 'new' | null>(null);
  const [confirmBulkDelete, setConfirmBulkDelete] = useState(false);

  // A deleted row takes the focus with it; it goes to the next row that stays (or the heading).
  const focusAfterRemoval = useRef<{ removed: number[]; next: number | null } | null>(null);
  useEffect(() => {
    const pending = focusAfterRemoval.current;
    if (!pending || items.some((item) => pending.removed.includes(item.id))) return;
    focusAfterRemoval.current = null;
    if (pending.next === null || !focusRow(pending.next)) document.querySelector<HTMLElement>('main h1')?.focus();
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

  const toast = useToast();
  // One task goes at once with an Undo; only bulk deletes ask first.
  const remove = (task: Task) => {
    removing([task.id]);
    actions.removeWithUndo(task);
  };

  const select = (id: number, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allSelected = items.length > 0 && selectedIds.length === items.filter(canWrite).length;

  const canCreate = scope.kind !== 'project' || abilities(scope.project, isAdmin).write;

  const [density, setDensity] = useDensity();
  const [showShortcuts, setShowShortcuts] = useState(false);
  const quickAdd = useRef<HTMLInputElement>(null);
  // The row holding the focus, if any: the one the keys act on.
  const focusedTask = (): Task | undefined => {
    const id = focusedRowId();
    return items.find((item) => item.id === id);
  };
  // The list is one tab stop: the row last focused, else the first.
  const [activeId, setActiveId] = useState<number | null>(null);
  const tabStop = items.some((item) => item.id === activeId) ? activeId : (items[0]?.id ?? null);
  useTaskListShortcuts({
    ...(canCreate ? { newTask: () => setEditing('new'), quickAdd: () => quickAdd.current?.focus() } : {}),
    search: () => document.querySelector<HTMLInputElement>('.filters input[type="search"], .filters input')?.focus(),
    move: (step) => {
      const current = focusedTask();
      const index = current ? items.indexOf(current) + step : step > 0 ? 0 : items.length - 1;
      const next = items[Math.min(Math.max(index, 0), items.length - 1)];
      if (next) focusRow(next.id);
    },
    toggleDone: () => {
      const task = focusedTask();
      if (task && canWrite(task)) actions.toggleDone(task);
    },
    edit: () => {
      const task = focusedTask();
      if (task && canWrite(task)) setEditing(task);
    },
    remove: () => {
      const task = focusedTask();
      if (task && canWrite(task)) remove(task);
    },
    undo: () => toast.undoLatest(),
    help: () => setShowShortcuts(true),
  });
  const newTask = canCreate ? (
    <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
      {t('tasks.new')}
    </button>
  ) : null;

  let body;
  if (list.isPending) {
    body = <Loading block />;
  } else if (list.isError && !list.data) {
    body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  } else if (items.length === 0) {
    body = hasActiveFilters(filters) ? (
      <Empty title={t('tasks.noMatchTitle')}>
        <p>{t('tasks.noMatchBody')}</p>
        <button type="button" className="btn" onClick={() => setFilters(clearFilters(filters))}>
          {t('filters.clear')}
        </button>
      </Empty>
    ) : scope.kind === 'due' ? (
      <Empty title={t(`agenda.${scope.window}.emptyTitle`)}>
        <p>{t(`agenda.${scope.window}.emptyBody`)}</p>
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
            onChange={(on) => setSelected(on ? new Set(items.filter(canWrite).map((item) => item.id)) : new Set())}
          />
          <button
            type="button"
            className="btn btn-small density-toggle"
            aria-pressed={density === 'compact'}
            onClick={() => setDensity(density === 'compact' ? 'comfortable' : 'compact')}
          >
            {t('tasks.compact')}
          </button>
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
        <div data-task-view="">
          {groupsOf(scope, items).map((group) => (
            <section key={group.day ?? 'all'} className={group.day ? 'task-day' : undefined} aria-labelledby={group.day ? `day-${group.day}` : undefined}>
              {group.day ? (
                <h2 id={`day-${group.day}`} className="task-day-heading">
                  <DayName day={group.day} today={today} />
                </h2>
              ) : null}
              <div
                role="treegrid"
                className={density === 'compact' ? 'task-list task-list-compact' : 'task-list'}
                aria-label={group.day ? undefined : title}
                aria-labelledby={group.day ? `day-${group.day}` : undefined}
                aria-busy={list.isPlaceholderData || undefined}
              >
                {group.tasks.map((task) => (
                  <TaskItem
                    key={task.id}
                    task={task}
                    tabStop={task.id === tabStop}
                    onFocusRow={() => setActiveId(task.id)}
                    project={scope.kind === 'project' ? undefined : projectIndex.get(task.projectId)}
                    titleLevel={group.day ? 3 : 2}
                    writable={canWrite(task)}
                    selected={selected.has(task.id)}
                    onSelect={(on) => select(task.id, on)}
                    onOpen={() => setOpenTask(task.id)}
                    onToggleDone={() => actions.toggleDone(task)}
                    onEdit={() => setEditing(task)}
                    onDelete={() => remove(task)}
                  />
                ))}
              </div>
            </section>
          ))}
        </div>
        <LoadMore list={list} />
      </>
    );
  }

  return (
    <Page
      title={title}
      count={total}
      actions={
        <>
          {headerActions}
          {newTask}
        </>
      }
      className="tasks-page"
    >
      {before}
      {canCreate ? (
        <QuickAdd
          ref={quickAdd}
          projectId={scope.kind === 'project' ? scope.project.id : undefined}
          dueByDefault={scope.kind === 'due' && scope.window === 'today'}
        />
      ) : null}
      <TaskFilterBar filters={filters} onChange={setFilters} scope={scope} />
      <ListSummary list={list} shown={plural('tasks.shown', items.length)} />
      <StaleNotice query={list} />
      {body}
      {editing ? (
        <TaskEditor
          key={editing === 'new' ? 'new' : editing.id}
          task={editing === 'new' ? null : editing}
          projectId={scope.kind === 'project' ? scope.project.id : undefined}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {showShortcuts ? <ShortcutsSheet onClose={() => setShowShortcuts(false)} /> : null}
      {openTask !== null ? <TaskPanel taskId={openTask} onClose={() => setOpenTask(null)} onEdit={(task) => setEditing(task)} /> : null}
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
  tabStop,
  onFocusRow,
  project,
  titleLevel,
  writable,
  selected,
  onSelect,
  onOpen,
  onToggleDone,
  onEdit,
  onDelete,
}: {
  task: Task;
  /** The row the list's one tab stop is on. */
  tabStop: boolean;
  onFocusRow(): void;
  /** Shown when the list mixes projects. */
  project: Project | undefined;
  /** 3 under a day's heading, else 2. */
  titleLevel: 2 | 3;
  writable: boolean;
  selected: boolean;
  onSelect(on: boolean): void;
  onOpen(): void;
  onToggleDone(): void;
  onEdit(): void;
  onDelete(): void;
}) {
  const { t } = useI18n();
  const nameOf = useProjectName();
  const titleId = useId();
  const metaId = useId();
  const done = task.status === 'done';
  const classes = ['task', done ? 'task-done' : '', isOverdue(task) ? 'task-overdue' : '', selected ? 'task-selected' : ''].filter(Boolean).join(' ');
  return (
    <div
      role="row"
      className={classes}
      data-task-id={task.id}
      tabIndex={tabStop ? 0 : -1}
      aria-labelledby={titleId}
      aria-describedby={metaId}
      onFocus={onFocusRow}
      onKeyDown={(event) => onRowKeyDown(event, { open: onOpen, ...(writable ? { toggleDone: onToggleDone, edit: onEdit, remove: onDelete } : {}) })}
    >
      <div role="gridcell" className="task-cell-select">
        <input
          type="checkbox"
          className="task-select"
          tabIndex={-1}
          checked={selected}
          disabled={!writable}
          onChange={(event) => onSelect(event.target.checked)}
          aria-label={t('tasks.select', { title: task.title })}
        />
      </div>
      <div role="gridcell">
        <button
          type="button"
          className="done-toggle"
          tabIndex={-1}
          aria-pressed={done}
          aria-label={t('tasks.markDone', { title: task.title })}
          onClick={onToggleDone}
          disabled={!writable}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <circle cx="12" cy="12" r="10" />
            <path d="M7 12.5l3.2 3.2L17 9" />
          </svg>
        </button>
      </div>
      <div role="gridcell" className="task-main">
        <Heading level={titleLevel} className="task-title">
          <button type="button" id={titleId} className="task-open" tabIndex={-1} onClick={onOpen}>
            {task.title}
          </button>
        </Heading>
        {task.description ? <p className="task-description">{task.description}</p> : null}
        <p className="task-meta" id={metaId}>
          {project ? (
            <span className="task-project">
              <ColorDot color={project.color} />
              {nameOf(project)}
            </span>
          ) : null}
          <StatusBadge status={task.status} />
          <PriorityLabel priority={task.priority} />
          <DueLabel task={task} />
          {task.assignee ? <span className="assignee">{t('tasks.assignedTo', { username: task.assignee.username })}</span> : null}
          {task.labels.map((label) => (
            <LabelChip key={label.id} label={label} />
          ))}
        </p>
      </div>
      <div role="gridcell" className="task-actions">
        {writable ? (
          <>
            <button type="button" className="btn btn-small" tabIndex={-1} onClick={onEdit}>
              {t('tasks.edit')}
              <span className="visually-hidden"> {task.title}</span>
            </button>
            <button type="button" className="btn btn-small btn-danger-outline" tabIndex={-1} onClick={onDelete}>
              {t('tasks.delete')}
              <span className="visually-hidden"> {task.title}</span>
            </button>
          </>
        ) : null}
      </div>
    </div>
  );
}

/** Every task of the reader's projects that are not archived. */
export function AllTasksPage() {
  const { t } = useI18n();
  return <TaskListView scope={ALL} title={t('nav.allTasks')} />;
}

/** The tasks assigned to the reader, across their projects. */
export function MyWorkPage() {
  const { t } = useI18n();
  return <TaskListView scope={MINE} title={t('nav.myWork')} />;
}

/** Open tasks due today, in the reader's time zone. */
export function TodayPage() {
  const { t } = useI18n();
  return <TaskListView scope={TODAY} title={t('nav.today')} />;
}

/** Open tasks due in the seven days after today, under a heading per day. */
export function UpcomingPage() {
  const { t } = useI18n();
  return <TaskListView scope={UPCOMING} title={t('nav.upcoming')} />;
}

/** Open tasks whose due time has passed. */
export function OverduePage() {
  const { t } = useI18n();
  return <TaskListView scope={OVERDUE} title={t('nav.overdue')} />;
}

const ALL: ListScope = { kind: 'all' };
const MINE: ListScope = { kind: 'mine' };
const TODAY: ListScope = { kind: 'due', window: 'today' };
const UPCOMING: ListScope = { kind: 'due', window: 'upcoming' };
const OVERDUE: ListScope = { kind: 'due', window: 'overdue' };

function Heading({ level, className, children }: { level: 2 | 3; className: string; children: ReactNode }) {
  return level === 2 ? <h2 className={className}>{children}</h2> : <h3 className={className}>{children}</h3>;
}

/** The Upcoming view's tasks by local day, in order; any other list is one group. */
function groupsOf(scope: ListScope, tasks: Task[]): { day: string | null; tasks: Task[] }[] {
  if (scope.kind !== 'due' || scope.window !== 'upcoming') return [{ day: null, tasks }];
  const groups: { day: string; tasks: Task[] }[] = [];
  for (const task of tasks) {
    const day = task.dueAt ? localDayOf(task.dueAt) : '';
    const last = groups.at(-1);
    if (last?.day === day) last.tasks.push(task);
    else groups.push({ day, tasks: [task] });
  }
  return groups;
}

/** "Tomorrow, Monday 7 December", or the weekday and date. */
function DayName({ day, today }: { day: string; today: string }) {
  const { t, language } = useI18n();
  const date = new Date(`${day}T12:00:00`);
  const long = new Intl.DateTimeFormat(language, { weekday: 'long', day: 'numeric', month: 'long' }).format(date);
  const tomorrow = new Date(`${today}T12:00:00`);
  tomorrow.setDate(tomorrow.getDate() + 1);
  return <time dateTime={day}>{localDayOf(tomorrow.toISOString()) === day ? t('agenda.tomorrow', { date: long }) : long}</time>;
}

/** Today's local date, `YYYY-MM-DD`, changing at midnight while the page stays open. */
function useLocalToday(): string {
  const read = () => localDayOf(new Date().toISOString());
  const [today, setToday] = useState(read);
  useEffect(() => {
    const timer = window.setInterval(() => setToday(read()), 60_000);
    return () => window.clearInterval(timer);
  }, []);
  return today;
}
