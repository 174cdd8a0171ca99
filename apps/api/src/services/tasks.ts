import {
  type Database,
  isInvalidParameter,
  isQueryCanceled,
  type Kysely,
  labels,
  type ProjectColor,
  projects,
  type TaskPriority,
  type TaskStatus,
  taskEvents,
  tasks,
  withStatementTimeout,
} from '@stm/db';
import {
  type AdminListTasksQuery,
  type bulkDeleteTasksInput,
  type bulkUpdateTasksInput,
  type createTaskInput,
  type ListTasksQuery,
  type moveTaskInput,
  type TaskSort,
  taskListOrder,
  type updateTaskInput,
} from '@stm/validators';
import { z } from 'zod';
import { DomainError } from '../errors';
import { type Access, authorize, type Caller, factsOfTask } from './access';
import type { ClientInfo } from './audit';
import { decodeCursor, type Page, pageOf } from './cursor';
import { recordChange, recordChanges } from './events';
import { auditAdministered, factsOf, type ProjectCaller, projectNotFound } from './projects';
import type { NotificationsService } from './notifications';
import type { Quotas } from './quotas';
import { changesBetween, type NewTaskEvent, recordTaskEvents, type TaskEvent, toTaskEvent, trackedFields, type UnassignReason } from './task-history';
import { decodeTaskCursor, encodeTaskCursor } from './task-cursor';

export type { Caller as TaskCaller } from './access';

export interface Task {
  id: number;
  projectId: number;
  createdBy: number | null;
  /** Deprecated: the same as `createdBy`, kept for clients written when a task had an owner. */
  ownerId: number | null;
  assignee: { id: number; username: string } | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  /** The order within its status column (exact decimal text). */
  position: string;
  labels: { id: number; name: string; color: ProjectColor }[];
  dueAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface AdminTask extends Task {
  /** The creator's username; null once that account is deleted. */
  ownerUsername: string | null;
}

export interface TaskStats {
  byStatus: Record<TaskStatus, number>;
  overdue: number;
  /** Not done and due today, in the time zone asked for. */
  dueToday: number;
  /** Not done and due in the seven days after today. */
  upcoming: number;
  /** The last 30 days of the time zone asked for, oldest first, including today; days without completions count 0. */
  completedPerDay: { date: string; count: number }[];
}

const SORT_COLUMNS: Record<TaskSort, tasks.TaskSortColumn> = {
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  dueAt: 'due_at',
  priority: 'priority_rank',
  position: 'position',
};

const STATS_DAYS = 30;
const DAY_MS = 86_400_000;

function toTask(row: tasks.TaskRow): Task {
  return {
    id: row.id,
    projectId: row.project_id,
    createdBy: row.created_by,
    ownerId: row.created_by,
    assignee: row.assignee_id === null || row.assignee_username === null ? null : { id: row.assignee_id, username: row.assignee_username },
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    position: row.position,
    labels: row.labels.map(labelRef),
    dueAt: row.due_at,
    completedAt: row.completed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

function toDate(value: string | null | undefined): Date | null | undefined {
  return value === undefined || value === null ? value : new Date(value);
}

/** One answer for "missing" and "someone else's": the status and body must not tell them apart. */
function taskNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Task not found');
}

function versionConflict(currentVersion: number): DomainError {
  return new DomainError('VERSION_CONFLICT', 'The task was changed by someone else; reload it and try again', {
    field: 'expectedVersion',
    details: { currentVersion },
  });
}

const userRef = (id: number | null, username: string | null) => (id === null || username === null ? null : { id, username });

const idCursor = z.object({ i: z.number().int().positive() });

/**
 * Tasks and who may reach them: the members of a task's project, each as their role allows
 * (`authorize`), and administrators everywhere. A change and its history are written in one
 * transaction, with the task locked, so concurrent changes apply one after the other.
 */
export interface TasksServiceOptions {
  /** The most one search statement may take (PostgreSQL; PGlite runs one statement at a time anyway). */
  searchTimeoutMillis: number;
  quotas: Quotas;
  notifications: NotificationsService;
}

/** Lists count their matches up to this many; beyond, the total says "at least". */
export const LIST_TOTAL_CAP = 10_000;

export class TasksService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: TasksServiceOptions,
  ) {}

