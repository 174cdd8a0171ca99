import { type Database, type Kysely, type TaskPriority, type TaskStatus, tasks } from '@stm/db';
import type { bulkDeleteTasksInput, bulkUpdateTasksInput, createTaskInput, updateTaskInput } from '@stm/validators';
import type { AdminListTasksQuery, ListTasksQuery, TaskSort } from '@stm/validators';
import type { z } from 'zod';
import { DomainError } from '../errors';
import type { AuthUser } from './auth';
import { decodeCursor, encodeCursor } from './task-cursor';

/** Who is asking: every rule below is decided from this, never from what the client sends. */
export type TaskCaller = Pick<AuthUser, 'id' | 'role'>;

export interface Task {
  id: number;
  ownerId: number;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface AdminTask extends Task {
  ownerUsername: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface TaskStats {
  byStatus: Record<TaskStatus, number>;
  overdue: number;
  /** The last 30 UTC days, oldest first, including today; days without completions count 0. */
  completedPerDay: { date: string; count: number }[];
}

type TaskRow = Awaited<ReturnType<typeof tasks.findTask>> & {};

const SORT_COLUMNS: Record<TaskSort, tasks.TaskSortColumn> = {
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  dueAt: 'due_at',
  priority: 'priority_rank',
};

const STATS_DAYS = 30;
const DAY_MS = 86_400_000;

function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
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

/**
 * Tasks and who may reach them. A user reaches only their own; an administrator reaches every
 * task by id, and every owner's through `listAll`. Lists of one's own tasks (`list`, `stats`)
 * are one's own for administrators too.
 */
export class TasksService {
  constructor(private readonly db: Kysely<Database>) {}

  #scope(caller: TaskCaller): tasks.TaskScope {
    return caller.role === 'admin' ? { allOwners: true } : { ownerId: caller.id };
  }

  async create(caller: TaskCaller, input: z.output<typeof createTaskInput>): Promise<Task> {
    const row = await tasks.insertTask(this.db, {
      ownerId: caller.id,
      title: input.title,
      description: input.description,
      status: input.status,
      priority: input.priority,
      dueAt: toDate(input.dueAt) ?? null,
    });
    return toTask(row);
  }

  async get(caller: TaskCaller, id: number): Promise<Task> {
    const row = await tasks.findTask(this.db, this.#scope(caller), id);
    if (!row) throw taskNotFound();
    return toTask(row);
  }

  async update(caller: TaskCaller, input: z.output<typeof updateTaskInput>): Promise<Task> {
    const { id, expectedVersion, dueAt, ...rest } = input;
    const scope = this.#scope(caller);
    const changes: tasks.TaskChanges = { ...rest, ...(dueAt === undefined ? {} : { dueAt: toDate(dueAt) ?? null }) };
    const row = await tasks.updateTask(this.db, scope, id, changes, expectedVersion);
    if (row) return toTask(row);
    if (expectedVersion === undefined) throw taskNotFound();
    // Nothing written: either the task is out of reach, or someone else updated it first.
    const currentVersion = await tasks.findTaskVersion(this.db, scope, id);
    if (currentVersion === undefined) throw taskNotFound();
    throw new DomainError('VERSION_CONFLICT', 'The task was changed by someone else; reload it and try again', {
      field: 'expectedVersion',
      details: { currentVersion },
    });
  }

  async delete(caller: TaskCaller, id: number): Promise<void> {
    if (!(await tasks.deleteTask(this.db, this.#scope(caller), id))) throw taskNotFound();
  }

  /** All or nothing: one id out of reach and no task changes. */
  async bulkUpdate(caller: TaskCaller, input: z.output<typeof bulkUpdateTasksInput>): Promise<number> {
    const { dueAt, ...rest } = input.changes;
    const changes: tasks.TaskChanges = { ...rest, ...(dueAt === undefined ? {} : { dueAt: toDate(dueAt) ?? null }) };
    return this.db.transaction().execute(async (trx) => {
      await this.#lockAll(trx, caller, input.ids);
      return tasks.updateTasks(trx, input.ids, changes);
    });
  }

  async bulkDelete(caller: TaskCaller, input: z.output<typeof bulkDeleteTasksInput>): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await this.#lockAll(trx, caller, input.ids);
      return tasks.deleteTasks(trx, input.ids);
    });
  }

  async #lockAll(trx: Kysely<Database>, caller: TaskCaller, ids: number[]): Promise<void> {
    const locked = new Set(await tasks.lockTasks(trx, this.#scope(caller), ids));
    if (locked.size === ids.length) return;
    // Naming the ids tells nothing new: a foreign id is reported exactly like a missing one.
    throw new DomainError('NOT_FOUND', 'Some of these tasks were not found; nothing was changed', {
      field: 'ids',
      details: { missingIds: ids.filter((id) => !locked.has(id)) },
    });
  }

  /** The caller's own tasks, whatever their role. */
  async list(caller: TaskCaller, query: ListTasksQuery): Promise<Page<Task>> {
    const { rows, nextCursor } = await this.#page(query, { ownerId: caller.id });
    return { items: rows.map(toTask), nextCursor };
  }

  /** Every owner's tasks, with the owner's name: administrators only. */
  async listAll(caller: TaskCaller, query: AdminListTasksQuery): Promise<Page<AdminTask>> {
    if (caller.role !== 'admin') throw new DomainError('FORBIDDEN', 'Administrators only');
    let ownerId = query.ownerId;
    if (query.owner !== undefined) {
      const named = await tasks.findOwnerIdByUsername(this.db, query.owner);
      if (named === undefined || (ownerId !== undefined && ownerId !== named)) {
        if (query.cursor !== undefined) decodeCursor(query.cursor, query.sort, query.order);
        return { items: [], nextCursor: null };
      }
      ownerId = named;
    }
    const scope: tasks.TaskScope = ownerId === undefined ? { allOwners: true } : { ownerId };
    const { rows, nextCursor } = await this.#page(query, scope);
    const usernames = await tasks.findOwnerUsernames(this.db, [...new Set(rows.map((row) => row.owner_id))]);
    const items = rows.map((row) => ({ ...toTask(row), ownerUsername: usernames.get(row.owner_id) ?? '' }));
    return { items, nextCursor };
  }

  async #page(query: ListTasksQuery, scope: tasks.TaskScope) {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.sort, query.order);
    const search = query.search?.trim();
    const rows = await tasks.listTasksPage(this.db, {
      scope,
      filters: {
        ...(query.status === undefined ? {} : { statuses: query.status }),
        ...(query.priority === undefined ? {} : { priorities: query.priority }),
        ...(search ? { search } : {}),
        ...(query.dueBefore === undefined ? {} : { dueBefore: new Date(query.dueBefore) }),
        ...(query.dueAfter === undefined ? {} : { dueAfter: new Date(query.dueAfter) }),
        ...(query.overdue === undefined ? {} : { overdue: query.overdue }),
      },
      sort: SORT_COLUMNS[query.sort],
      order: query.order,
      // One row more than asked tells whether another page exists, without counting.
      limit: query.limit + 1,
      ...(after === undefined ? {} : { after }),
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > query.limit && last ? encodeCursor(query.sort, query.order, { key: last.sort_key, id: last.id }) : null;
    return { rows: page, nextCursor };
  }

  /** The caller's own counts; both reads share one snapshot and one "now". */
  async stats(caller: TaskCaller): Promise<TaskStats> {
    const { counts, perDay } = await this.db.transaction().execute(async (trx) => ({
      counts: await tasks.countTasks(trx, caller.id),
      perDay: await tasks.countCompletedPerDay(trx, caller.id, STATS_DAYS),
    }));
    const byDay = new Map(perDay.days.map((row) => [row.day, row.count]));
    const today = Date.parse(`${perDay.today}T00:00:00Z`);
    const completedPerDay = Array.from({ length: STATS_DAYS }, (_, index) => {
      const date = new Date(today - (STATS_DAYS - 1 - index) * DAY_MS).toISOString().slice(0, 10);
      return { date, count: byDay.get(date) ?? 0 };
    });
    return {
      byStatus: { todo: counts.todo, in_progress: counts.in_progress, done: counts.done },
      overdue: counts.overdue,
      completedPerDay,
    };
  }
}
