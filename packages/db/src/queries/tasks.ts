import { type CompiledQuery, type InferResult, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import { compileTemplate, compiler, nameStatement, placeholder, type QueryTemplate } from '../prepared';
import type { Database, TaskPriority, TaskStatus } from '../schema';

export const taskColumns = [
  'id',
  'owner_id',
  'title',
  'description',
  'status',
  'priority',
  'due_at',
  'completed_at',
  'created_at',
  'updated_at',
  'version',
] as const;

/**
 * Which rows a caller may touch: one owner's, or (administrators) every owner's. Every query
 * that reaches a task by id takes one, so no code path can forget the owner.
 */
export type TaskScope = { ownerId: number } | { allOwners: true };

export interface NewTask {
  ownerId: number;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueAt: Date | null;
}

export interface TaskChanges {
  title?: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  dueAt?: Date | null;
}

export interface TaskFilters {
  statuses?: TaskStatus[];
  priorities?: TaskPriority[];
  /** Plain text, matched anywhere in the title or description, ignoring case. */
  search?: string;
  dueBefore?: Date;
  dueAfter?: Date;
  overdue?: boolean;
}

export type TaskSortColumn = 'created_at' | 'updated_at' | 'due_at' | 'priority_rank';

/** Where the previous page ended: its last row's sort key and id. */
export interface TaskPagePosition {
  /** ISO timestamp with microseconds for time columns, the rank for priority, null for no due date. */
  key: string | number | null;
  id: number;
}

export interface TaskPageQuery {
  scope: TaskScope;
  filters: TaskFilters;
  sort: TaskSortColumn;
  order: 'asc' | 'desc';
  limit: number;
  after?: TaskPagePosition;
}

type TaskQuery<O> = SelectQueryBuilder<Database, 'tasks', O>;

function inScope<O>(query: TaskQuery<O>, scope: TaskScope): TaskQuery<O> {
  return 'ownerId' in scope ? query.where('tasks.owner_id', '=', scope.ownerId) : query;
}

export async function insertTask(db: Kysely<Database>, task: NewTask) {
  return db
    .insertInto('tasks')
    .values({
      owner_id: task.ownerId,
      title: task.title,
      description: task.description,
      status: task.status,
      priority: task.priority,
      due_at: task.dueAt,
      completed_at: task.status === 'done' ? sql<Date>`now()` : null,
    })
    .returning(taskColumns)
    .executeTakeFirstOrThrow();
}

export async function findTask(db: Kysely<Database>, scope: TaskScope, id: number) {
  return inScope(db.selectFrom('tasks').select(taskColumns).where('id', '=', id), scope).executeTakeFirst();
}

export async function findTaskVersion(db: Kysely<Database>, scope: TaskScope, id: number): Promise<number | undefined> {
  const row = await inScope(db.selectFrom('tasks').select('version').where('id', '=', id), scope).executeTakeFirst();
  return row?.version;
}

/** The SET list of an update: the changes, and what every update does besides. */
function updateSet(changes: TaskChanges) {
  return {
    ...(changes.title !== undefined ? { title: changes.title } : {}),
    ...(changes.description !== undefined ? { description: changes.description } : {}),
    ...(changes.priority !== undefined ? { priority: changes.priority } : {}),
    ...(changes.dueAt !== undefined ? { due_at: changes.dueAt } : {}),
    ...(changes.status !== undefined
      ? {
          status: changes.status,
          // Decided from the row as it is when the update applies, so a task that stays done keeps
          // the moment it was first completed.
          completed_at:
            changes.status === 'done' ? sql<Date>`coalesce(completed_at, now())` : sql<Date | null>`null`,
        }
      : {}),
    version: sql<number>`version + 1`,
    updated_at: sql<Date>`now()`,
  };
}

/**
 * One atomic read-modify-write of the row, so concurrent updates never overwrite each other
 * unseen. With `expectedVersion` the row must still be at that version; no row back means it
 * is missing, out of scope, or at another version.
 */
export async function updateTask(
  db: Kysely<Database>,
  scope: TaskScope,
  id: number,
  changes: TaskChanges,
  expectedVersion?: number,
) {
  let query = db.updateTable('tasks').set(updateSet(changes)).where('id', '=', id);
  if ('ownerId' in scope) query = query.where('owner_id', '=', scope.ownerId);
  if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
  return query.returning(taskColumns).executeTakeFirst();
}

export async function deleteTask(db: Kysely<Database>, scope: TaskScope, id: number): Promise<boolean> {
  let query = db.deleteFrom('tasks').where('id', '=', id);
  if ('ownerId' in scope) query = query.where('owner_id', '=', scope.ownerId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Locks the tasks of `ids` that are in scope until the transaction ends and returns their ids.
 * Locking in id order keeps two overlapping bulk operations from deadlocking.
 */
export async function lockTasks(db: Kysely<Database>, scope: TaskScope, ids: number[]): Promise<number[]> {
  const rows = await inScope(db.selectFrom('tasks').select('id').where('id', 'in', ids), scope)
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.map((row) => row.id);
}

export async function updateTasks(db: Kysely<Database>, ids: number[], changes: TaskChanges): Promise<number> {
  const result = await db.updateTable('tasks').set(updateSet(changes)).where('id', 'in', ids).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function deleteTasks(db: Kysely<Database>, ids: number[]): Promise<number> {
  const result = await db.deleteFrom('tasks').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Escapes LIKE's wildcards (and its escape character, backslash) so the text matches itself. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** Filters as the SQL takes them: the search already a LIKE pattern, passed on as one parameter. */
type SqlFilters = Omit<TaskFilters, 'search'> & { searchPattern?: string };

function withFilters<O>(query: TaskQuery<O>, filters: SqlFilters): TaskQuery<O> {
  let q = query;
  if (filters.statuses !== undefined) q = q.where('status', 'in', filters.statuses);
  if (filters.priorities !== undefined) q = q.where('priority', 'in', filters.priorities);
  const pattern = filters.searchPattern;
  if (pattern !== undefined) q = q.where((eb) => eb.or([eb('title', 'ilike', pattern), eb('description', 'ilike', pattern)]));
  if (filters.dueBefore !== undefined) q = q.where('due_at', '<', filters.dueBefore);
  if (filters.dueAfter !== undefined) q = q.where('due_at', '>', filters.dueAfter);
  if (filters.overdue === true) q = q.where(overdueCondition);
  if (filters.overdue === false) q = q.where(sql<SqlBool>`not (${overdueCondition})`);
  return q;
}

const overdueCondition = sql<SqlBool>`(status <> 'done' and due_at is not null and due_at < now())`;

/**
 * The sort key as it travels in a cursor. Timestamps go as text with all six fractional digits:
 * a JavaScript Date keeps only milliseconds, and a cursor rounded to them would skip rows.
 */
function sortKeyExpression(sort: TaskSortColumn): RawBuilder<string | number | null> {
  if (sort === 'priority_rank') return sql<number>`priority_rank`;
  return sql<string | null>`to_char(${sql.ref(sort)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

function keyValue(sort: TaskSortColumn, key: string | number): RawBuilder<unknown> {
  return sort === 'priority_rank' ? sql`${key}::smallint` : sql`${key}::timestamptz`;
}

/** A page query as its SQL sees it. */
export type PageSql = Omit<TaskPageQuery, 'filters'> & { filters: SqlFilters };
type PageSegment = 'keyed' | 'no-due-date';

/**
 * One segment of a page: rows after `after` in (sort column, id) order, never a NULL sort key.
 * Run through `pageStatement`; exported for the test that holds the two to the same SQL.
 */
export function pageSegment(db: Kysely<Database>, query: PageSql, segment: PageSegment) {
  const { sort, order } = query;
  const comparison = order === 'asc' ? sql.raw('>') : sql.raw('<');
  let q = withFilters(
    inScope(db.selectFrom('tasks').select(taskColumns).select(sortKeyExpression(sort).as('sort_key')), query.scope),
    query.filters,
  );
  // The row comparison that seeks to the cursor starts with the owner when there is one (a
  // constant, so it changes nothing about which rows pass). Only an owner-led index can then
  // use it: PostgreSQL estimates a row comparison by its first column, which for a three-valued
  // priority rank can come out as "no rows" and tempt it into the all-owners index with the
  // owner as a mere filter, reading every other owner's rows on the way.
  const owner = 'ownerId' in query.scope ? sql`${query.scope.ownerId}::int` : undefined;
  const seek = (columns: RawBuilder<unknown>, values: RawBuilder<unknown>) =>
    owner
      ? sql<SqlBool>`(owner_id, ${columns}) ${comparison} (${owner}, ${values})`
      : sql<SqlBool>`(${columns}) ${comparison} (${values})`;
  const after = query.after;
  if (segment === 'keyed') {
    if (sort === 'due_at') q = q.where('due_at', 'is not', null);
    if (after !== undefined && after.key !== null) {
      q = q.where(seek(sql`${sql.ref(sort)}, id`, sql`${keyValue(sort, after.key)}, ${after.id}`));
    }
  } else {
    q = q.where('due_at', 'is', null);
    if (after?.key === null) q = q.where(sql<SqlBool>`id ${comparison} ${after.id}`);
  }
  return q.orderBy(sql.ref(sort), order).orderBy('id', order).limit(query.limit);
}

type PageRow = InferResult<ReturnType<typeof pageSegment>>[number];

/** Compiled page statements by shape; a shape is what a page's SQL text depends on. */
const pageTemplates = new Map<string, QueryTemplate<PageRow>>();
/** Shapes are few in practice (sort, order, which filters); this bounds what odd inputs can add. */
const MAX_PAGE_TEMPLATES = 500;
/**
 * Pages of one owner's tasks (a user's own list, or an administrator's filtered to one owner) also
 * run as named statements on PostgreSQL, parsed and planned once per connection instead of on
 * every page: a sixth to a fifth of PostgreSQL's CPU for a page. Each such shape reads one owner's
 * rows through an index led by the owner and the sort key, a plan as good for an owner with ten
 * tasks as for one with a million, so a plan PostgreSQL keeps for all values is safe. Pages across
 * all owners are planned for their values each time: which index suits them depends on how many
 * rows the filters match. Bounded, as a named statement holds memory in every connection.
 */
const MAX_NAMED_PAGE_SHAPES = 64;
let namedPageShapes = 0;

/**
 * The statement of one page segment, compiled once per shape: pages are the busiest reads, and
 * building and compiling one with Kysely cost more CPU than PostgreSQL spends answering it.
 * The shape is the query with every value swapped for a named placeholder, so the builder sees
 * only what it may branch on (sort, order, which filters, how many statuses, a cursor and whether
 * its key is null), and that same object, as JSON, is the cache key.
 */
export function pageStatement(query: PageSql, segment: PageSegment): CompiledQuery<PageRow> {
  const params: Record<string, unknown> = {};
  const param = <T>(name: string, value: T): T => {
    params[name] = value;
    return placeholder(name) as T;
  };
  const { scope, filters, after } = query;
  const shape: PageSql = {
    scope: 'ownerId' in scope ? { ownerId: param('ownerId', scope.ownerId) } : { allOwners: true },
    filters: {
      ...(filters.statuses === undefined ? {} : { statuses: filters.statuses.map((status, i) => param(`status${i}`, status)) }),
      ...(filters.priorities === undefined ? {} : { priorities: filters.priorities.map((priority, i) => param(`priority${i}`, priority)) }),
      ...(filters.searchPattern === undefined ? {} : { searchPattern: param('searchPattern', filters.searchPattern) }),
      ...(filters.dueBefore === undefined ? {} : { dueBefore: param('dueBefore', filters.dueBefore) }),
      ...(filters.dueAfter === undefined ? {} : { dueAfter: param('dueAfter', filters.dueAfter) }),
      ...(filters.overdue === undefined ? {} : { overdue: filters.overdue }),
    },
    sort: query.sort,
    order: query.order,
    limit: param('limit', query.limit),
    ...(after === undefined ? {} : { after: { key: after.key === null ? null : param('afterKey', after.key), id: param('afterId', after.id) } }),
  };
  const key = `${segment} ${JSON.stringify(shape)}`;
  let template = pageTemplates.get(key);
  if (template === undefined) {
    template = compileTemplate(pageSegment(compiler, shape, segment));
    if (pageTemplates.size < MAX_PAGE_TEMPLATES) {
      pageTemplates.set(key, template);
      if ('ownerId' in scope && namedPageShapes < MAX_NAMED_PAGE_SHAPES) {
        namedPageShapes++;
        nameStatement(template.sql);
      }
    }
  }
  return template.bind(params);
}

/**
 * A page of tasks in (sort key, id) order after the cursor: every page is an index range scan,
 * never an OFFSET, so deep pages cost what the first does and rows inserted meanwhile never
 * shift a row into a second page or out of all pages. Without a due date a task comes after
 * every dated one in both directions; those rows are a second segment, read only when the
 * dated ones run out.
 */
export async function listTasksPage(db: Kysely<Database>, query: TaskPageQuery): Promise<PageRow[]> {
  const { search, ...filters } = query.filters;
  const pageSql: PageSql = { ...query, filters: { ...filters, ...(search ? { searchPattern: likePattern(search) } : {}) } };
  const inNoDueDateSegment = query.sort === 'due_at' && query.after !== undefined && query.after.key === null;
  const keyed = inNoDueDateSegment ? [] : (await db.executeQuery(pageStatement(pageSql, 'keyed'))).rows;
  if (query.sort !== 'due_at' || keyed.length >= query.limit) return keyed;
  const rest = { ...pageSql, limit: query.limit - keyed.length };
  const undated = (await db.executeQuery(pageStatement(rest, 'no-due-date'))).rows;
  return [...keyed, ...undated];
}

/** The id of the user with this name in any letter case, for administrators' owner filter. */
export async function findOwnerIdByUsername(db: Kysely<Database>, username: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
  return row?.id;
}

/** Usernames of the given users, for administrators' lists. */
export async function findOwnerUsernames(db: Kysely<Database>, ownerIds: number[]): Promise<Map<number, string>> {
  if (ownerIds.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'username']).where('id', 'in', ownerIds).execute();
  return new Map(rows.map((row) => [row.id, row.username]));
}

export interface TaskCounts {
  todo: number;
  in_progress: number;
  done: number;
  overdue: number;
}

export async function countTasks(db: Kysely<Database>, ownerId: number): Promise<TaskCounts> {
  const row = await db
    .selectFrom('tasks')
    .select([
      sql<number>`count(*) filter (where status = 'todo')`.as('todo'),
      sql<number>`count(*) filter (where status = 'in_progress')`.as('in_progress'),
      sql<number>`count(*) filter (where status = 'done')`.as('done'),
      sql<number>`count(*) filter (where ${overdueCondition})`.as('overdue'),
    ])
    .where('owner_id', '=', ownerId)
    .executeTakeFirstOrThrow();
  return { todo: row.todo, in_progress: row.in_progress, done: row.done, overdue: row.overdue };
}

/**
 * Tasks completed on each of the last `days` UTC days, today included, by the database's clock
 * (the one `completed_at` was set by); days without any are absent. `today` is a YYYY-MM-DD date.
 */
export async function countCompletedPerDay(
  db: Kysely<Database>,
  ownerId: number,
  days: number,
): Promise<{ today: string; days: { day: string; count: number }[] }> {
  const today = sql<string>`(now() at time zone 'UTC')::date`;
  const day = sql<string>`(completed_at at time zone 'UTC')::date`;
  const rows = await db
    .selectFrom('tasks')
    .select([day.as('day'), sql<number>`count(*)`.as('count')])
    .where('owner_id', '=', ownerId)
    .where('completed_at', '>=', sql<Date>`(${today} - ${days - 1}::int)::timestamp at time zone 'UTC'`)
    .groupBy(day)
    .execute();
  const { today: todayDate } = await db.selectNoFrom(today.as('today')).executeTakeFirstOrThrow();
  return { today: todayDate, days: rows };
}