  /** A new task in the given project, or the caller's inbox, at the top of its status column. */
  async create(caller: ProjectCaller, input: z.output<typeof createTaskInput>, client: ClientInfo | null): Promise<Task> {
    return this.db.transaction().execute(async (trx) => {
      const projectId = input.projectId ?? (await projects.ensureInbox(trx, caller.id));
      // Shared: the assignee must stay a member until this task is in.
      const project = await projects.findProjectAccess(trx, projectId, caller.id, { lock: 'share' });
      const access = authorize(caller, project && factsOf(project), 'write', () => projectNotFoundIn('projectId'));
      const assigneeId = input.assigneeId ?? null;
      if (assigneeId !== null) await this.#assertMember(trx, projectId, assigneeId);
      const labelIds = input.labelIds ?? [];
      await this.#assertProjectLabels(trx, projectId, labelIds);
      const row = await tasks.insertTask(
        trx,
        {
          projectId,
          createdBy: caller.id,
          assigneeId,
          title: input.title,
          description: input.description,
          status: input.status,
          priority: input.priority,
          dueAt: toDate(input.dueAt) ?? null,
        },
        labelIds,
      );
      await this.options.quotas.assertWithin(trx, caller, 'tasks');
      const named = project as { id: number; name: string };
      const events: NewTaskEvent[] = [
        {
          kind: 'created',
          details: { title: row.title, status: row.status, priority: row.priority, project: { id: named.id, name: named.name } },
          taskId: row.id,
          projectId,
          actorId: caller.id,
        },
      ];
      if (row.assignee_id !== null) {
        events.push({
          kind: 'assigned',
          details: { from: null, to: userRef(row.assignee_id, row.assignee_username) },
          taskId: row.id,
          projectId,
          actorId: caller.id,
        });
        await this.options.notifications.assigned(trx, { taskId: row.id, assigneeId: row.assignee_id, actorId: caller.id });
      }
      if (row.labels.length > 0) events.push({ kind: 'labelled', details: { added: row.labels, removed: [] }, taskId: row.id, projectId, actorId: caller.id });
      await recordTaskEvents(trx, events);
      await auditAdministered(trx, caller, access, named, client, 'tasks.create', { taskId: row.id });
      const task = toTask(row);
      await recordChange(trx, { projectId, kind: 'task.created', entityId: task.id, actorId: caller.id, payload: { task } });
      return task;
    });
  }

  async get(caller: Caller, id: number): Promise<Task> {
    const row = await tasks.findTask(this.db, id, caller.id);
    authorize(caller, row && factsOfTask(row), 'read', taskNotFound);
    return toTask(row as tasks.TaskRow);
  }

