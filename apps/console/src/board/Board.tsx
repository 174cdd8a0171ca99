import {
  type Announcements,
  closestCorners,
  DndContext,
  type DragEndEvent,
  type DragOverEvent,
  DragOverlay,
  PointerSensor,
  useDroppable,
  useSensor,
  useSensors,
} from '@dnd-kit/core';
import { SortableContext, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import type { TaskStatus } from '@stm/validators';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { type KeyboardEvent, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Empty, Loading } from '../components/Feedback';
import { LoadFailed, StaleNotice, LoadMore, usePagedItems } from '../components/PagedList';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { LabelChip } from '../projects/parts';
import type { Project } from '../projects/queries';
import type { Task } from '../tasks/cache';
import { DueLabel, PriorityLabel, STATUS_LABELS } from '../tasks/parts';
import { anchorOf, BOARD_STATUSES, type Columns, columnOf, moveTo, type Step, step } from './moves';

/** Cards a column loads at a time; more come as the reader asks. */
const COLUMN_PAGE = 50;

const KEY_STEPS: Record<string, Step> = { ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right' };

/** One column's tasks in manual order, a page at a time. */
function useColumn(projectId: number, status: TaskStatus) {
  const trpc = useTRPC();
  const list = useInfiniteQuery(
    trpc.tasks.list.infiniteQueryOptions(
      { projectId, status: [status], sort: 'position', order: 'asc', limit: COLUMN_PAGE },
      { getNextPageParam: (last) => last.nextCursor },
    ),
  );
  return { list, items: usePagedItems(list.data) };
}

function Card({
  task,
  canWrite,
  instructions,
  onOpen,
  onStep,
}: {
  task: Task;
  canWrite: boolean;
  instructions: string;
  onOpen(): void;
  onStep(direction: Step): void;
}) {
  const { t } = useI18n();
  const { setNodeRef, listeners, transform, transition, isDragging } = useSortable({ id: task.id, disabled: !canWrite, data: { type: 'task' } });
  const style = { transform: CSS.Transform.toString(transform), transition };
  const keys = (event: KeyboardEvent) => {
    const direction = KEY_STEPS[event.key];
    if (!canWrite || !event.altKey || !direction) return;
    event.preventDefault();
    onStep(direction);
  };
  return (
    <li
      ref={setNodeRef}
      style={style}
      className={isDragging ? 'card card-dragging' : 'card'}
      data-task-id={task.id}
      // The pointer drags the card; the keyboard moves it with Alt and the arrows (`keys`).
      {...(canWrite ? listeners : {})}
    >
      <button type="button" className="card-title" onClick={onOpen} onKeyDown={keys} aria-describedby={canWrite ? instructions : undefined}>
        {task.title}
      </button>
      <p className="card-meta">
        <PriorityLabel priority={task.priority} short />
        <DueLabel task={task} />
        {task.assignee ? <span className="assignee">{t('tasks.assignedTo', { username: task.assignee.username })}</span> : null}
      </p>
      {task.labels.length > 0 ? (
        <p className="chips">
          {task.labels.map((label) => (
            <LabelChip key={label.id} label={label} />
          ))}
        </p>
      ) : null}
    </li>
  );
}

function Column({
  status,
  tasks,
  list,
  canWrite,
  instructions,
  onOpen,
  onStep,
}: {
  status: TaskStatus;
  tasks: Task[];
  list: ReturnType<typeof useColumn>['list'];
  canWrite: boolean;
  instructions: string;
  onOpen(task: Task): void;
  onStep(task: Task, direction: Step): void;
}) {
  const { t, plural } = useI18n();
  const headingId = useId();
  // An empty column still takes cards dropped on it.
  const { setNodeRef, isOver } = useDroppable({ id: `column:${status}`, data: { type: 'column', status } });
  let body;
  if (list.isPending) body = <Loading />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  return (
    <section className={`board-column column-${status}`} aria-labelledby={headingId}>
      <h2 id={headingId} className="column-title">
        {t(STATUS_LABELS[status])} <span className="column-count">· {plural('board.count', tasks.length)}</span>
      </h2>
      <StaleNotice query={list} />
      {body}
      <SortableContext items={tasks.map((task) => task.id)} strategy={verticalListSortingStrategy}>
        <ol ref={setNodeRef} className={isOver ? 'card-list card-list-over' : 'card-list'}>
          {tasks.map((task) => (
            <Card
              key={task.id}
              task={task}
              canWrite={canWrite}
              instructions={instructions}
              onOpen={() => onOpen(task)}
              onStep={(direction) => onStep(task, direction)}
            />
          ))}
        </ol>
      </SortableContext>
      {list.isSuccess && tasks.length === 0 ? <Empty title={t('board.emptyColumn')} /> : null}
      <LoadMore list={list} />
    </section>
  );
}

/**
 * A project's tasks as a board: a column per status, each in its manual order. A card is dragged
 * with a pointer, or moved with Alt and the arrow keys from its title; either way the move is
 * shown at once, sent to the server, announced to screen readers, and undone if refused.
 */
export function Board({ project, canWrite, onOpen }: { project: Project; canWrite: boolean; onOpen(task: Task): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const instructions = useId();
  const todo = useColumn(project.id, 'todo');
  const inProgress = useColumn(project.id, 'in_progress');
  const done = useColumn(project.id, 'done');
  const lists = { todo: todo.list, in_progress: inProgress.list, done: done.list };
  const tasks = useMemo(
    () => new Map([...todo.items, ...inProgress.items, ...done.items].map((task) => [task.id, task])),
    [todo.items, inProgress.items, done.items],
  );
  const fromServer: Columns = {
    todo: todo.items.map((task) => task.id),
    in_progress: inProgress.items.map((task) => task.id),
    done: done.items.map((task) => task.id),
  };
  // What the board shows while a card is dragged, and after a move until the server's order is back.
  const [shown, setShown] = useState<Columns | null>(null);
  const [activeId, setActiveId] = useState<number | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const columns = shown ?? fromServer;
  // A card moved with the keyboard may now be in another column, a new element, and may move
  // again when the server's order comes back: while its moves are under way, a focus lost with the
  // old element goes back to its title.
  const refocus = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (refocus.current === null) return;
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (lost) document.querySelector<HTMLElement>(`[data-task-id="${refocus.current}"] .card-title`)?.focus();
  });
  // Moves sent and not yet answered: the board shows its own order until the last one is.
  const pending = useRef(0);

  const titleOf = (id: number | string) => tasks.get(Number(id))?.title ?? '';
  const columnName = (status: TaskStatus | undefined) => (status ? t(STATUS_LABELS[status]) : '');
  const placeOf = (board: Columns, id: number) => {
    const status = columnOf(board, id);
    return { column: columnName(status), position: status ? board[status].indexOf(id) + 1 : 0, count: status ? board[status].length : 0 };
  };

  // The callbacks touch refs, so they are given to the hook itself (which calls them later), not to a function called while rendering.
  const move = useMutation({
    ...trpc.tasks.move.mutationOptions(),
    onError: (error) => toast.show(describeError(error, t).message, 'error'),
    onSettled: async () => {
      await queryClient.invalidateQueries(trpc.tasks.pathFilter());
      pending.current -= 1;
      if (pending.current === 0) {
        setShown(null);
        refocus.current = null;
      }
    },
  });

  /** Shows `board` at once and asks the server to place the task as it is placed there. */
  const commit = (board: Columns, id: number) => {
    const status = columnOf(board, id);
    if (!status) return;
    setShown(board);
    setAnnouncement(t('board.moved', { title: titleOf(id), ...placeOf(board, id) }));
    pending.current += 1;
    move.mutate({ id, status, ...anchorOf(board, id) });
  };

  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 6 } }));
  const statusOf = (over: DragOverEvent['over'], board: Columns): TaskStatus | undefined => {
    if (!over) return undefined;
    const data = over.data.current as { type?: string; status?: TaskStatus } | undefined;
    return data?.type === 'column' ? data.status : columnOf(board, Number(over.id));
  };

  const announcements: Announcements = {
    onDragStart: ({ active }) => t('board.pickedUp', { title: titleOf(active.id) }),
    onDragOver: ({ active, over }) => (over ? t('board.over', { title: titleOf(active.id), column: columnName(statusOf(over, columns)) }) : undefined),
    onDragEnd: ({ active, over }) => (over ? t('board.dropped', { title: titleOf(active.id), column: columnName(statusOf(over, columns)) }) : undefined),
    onDragCancel: ({ active }) => t('board.cancelled', { title: titleOf(active.id) }),
  };

  const onDragOver = ({ active, over }: DragOverEvent) => {
    const board = shown ?? fromServer;
    const id = Number(active.id);
    const from = columnOf(board, id);
    const to = statusOf(over, board);
    if (!from || !to || from === to) return;
    // Into another column: where the pointer is, or at its end.
    const overIndex = over && over.data.current?.type !== 'column' ? board[to].indexOf(Number(over.id)) : board[to].length;
    setShown(moveTo(board, id, to, overIndex < 0 ? board[to].length : overIndex));
  };

  const onDragEnd = ({ active, over }: DragEndEvent) => {
    setActiveId(null);
    const board = shown ?? fromServer;
    const id = Number(active.id);
    const to = statusOf(over, board);
    if (!over || !to) {
      setShown(null);
      return;
    }
    const overIndex = over.data.current?.type === 'column' ? board[to].length - 1 : board[to].indexOf(Number(over.id));
    const next = moveTo(board, id, to, overIndex < 0 ? board[to].length : overIndex);
    const original = fromServer;
    const unchanged = columnOf(original, id) === to && original[to].indexOf(id) === next[to].indexOf(id);
    if (unchanged) setShown(null);
    else commit(next, id);
  };

  const onStep = (task: Task, direction: Step) => {
    const next = step(columns, task.id, direction);
    if (!next) {
      setAnnouncement(t('board.cannotMove', { title: task.title }));
      return;
    }
    refocus.current = task.id;
    commit(next, task.id);
  };

  const active = activeId === null ? undefined : tasks.get(activeId);
  return (
    <div className="board-wrap">
      <p id={instructions} className="visually-hidden">
        {t('board.instructions')}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      <DndContext
        sensors={sensors}
        collisionDetection={closestCorners}
        accessibility={{ announcements, screenReaderInstructions: { draggable: t('board.instructions') } }}
        onDragStart={({ active: started }) => {
          setActiveId(Number(started.id));
          setShown(fromServer);
        }}
        onDragOver={onDragOver}
        onDragEnd={onDragEnd}
        onDragCancel={() => {
          setActiveId(null);
          setShown(null);
        }}
      >
        <div className="board">
          {BOARD_STATUSES.map((status) => (
            <Column
              key={status}
              status={status}
              tasks={columns[status].map((id) => tasks.get(id)).filter((task): task is Task => task !== undefined)}
              list={lists[status]}
              canWrite={canWrite}
              instructions={instructions}
              onOpen={onOpen}
              onStep={onStep}
            />
          ))}
        </div>
        <DragOverlay>{active ? <div className="card card-overlay">{active.title}</div> : null}</DragOverlay>
      </DndContext>
    </div>
  );
}

export default Board;