  /**
   * Changes the fields sent. A new project needs write access there too: the task's labels stay
   * behind (unless new ones of that project are sent) and an assignee who is not a member there is
   * unassigned. A new status puts the task at the top of that column.
   */
  async update(caller: ProjectCaller, input: z.output<typeof updateTaskInput>, client: ClientInfo | null): Promise<Task> {
    const { id, expectedVersion, dueAt, labelIds, assigneeId, projectId, ...fields } = input;
    return this.db.transaction().execute(async (trx) => {
      const { task, access } = await this.#lock(trx, caller, id);
      if (expectedVersion !== undefined && expectedVersion !== task.version) throw versionConflict(task.version);
      const changes: tasks.TaskChanges = { ...fields, ...(dueAt === undefined ? {} : { dueAt: toDate(dueAt) ?? null }) };
      const events: Omit<NewTaskEvent, 'taskId' | 'projectId' | 'actorId'>[] = [];
      const audits: { access: Access; project: { id: number; name: string } }[] = [{ access, project: { id: task.project_id, name: task.project_name } }];

      let target = { id: task.project_id, name: task.project_name };
      const moving = projectId !== undefined && projectId !== task.project_id;
      if (moving) {
        const destination = await projects.findProjectAccess(trx, projectId, caller.id, { lock: 'share' });
        const destinationAccess = authorize(caller, destination && factsOf(destination), 'write', () => projectNotFoundIn('projectId'));
        target = { id: projectId, name: (destination as { name: string }).name };
        audits.push({ access: destinationAccess, project: target });
        changes.projectId = projectId;
        events.push({ kind: 'moved', details: { from: { id: task.project_id, name: task.project_name }, to: target } });
      }

      let assignee = assigneeId === undefined ? task.assignee_id : assigneeId;
      // The members and labels this change relies on stay as they are until it is in: a member
      // leaving or a label being deleted waits for it (a move holds the destination already).
      if (!moving && ((assigneeId !== undefined && assigneeId !== null) || labelIds !== undefined)) {
        await projects.findProjectAccess(trx, target.id, caller.id, { lock: 'share' });
      }
      let reason: UnassignReason | undefined;
      if (assignee !== null && (assigneeId !== undefined || moving)) {
        if (assigneeId !== undefined) await this.#assertMember(trx, target.id, assignee);
        else if ((await projects.findMembers(trx, target.id, [assignee])).length === 0) {
          assignee = null;
          reason = 'moved_to_other_project';
        }
      }
      if (assignee !== task.assignee_id) changes.assigneeId = assignee;

      const current = labelIds !== undefined || moving ? await labels.findTaskLabels(trx, id) : [];
      const wanted = labelIds ?? (moving ? [] : undefined);
      if (wanted !== undefined) {
        const valid = await this.#assertProjectLabels(trx, target.id, wanted);
        const removed = current.filter((label) => !wanted.includes(label.id));
        const added = valid.filter((label) => !current.some((had) => had.id === label.id));
        await labels.removeTaskLabels(
          trx,
          id,
          removed.map((label) => label.id),
        );
        await labels.addTaskLabels(
          trx,
          id,
          added.map((label) => label.id),
        );
        if (added.length > 0 || removed.length > 0) {
          events.push({ kind: 'labelled', details: { added: added.map(labelRef), removed: removed.map(labelRef) } });
        }
      }

      const after = await tasks.updateTask(trx, id, changes);
      const fieldChanges = changesBetween(trackedFields(task), trackedFields(after));
      if (fieldChanges) events.splice(moving ? 1 : 0, 0, { kind: 'updated', details: { changes: fieldChanges } });
      if (changes.assigneeId !== undefined) {
        if (after.assignee_id !== null) await this.options.notifications.assigned(trx, { taskId: id, assigneeId: after.assignee_id, actorId: caller.id });
        events.push({
          kind: 'assigned',
          details: {
            from: userRef(task.assignee_id, task.assignee_username),
            to: userRef(after.assignee_id, after.assignee_username),
            ...(reason ? { reason } : {}),
          },
        });
      }
      await recordTaskEvents(
        trx,
        events.map((event) => ({ ...event, taskId: id, projectId: after.project_id, actorId: caller.id }) as NewTaskEvent),
      );
      for (const audit of audits) await auditAdministered(trx, caller, audit.access, audit.project, client, 'tasks.update', { taskId: id });
      const updated = toTask(after);
      // Members of the project it left may not see the one it joined: there it is simply gone.
      await recordChanges(
        trx,
        moving
          ? [
              { projectId: task.project_id, kind: 'task.deleted', entityId: id, actorId: caller.id, payload: { moved: true } },
              { projectId: after.project_id, kind: 'task.created', entityId: id, actorId: caller.id, payload: { task: updated } },
            ]
          : [{ projectId: after.project_id, kind: 'task.updated', entityId: id, actorId: caller.id, payload: { task: updated } }],
      );
      return updated;
    });
  }

  /**
   * Places a task in a status column of its project: after `afterId`, before `beforeId`, or at the
   * top. Concurrent moves take turns per column, so none is lost and none lands where another did.
   */
  async move(caller: ProjectCaller, input: z.output<typeof moveTaskInput>, client: ClientInfo | null): Promise<Task> {
    return this.db.transaction().execute(async (trx) => {
      // The column is locked before the task (see `lockColumn`), and only for a caller who may
      // write there; under the task's lock, it must still be the column the task goes to.
      const seen = await tasks.findTaskAccess(trx, input.id, caller.id);
      if (!seen) throw taskNotFound();
      authorize(caller, factsOfTask(seen), 'write', taskNotFound);
      const column = { projectId: seen.project_id, status: input.status ?? seen.status };
      await tasks.lockColumn(trx, column);
      const { task, access } = await this.#lock(trx, caller, input.id);
      if (task.project_id !== column.projectId || (input.status === undefined && task.status !== column.status)) throw versionConflict(task.version);
      if (input.expectedVersion !== undefined && input.expectedVersion !== task.version) throw versionConflict(task.version);
      const status = column.status;
      const anchor: tasks.ColumnAnchor =
        input.afterId !== undefined ? { afterId: input.afterId } : input.beforeId !== undefined ? { beforeId: input.beforeId } : { top: true };
      const position = await tasks.placeInColumn(trx, column, task.id, anchor);
      if (position === undefined) {
        throw new DomainError('VALIDATION_FAILED', 'That task is not in the column this one is moving to', {
          field: input.afterId !== undefined ? 'afterId' : 'beforeId',
        });
      }
      const after = await tasks.updateTask(trx, task.id, { ...(status === task.status ? {} : { status }), position });
      const fieldChanges = changesBetween(trackedFields(task), trackedFields(after));
      if (fieldChanges) {
        await recordTaskEvents(trx, [{ kind: 'updated', details: { changes: fieldChanges }, taskId: task.id, projectId: task.project_id, actorId: caller.id }]);
      }
      await auditAdministered(trx, caller, access, { id: task.project_id, name: task.project_name }, client, 'tasks.move', { taskId: task.id });
      const moved = toTask(after);
      await recordChange(trx, { projectId: task.project_id, kind: 'task.updated', entityId: task.id, actorId: caller.id, payload: { task: moved } });
      return moved;
    });
  }

  async delete(caller: ProjectCaller, id: number, client: ClientInfo | null, expectedVersion?: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { task, access } = await this.#lock(trx, caller, id);
      if (expectedVersion !== undefined && expectedVersion !== task.version) throw versionConflict(task.version);
      await tasks.deleteTasks(trx, [id]);
      await auditAdministered(trx, caller, access, { id: task.project_id, name: task.project_name }, client, 'tasks.delete', { taskId: id, title: task.title });
      await recordChange(trx, { projectId: task.project_id, kind: 'task.deleted', entityId: id, actorId: caller.id });
    });
  }

  /** All or nothing: one id out of reach and no task changes. */
  async bulkUpdate(caller: ProjectCaller, input: z.output<typeof bulkUpdateTasksInput>, client: ClientInfo | null): Promise<number> {
    const { dueAt, ...rest } = input.changes;
    const changes: tasks.TaskChanges = { ...rest, ...(dueAt === undefined ? {} : { dueAt: toDate(dueAt) ?? null }) };
    return this.db.transaction().execute(async (trx) => {
      const locked = await this.#lockAll(trx, caller, input.ids, client, 'tasks.bulkUpdate');
      const updated = await tasks.updateTasks(trx, input.ids, changes);
      const events: NewTaskEvent[] = [];
      for (const task of locked) {
        const before = trackedFields(task);
        const fieldChanges = changesBetween(before, {
          ...before,
          ...(changes.status === undefined ? {} : { status: changes.status }),
          ...(changes.priority === undefined ? {} : { priority: changes.priority }),
          ...(changes.dueAt === undefined ? {} : { dueAt: changes.dueAt }),
        });
        if (fieldChanges) events.push({ kind: 'updated', details: { changes: fieldChanges }, taskId: task.id, projectId: task.project_id, actorId: caller.id });
      }
      await recordTaskEvents(trx, events);
      // Without the task: a client reloads the lists these tasks are in, once per batch.
      await recordChanges(
        trx,
        locked.map((task) => ({ projectId: task.project_id, kind: 'task.updated' as const, entityId: task.id, actorId: caller.id, payload: { bulk: true } })),
      );
      return updated;
    });
  }

  async bulkDelete(caller: ProjectCaller, input: z.output<typeof bulkDeleteTasksInput>, client: ClientInfo | null): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const locked = await this.#lockAll(trx, caller, input.ids, client, 'tasks.bulkDelete');
      const deleted = await tasks.deleteTasks(trx, input.ids);
      await recordChanges(
        trx,
        locked.map((task) => ({ projectId: task.project_id, kind: 'task.deleted' as const, entityId: task.id, actorId: caller.id })),
      );
      return deleted;
    });
  }

  /**
   * One project's tasks, or those of every project of the caller's that is not archived (for
   * administrators too: their own). The membership check rides in the page's own statement; only
   * an empty page of a project takes a second look, to tell "no tasks" from "not yours".
   */
  async list(caller: Caller, query: ListTasksQuery): Promise<Page<Task> & { total: tasks.TaskTotal | null }> {
    const scope: tasks.TaskScope =
      query.projectId === undefined ? { memberOf: caller.id } : { project: query.projectId, viewer: { userId: caller.id, isAdmin: caller.role === 'admin' } };
    const assignee = query.assignee === 'me' ? caller.id : query.assignee;
    const { rows, nextCursor, total } = await this.#page(query, scope, assignee === undefined ? {} : { assignee });
    if (query.projectId !== undefined && rows.length === 0) {
      const project = await projects.findProjectAccess(this.db, query.projectId, caller.id);
      authorize(caller, project && factsOf(project), 'read', projectNotFound);
    }
    return { items: rows.map(toTask), nextCursor, total };
  }

  /** Every project's tasks, with the creator's name: administrators only. */
  async listAll(caller: Caller, query: AdminListTasksQuery): Promise<Page<AdminTask> & { total: tasks.TaskTotal | null }> {
    if (caller.role !== 'admin') throw new DomainError('FORBIDDEN', 'Administrators only');
    const creator: Pick<tasks.TaskFilters, 'createdBy' | 'creatorNameContains'> = {
      ...(query.ownerId === undefined ? {} : { createdBy: query.ownerId }),
      ...(query.owner === undefined ? {} : { creatorNameContains: query.owner }),
    };
    const scope: tasks.TaskScope =
      query.projectId === undefined ? { allProjects: true } : { project: query.projectId, viewer: { userId: caller.id, isAdmin: true } };
    const { rows, nextCursor, total } = await this.#page(query, scope, creator);
    const usernames = await tasks.findUsernames(this.db, [...new Set(rows.flatMap((row) => (row.created_by === null ? [] : [row.created_by])))]);
    const items = rows.map((row) => ({ ...toTask(row), ownerUsername: row.created_by === null ? null : (usernames.get(row.created_by) ?? null) }));
    return { items, nextCursor, total };
  }

  async #withinSearchBudget<T>(search: () => Promise<T>): Promise<T> {
    try {
      return await search();
    } catch (error) {
      if (!isQueryCanceled(error)) throw error;
      throw new DomainError('SEARCH_TIMEOUT', 'The search took longer than allowed; narrow it (a project, a status, more words) or try again shortly', {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
  }

  async #page(
    query: ListTasksQuery | AdminListTasksQuery,
    scope: tasks.TaskScope,
    extra: Pick<tasks.TaskFilters, 'assignee' | 'createdBy' | 'creatorNameContains'>,
  ) {
    const order = taskListOrder(query);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor, query.sort, order);
    const search = query.search?.trim();
    const filters: tasks.TaskFilters = {
      ...(query.status === undefined ? {} : { statuses: query.status }),
      ...(query.priority === undefined ? {} : { priorities: query.priority }),
      ...(search ? { search } : {}),
      ...(query.dueBefore === undefined ? {} : { dueBefore: new Date(query.dueBefore) }),
      ...(query.dueAfter === undefined ? {} : { dueAfter: new Date(query.dueAfter) }),
      ...(query.overdue === undefined ? {} : { overdue: query.overdue }),
      ...(query.label === undefined ? {} : { labelIds: query.label }),
      ...extra,
    };
    const read = (db: Kysely<Database>) =>
      tasks.listTasksPage(db, {
        scope,
        filters,
        sort: SORT_COLUMNS[query.sort],
        order,
        // One row more than asked tells whether another page exists, without counting.
        limit: query.limit + 1,
        ...(after === undefined ? {} : { after }),
      });
    // What a search costs depends on its words; one caller's must not take the database from the rest.
    const rows = search ? await this.#withinSearchBudget(() => withStatementTimeout(this.db, this.options.searchTimeoutMillis, read)) : await read(this.db);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const more = rows.length > query.limit;
    const nextCursor = more && last ? encodeTaskCursor(query.sort, order, { key: last.sort_key, id: last.id }) : null;
    // The first page carries the total; the pages after it would only count the same again.
    // A first page that is all there is counts itself.
    let total: tasks.TaskTotal | null = null;
    if (query.cursor === undefined)
      total = more ? await this.#total(scope, filters, search !== undefined && search !== '') : { count: page.length, capped: false };
    return { rows: page, nextCursor, total };
  }

  /** A list's total, bounded; a search that cannot be counted within its time budget goes without one (null) rather than fail the page. */
  async #total(scope: tasks.TaskScope, filters: tasks.TaskFilters, searching: boolean): Promise<tasks.TaskTotal | null> {
    const count = (db: Kysely<Database>) => tasks.countTasksUpTo(db, { scope, filters }, LIST_TOTAL_CAP);
    if (!searching) return count(this.db);
    try {
      return await withStatementTimeout(this.db, this.options.searchTimeoutMillis, count);
    } catch (error) {
      if (isQueryCanceled(error)) return null;
      throw error;
    }
  }

  /** Counts of one project's tasks, or of every active project of the caller's; one snapshot, one "now". */
  async stats(caller: Caller, query: { projectId?: number | undefined; timeZone?: string | undefined } = {}): Promise<TaskStats> {
    let scope: tasks.CountScope = { memberOf: caller.id };
    if (query.projectId !== undefined) {
      const project = await projects.findProjectAccess(this.db, query.projectId, caller.id);
      authorize(caller, project && factsOf(project), 'read', projectNotFound);
      scope = { project: query.projectId };
    }
    const timeZone = query.timeZone ?? 'UTC';
    const { counts, perDay } = await this.db
      .transaction()
      .execute(async (trx) => ({
        counts: await tasks.countTasks(trx, scope, timeZone),
        perDay: await tasks.countCompletedPerDay(trx, scope, STATS_DAYS, timeZone),
      }))
      .catch((error: unknown) => {
        // A name the runtime knows but the database's zone data does not.
        if (isInvalidParameter(error)) throw new DomainError('VALIDATION_FAILED', 'Unknown time zone', { field: 'timeZone' });
        throw error;
      });
    const byDay = new Map(perDay.days.map((row) => [row.day, row.count]));
    const today = Date.parse(`${perDay.today}T00:00:00Z`);
    const completedPerDay = Array.from({ length: STATS_DAYS }, (_, index) => {
      const date = new Date(today - (STATS_DAYS - 1 - index) * DAY_MS).toISOString().slice(0, 10);
      return { date, count: byDay.get(date) ?? 0 };
    });
    return {
      byStatus: { todo: counts.todo, in_progress: counts.in_progress, done: counts.done },
      overdue: counts.overdue,
      dueToday: counts.due_today,
      upcoming: counts.upcoming,
      completedPerDay,
    };
  }

  /** What happened to a task, newest first: any member may read it, nobody may change it. */
  async history(caller: Caller, query: { taskId: number; limit: number; cursor?: string | undefined }): Promise<Page<TaskEvent>> {
    const task = await tasks.findTaskAccess(this.db, query.taskId, caller.id);
    authorize(caller, task && factsOfTask(task), 'read', taskNotFound);
    const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, idCursor).i;
    const rows = await taskEvents.listTaskEvents(this.db, query.taskId, { beforeId, limit: query.limit + 1 });
    return pageOf(rows, query.limit, toTaskEvent, (last) => ({ i: last.id }));
  }

  /** The task locked, if the caller may change it. */
  async #lock(trx: Kysely<Database>, caller: Caller, id: number) {
    const [task] = await tasks.lockTasks(trx, [id], caller.id);
    const access = authorize(caller, task && factsOfTask(task), 'write', taskNotFound);
    return { task: task as tasks.LockedTask, access };
  }

  /**
   * The tasks locked, if the caller may change every one: an id out of reach is reported like a
   * missing one (naming it tells nothing new), one the caller may only read refuses them all.
   */
  async #lockAll(trx: Kysely<Database>, caller: ProjectCaller, ids: number[], client: ClientInfo | null, operation: string) {
    const locked = await tasks.lockTasks(trx, ids, caller.id);
    const visible = locked.filter((task) => task.role !== null || caller.role === 'admin');
    if (visible.length < ids.length) {
      const found = new Set(visible.map((task) => task.id));
      throw new DomainError('NOT_FOUND', 'Some of these tasks were not found; nothing was changed', {
        field: 'ids',
        details: { missingIds: ids.filter((id) => !found.has(id)) },
      });
    }
    const administered = new Map<number, { id: number; name: string }>();
    for (const task of visible) {
      const access = authorize(caller, factsOfTask(task), 'write', taskNotFound);
      if (access.asAdministrator) administered.set(task.project_id, { id: task.project_id, name: task.project_name });
    }
    for (const project of administered.values()) {
      await auditAdministered(trx, caller, { role: null, asAdministrator: true }, project, client, operation, {
        taskIds: visible.filter((task) => task.project_id === project.id).map((task) => task.id),
      });
    }
    return visible;
  }

  async #assertMember(trx: Kysely<Database>, projectId: number, userId: number): Promise<void> {
    const [member] = await projects.findMembers(trx, projectId, [userId]);
    if (!member?.is_active) throw new DomainError('VALIDATION_FAILED', 'The assignee must be an active member of the project', { field: 'assigneeId' });
  }

  /** The labels named, which must all be the project's. */
  async #assertProjectLabels(trx: Kysely<Database>, projectId: number, labelIds: number[]) {
    const found = await labels.findProjectLabels(trx, projectId, labelIds);
    if (found.length !== labelIds.length) {
      const known = new Set(found.map((label) => label.id));
      throw new DomainError('VALIDATION_FAILED', "Labels must be the task's project's", {
        field: 'labelIds',
        details: { unknownIds: labelIds.filter((id) => !known.has(id)) },
      });
    }
    return found;
  }
}

function labelRef(label: { id: number; name: string; color: ProjectColor }) {
  return { id: label.id, name: label.name, color: label.color };
}

/** A project named in the input that the caller cannot write to, said as if it did not exist. */
function projectNotFoundIn(field: string): DomainError {
  return new DomainError('NOT_FOUND', 'Project not found', { field });
}
