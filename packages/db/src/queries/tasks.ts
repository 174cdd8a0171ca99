import { type CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import { compileTemplate, compiler, nameStatement, placeholder, type QueryTemplate } from '../fastpath/prepared';
import { compilesEachQuery } from '../fastpath/switch';
import type { Database, ProjectColor, ProjectRole, TaskPriority, TaskStatus } from '../schema';

const TASK_COLUMNS = [
  'id',
  'project_id',
  'created_by',
  'assignee_id',
  'title',
  'description',
  'status',
  'priority',
  'position',
  'due_at',
  'completed_at',
  'created_at',
  'updated_at',
  'version',
] as const;

export interface TaskLabel {
  id: number;
  name: string;
  color: ProjectColor;
}

/** A task as the API shows it: its columns, its labels and its assignee's name. */
export interface TaskRow {
  id: number;
  project_id: number;
  created_by: number | null;
  assignee_id: number | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  /** Exact decimal text: the order within its status column. */
  position: string;
  due_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  labels: TaskLabel[];
  assignee_username: string | null;
}

/** What a change to a task must know of the caller's access to its project. */
export interface TaskAccess {
  role: ProjectRole | null;
  project_archived_at: Date | null;
  project_inbox_owner_id: number | null;
}

const columnsOf = (table: string) => sql.join(TASK_COLUMNS.map((column) => sql.ref(`${table}.${column}`)));

/** A task's labels as JSON, by name; `task` is the SQL reference of its id. */
const labelsOf = (task: string) =>
  sql<TaskLabel[]>`coalesce((select json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color) order by lower(l.name), l.id)
    from task_labels tl join labels l on l.id = tl.label_id where tl.task_id = ${sql.ref(task)}), '[]'::json)`;

const usernameOf = (user: string) => sql<string | null>`(select u.username from users u where u.id = ${sql.ref(user)})`;

/** The columns of a task as the API shows it, read from `table`. */
const shown = (table: string) => sql`${columnsOf(table)}, ${labelsOf(`${table}.id`)} as labels, ${usernameOf(`${table}.assignee_id`)} as assignee_username`;

const accessOf = (userId: number) => sql`
  (select m.role from project_members m where m.project_id = tasks.project_id and m.user_id = ${userId}) as role,
  p.archived_at as project_archived_at, p.inbox_owner_id as project_inbox_owner_id`;

/**
 * A task as the API shows it, with `userId`'s role in its project (null when not a member) and
 * the project's state; undefined when there is no such task.
 */
export async function findTask(db: Kysely<Database>, taskId: number, userId: number): Promise<(TaskRow & TaskAccess) | undefined> {
  const { rows } = await sql<TaskRow & TaskAccess>`
    select ${shown('tasks')}, ${accessOf(userId)}
    from tasks join projects p on p.id = tasks.project_id
    where tasks.id = ${taskId}`.execute(db);
  return rows[0];
}

/** A task's project and `userId`'s access to it; undefined when there is no such task. */
export async function findTaskAccess(
  db: Kysely<Database>,
  taskId: number,
  userId: number,
): Promise<(TaskAccess & { project_id: number; status: TaskStatus }) | undefined> {
  const { rows } = await sql<TaskAccess & { project_id: number; status: TaskStatus }>`
    select tasks.project_id, tasks.status, ${accessOf(userId)} from tasks join projects p on p.id = tasks.project_id where tasks.id = ${taskId}`.execute(db);
  return rows[0];
}

/** A task as it is stored, with what a change must know of its project and the caller's access. */
export type LockedTask = Omit<TaskRow, 'labels'> & TaskAccess & { project_name: string };

/**
 * Locks the tasks of `ids` until the transaction ends, in id order (two overlapping changes never
 * deadlock), each with `userId`'s role in its project. Ids that name no task are left out.
 */
export async function lockTasks(db: Kysely<Database>, ids: number[], userId: number): Promise<LockedTask[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<LockedTask>`
    select ${columnsOf('tasks')}, ${usernameOf('tasks.assignee_id')} as assignee_username, ${accessOf(userId)}, p.name as project_name
    from tasks join projects p on p.id = tasks.project_id
    where tasks.id in (${sql.join(ids)})
    order by tasks.id
    for update of tasks`.execute(db);
  return rows;
}

export interface NewTask {
  projectId: number;
  createdBy: number;
  assigneeId: number | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  dueAt: Date | null;
}

/** The top of a status column: before its first task. */
const columnTop = (projectId: RawBuilder<unknown>, status: RawBuilder<unknown>) =>
  sql<string>`(select coalesce(min(c.position), 0) - 1024 from tasks c where c.project_id = ${projectId} and c.status = ${status})`;

/** Inserts a task at the top of its status column, with its labels; returns it as the API shows it. */
export async function insertTask(db: Kysely<Database>, task: NewTask, labelIds: number[] = []): Promise<TaskRow> {
  const completedAt = task.status === 'done' ? sql`now()` : sql`null`;
  const { rows } = await sql<TaskRow>`
    with inserted as (
      insert into tasks (project_id, created_by, assignee_id, title, description, status, priority, position, due_at, completed_at)
      values (${task.projectId}, ${task.createdBy}, ${task.assigneeId}, ${task.title}, ${task.description}, ${task.status}, ${task.priority},
        ${columnTop(sql`${task.projectId}::int`, sql`${task.status}::text`)}, ${task.dueAt}, ${completedAt})
      returning *
    ), labelled as (
      insert into task_labels (task_id, label_id)
      select inserted.id, label_id from inserted, unnest(${labelIds}::int[]) as label_id
      returning label_id
    )
    select ${columnsOf('inserted')},
      coalesce((select json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color) order by lower(l.name), l.id)
        from labelled join labels l on l.id = labelled.label_id), '[]'::json) as labels,
      ${usernameOf('inserted.assignee_id')} as assignee_username
    from inserted`.execute(db);
  return rows[0] as TaskRow;
}

export interface TaskChanges {
  title?: string;
  description?: string;
  status?: TaskStatus;
  priority?: TaskPriority;
  dueAt?: Date | null;
  assigneeId?: number | null;
  projectId?: number;
  /** Exact decimal text, from `placeInColumn`. A change of column without one goes to its top. */
  position?: string;
}

/**
 * The SET list of an update: the changes, and what every update does besides. A task that changes
 * column without a position goes to the column's top, or `above` it when several go there at once.
 */
function updateSet(changes: TaskChanges, above?: RawBuilder<unknown>): RawBuilder<unknown> {
  const set: RawBuilder<unknown>[] = [];
  if (changes.title !== undefined) set.push(sql`title = ${changes.title}`);
  if (changes.description !== undefined) set.push(sql`description = ${changes.description}`);
  if (changes.priority !== undefined) set.push(sql`priority = ${changes.priority}`);
  if (changes.dueAt !== undefined) set.push(sql`due_at = ${changes.dueAt}`);
  if (changes.assigneeId !== undefined) set.push(sql`assignee_id = ${changes.assigneeId}`);
  if (changes.projectId !== undefined) set.push(sql`project_id = ${changes.projectId}`);
  if (changes.status !== undefined) {
    set.push(sql`status = ${changes.status}`);
    // Decided from the row as it is when the update applies, so a task that stays done keeps
    // the moment it was first completed.
    set.push(changes.status === 'done' ? sql`completed_at = coalesce(completed_at, now())` : sql`completed_at = null`);
  }
  if (changes.position !== undefined) {
    set.push(sql`position = ${changes.position}::numeric`);
  } else if (changes.status !== undefined || changes.projectId !== undefined) {
    const project = changes.projectId === undefined ? sql`tasks.project_id` : sql`${changes.projectId}::int`;
    const status = changes.status === undefined ? sql`tasks.status` : sql`${changes.status}::text`;
    set.push(above === undefined ? sql`position = ${columnTop(project, status)}` : sql`position = ${columnTop(project, status)} - ${above}`);
  }
  set.push(sql`version = version + 1`, sql`updated_at = now()`);
  return sql.join(set);
}

/** Applies `changes` to a task the caller has locked; returns it as the API shows it. */
export async function updateTask(db: Kysely<Database>, id: number, changes: TaskChanges): Promise<TaskRow> {
  const { rows } = await sql<TaskRow>`update tasks set ${updateSet(changes)} where id = ${id} returning ${shown('tasks')}`.execute(db);
  return rows[0] as TaskRow;
}

/**
 * Applies the same `changes` to tasks the caller has locked; returns how many changed. Tasks that
 * change column go to its top in the order they had, each on a position of its own.
 */
export async function updateTasks(db: Kysely<Database>, ids: number[], changes: TaskChanges): Promise<number> {
  if (ids.length === 0) return 0;
  const restacked = changes.position === undefined && (changes.status !== undefined || changes.projectId !== undefined);
  const result = restacked
    ? await sql`update tasks set ${updateSet(changes, sql`1024 * (stacked.rank - 1)`)}
        from (select id, row_number() over (partition by ${changes.projectId === undefined ? sql`project_id` : sql`1`} order by position desc, id desc) as rank
          from tasks where id in (${sql.join(ids)})) stacked
        where tasks.id = stacked.id`.execute(db)
    : await sql`update tasks set ${updateSet(changes)} where id in (${sql.join(ids)})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export async function deleteTasks(db: Kysely<Database>, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db.deleteFrom('tasks').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}

const STATUS_RANK: Record<TaskStatus, number> = { todo: 0, in_progress: 1, done: 2 };
/** Positions stay short: past this many decimals, the column is numbered afresh. */
const MAX_POSITION_SCALE = 24;

export type ColumnAnchor = { afterId: number } | { beforeId: number } | { top: true };

/**
 * Makes moves into a status column take turns, until the transaction ends: two moves into one gap
 * never land on one position. Taken before the moved task's row lock, as a numbering afresh in
 * `placeInColumn` locks the column's other tasks: a move that held its task first and then waited
 * here could deadlock with it.
 */
export async function lockColumn(db: Kysely<Database>, column: { projectId: number; status: TaskStatus }): Promise<void> {
  // The two-key form keeps these locks apart from single-key advisory locks used elsewhere.
  await sql`select pg_advisory_xact_lock(${column.projectId}::int, ${STATUS_RANK[column.status]}::int)`.execute(db);
}

/**
 * Where a task goes in a status column, whose `lockColumn` the caller holds: right after
 * `afterId`, right before `beforeId`, or at the top. The caller holds the moved task's row lock
 * and writes the returned position in the same transaction. A column is in (position, id) order;
 * the midpoint of two exact decimals is exact, and when it would tie with a neighbour (tasks that
 * went to the top at the same moment may share a position) or grow long, the column is numbered
 * afresh first, keeping its order. Undefined when the anchor is not a task of that column.
 */
export async function placeInColumn(
  db: Kysely<Database>,
  column: { projectId: number; status: TaskStatus },
  movedId: number,
  anchor: ColumnAnchor,
): Promise<string | undefined> {
  const others = sql`project_id = ${column.projectId} and status = ${column.status} and id <> ${movedId}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const { rows } = await candidatePosition(others, anchor).execute(db);
    const row = rows[0];
    if (!row) return undefined;
    if (row.fits) return row.position;
    await sql`
      update tasks set position = ordered.rank * 1024
      from (select id, row_number() over (order by position, id) as rank from tasks where ${others}) ordered
      where tasks.id = ordered.id`.execute(db);
  }
  throw new Error('No position was found in a freshly numbered column');
}

function candidatePosition(others: RawBuilder<unknown>, anchor: ColumnAnchor) {
  type Candidate = { position: string; fits: boolean };
  if ('top' in anchor) return sql<Candidate>`select coalesce(min(position), 0) - 1024 as position, true as fits from tasks where ${others}`;
  const after = 'afterId' in anchor;
  const neighbour = after
    ? sql`(select position from tasks where ${others} and (position, id) > (a.position, a.id) order by position, id limit 1)`
    : sql`(select position from tasks where ${others} and (position, id) < (a.position, a.id) order by position desc, id desc limit 1)`;
  return sql<Candidate>`
    select c.position, c.neighbour is null or (c.position <> a.position and c.position <> c.neighbour and scale(c.position) <= ${MAX_POSITION_SCALE}) as fits
    from (select id, position from tasks where id = ${after ? anchor.afterId : anchor.beforeId} and ${others}) a,
      lateral (select n.neighbour, case when n.neighbour is null then a.position ${after ? sql`+` : sql`-`} 1024 else (a.position + n.neighbour) * 0.5 end as position
        from (select ${neighbour} as neighbour) n) c`;
}

/** Escapes LIKE's wildcards (and its escape character, backslash) so the text matches itself. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** Who reads a project's tasks: a member sees them, and an administrator every project's. */
export interface TaskViewer {
  userId: number;
  isAdmin: boolean;
}

/**
 * Whose tasks a list reads, decided by the caller's rights before the query is built:
 * - `project`: one project's, and only if the viewer may see it: the membership check is part
 *   of the page's own statement, so an empty page means either "no tasks" or "no such project,
 *   or not yours" (`findProjectAccess` tells them apart);
 * - `memberOf`: every project of this member that is not archived;
 * - `allProjects`: every task (administrators).
 */
export type TaskScope = { project: number; viewer: TaskViewer } | { memberOf: number } | { allProjects: true };

export interface TaskFilters {
  statuses?: TaskStatus[];
  priorities?: TaskPriority[];
  /** Plain text, matched anywhere in the title, the description or a comment, ignoring case. */
  search?: string;
  dueBefore?: Date;
  dueAfter?: Date;
  overdue?: boolean;
  /** A user's id, or `none` for unassigned tasks. */
  assignee?: number | 'none';
  /** Tasks with any of these labels. */
  labelIds?: number[];
  createdBy?: number;
  /** Tasks whose creator's username contains this text, in any letter case. */
  creatorNameContains?: string;
}

export type TaskSortColumn = 'created_at' | 'updated_at' | 'due_at' | 'priority_rank' | 'position';

/** Where the previous page ended: its last row's sort key and id. */
export interface TaskPagePosition {
  /** ISO timestamp with microseconds for time columns, the rank for priority, decimal text for position, null for no due date. */
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

export type TaskPageRow = TaskRow & { sort_key: string | number | null };

/** Filters as the SQL takes them: the search and the creator's name already LIKE patterns, each passed on as one parameter. */
type SqlFilters = Omit<TaskFilters, 'search' | 'creatorNameContains'> & { searchPattern?: string; creatorPattern?: string };

/** A page query as its SQL sees it. */
export type PageSql = Omit<TaskPageQuery, 'filters'> & { filters: SqlFilters };
type PageSegment = 'keyed' | 'no-due-date';

const overdueCondition = sql`(tasks.status <> 'done' and tasks.due_at is not null and tasks.due_at < now())`;

function filterConditions(filters: SqlFilters): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [];
  if (filters.statuses !== undefined) conditions.push(sql`tasks.status in (${sql.join(filters.statuses)})`);
  if (filters.priorities !== undefined) conditions.push(sql`tasks.priority in (${sql.join(filters.priorities)})`);
  if (filters.dueBefore !== undefined) conditions.push(sql`tasks.due_at < ${filters.dueBefore}`);
  if (filters.dueAfter !== undefined) conditions.push(sql`tasks.due_at > ${filters.dueAfter}`);
  if (filters.overdue === true) conditions.push(overdueCondition);
  if (filters.overdue === false) conditions.push(sql`not ${overdueCondition}`);
  if (filters.assignee === 'none') conditions.push(sql`tasks.assignee_id is null`);
  else if (filters.assignee !== undefined) conditions.push(sql`tasks.assignee_id = ${filters.assignee}`);
  if (filters.createdBy !== undefined) conditions.push(sql`tasks.created_by = ${filters.createdBy}`);
  if (filters.creatorPattern !== undefined)
    conditions.push(sql`tasks.created_by in (select users.id from users where users.username ilike ${filters.creatorPattern})`);
  if (filters.labelIds !== undefined) {
    conditions.push(sql`exists (select 1 from task_labels tl where tl.task_id = tasks.id and tl.label_id in (${sql.join(filters.labelIds)}))`);
  }
  return conditions;
}

/** The column a page is ordered by; a priority is ordered by its rank. */
const sortColumn = (table: string, sort: TaskSortColumn) => sql.ref(`${table}.${sort}`);

/**
 * The sort key as it travels in a cursor. Timestamps go as text with all six fractional digits:
 * a JavaScript Date keeps only milliseconds, and a cursor rounded to them would skip rows.
 */
function sortKeyExpression(sort: TaskSortColumn): RawBuilder<unknown> {
  if (sort === 'priority_rank') return sql`tasks.priority_rank`;
  if (sort === 'position') return sql`tasks.position::text`;
  return sql`to_char(${sql.ref(`tasks.${sort}`)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

function keyValue(sort: TaskSortColumn, key: string | number): RawBuilder<unknown> {
  if (sort === 'priority_rank') return sql`${key}::smallint`;
  if (sort === 'position') return sql`${key}::numeric`;
  return sql`${key}::timestamptz`;
}

/** Which of a task's texts a read matches the search against. */
type SearchIn = 'fields' | 'comments';

/**
 * One read of a page segment: tasks after the cursor in (sort key, id) order, never a NULL sort
 * key, up to a page. `project` binds the project (a value or a column): the row comparison that
 * seeks to the cursor then starts with it, which keeps PostgreSQL on the index led by the
 * project (it estimates a row comparison by its first column, which for a three-valued priority
 * rank can come out as "no rows").
 */
function read(query: PageSql, segment: PageSegment, project: RawBuilder<unknown> | undefined, searchIn: SearchIn | undefined, extra: RawBuilder<unknown>[]) {
  const { sort, order } = query;
  const direction = sql.raw(order);
  const comparison = sql.raw(order === 'asc' ? '>' : '<');
  const conditions = [...(project === undefined ? [] : [sql`tasks.project_id = ${project}`]), ...extra, ...filterConditions(query.filters)];
  const pattern = query.filters.searchPattern;
  if (pattern !== undefined && searchIn === 'fields') conditions.push(sql`(tasks.title ilike ${pattern} or tasks.description ilike ${pattern})`);
  if (pattern !== undefined && searchIn === 'comments') conditions.push(sql`tasks.id in (select c.task_id from task_comments c where c.body ilike ${pattern})`);
  const seek = (columns: RawBuilder<unknown>, values: RawBuilder<unknown>) =>
    project === undefined ? sql`(${columns}) ${comparison} (${values})` : sql`(tasks.project_id, ${columns}) ${comparison} (${project}, ${values})`;
  const after = query.after;
  const column = sortColumn('tasks', sort);
  if (segment === 'keyed') {
    if (sort === 'due_at') conditions.push(sql`tasks.due_at is not null`);
    if (after !== undefined && after.key !== null) conditions.push(seek(sql`${column}, tasks.id`, sql`${keyValue(sort, after.key)}, ${after.id}`));
  } else {
    conditions.push(sql`tasks.due_at is null`);
    if (after?.key === null) conditions.push(sql`tasks.id ${comparison} ${after.id}`);
  }
  const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  return sql`select ${columnsOf('tasks')}, tasks.priority_rank, ${sortKeyExpression(sort)} as sort_key from tasks ${where}
    order by ${column} ${direction}, tasks.id ${direction} limit ${query.limit}`;
}

/**
 * The tasks of one source (a project, or several together) for a page. With a search, the tasks
 * whose title or description match and those with a matching comment are two page-sized reads,
 * each free to use its own index (a trigram index, or the project's index in the page's order),
 * merged.
 */
function source(query: PageSql, segment: PageSegment, project: RawBuilder<unknown> | undefined, extra: RawBuilder<unknown>[] = []) {
  if (query.filters.searchPattern === undefined) return read(query, segment, project, undefined, extra);
  const direction = sql.raw(query.order);
  return sql`select * from ((${read(query, segment, project, 'fields', extra)}) union (${read(query, segment, project, 'comments', extra)})) matches
    order by ${sortColumn('matches', query.sort)} ${direction}, matches.id ${direction} limit ${query.limit}`;
}

/** The projects a member reads together: theirs, not archived. */
const memberProjects = (userId: number) =>
  sql`select m.project_id from project_members m join projects p on p.id = m.project_id and p.archived_at is null where m.user_id = ${userId}`;

/**
 * One segment of a page: rows after `after` in (sort column, id) order, with their labels and
 * assignee. Run through `pageStatement`; exported for the test that holds the two to one SQL.
 */
export function pageSegment(query: PageSql, segment: PageSegment): RawBuilder<TaskPageRow> {
  const { scope, sort } = query;
  const direction = sql.raw(query.order);
  let rows: RawBuilder<unknown>;
  if ('project' in scope) {
    const project = sql`${scope.project}::int`;
    // Checked in the same statement, once (an uncorrelated condition), before any task is read.
    const member = sql`exists (select 1 from project_members m where m.project_id = ${project} and m.user_id = ${scope.viewer.userId})`;
    rows = source(query, segment, project, scope.viewer.isAdmin ? [] : [member]);
  } else if ('memberOf' in scope && query.filters.assignee !== undefined && query.filters.assignee !== 'none') {
    // One person's tasks across the member's projects, read through the assignee's index in the
    // page's order. Membership is checked task by task (a subquery PostgreSQL cannot turn into a
    // join): joined, it would read each project by an estimate made for an average project.
    const member = sql`(select p.archived_at is null from project_members m join projects p on p.id = m.project_id
      where m.project_id = tasks.project_id and m.user_id = ${scope.memberOf}) is true`;
    rows = source(query, segment, undefined, [member]);
  } else if ('memberOf' in scope && query.filters.searchPattern !== undefined) {
    // A search across the member's projects: the trigram indexes narrow across all projects at
    // once, rather than once per project; the projects are a list computed first.
    rows = source(query, segment, undefined, [sql`tasks.project_id = any(array(${memberProjects(scope.memberOf)}))`]);
  } else if ('memberOf' in scope) {
    // Each of the member's projects read through its own index, up to a page, and merged: a page
    // costs as much for a member of a project with a million tasks as of one with ten.
    rows = sql`select found.* from (${memberProjects(scope.memberOf)}) mine cross join lateral (${source(query, segment, sql`mine.project_id`)}) found
      order by ${sortColumn('found', sort)} ${direction}, found.id ${direction} limit ${query.limit}`;
  } else {
    rows = source(query, segment, undefined);
  }
  return sql<TaskPageRow>`select ${shown('page')}, page.sort_key from (${rows}) page
    order by ${sortColumn('page', sort)} ${direction}, page.id ${direction}`;
}

/** Compiled page statements by shape; a shape is what a page's SQL text depends on. */
const pageTemplates = new Map<string, QueryTemplate<TaskPageRow>>();
/** Shapes are few in practice (sort, order, which filters); this bounds what odd inputs can add. */
const MAX_PAGE_TEMPLATES = 500;
/**
 * Pages of one project, or of a member's projects, also run as named statements on PostgreSQL,
 * parsed and planned once per connection instead of on every page. Each such shape reads
 * through an index led by the project and the sort key, a plan as good for a project of ten tasks
 * as for one of a million, so a plan PostgreSQL keeps for all values is safe. Searches and pages
 * across all projects are planned for their values each time: which index suits them depends on
 * how many rows match. Bounded, as a named statement holds memory in every connection.
 */
const MAX_NAMED_PAGE_SHAPES = 64;
let namedPageShapes = 0;

/**
 * The statement of one page segment, compiled once per shape: pages are the busiest reads, and
 * building and compiling one cost more CPU than PostgreSQL spends answering it. The shape is the
 * query with every value swapped for a named placeholder, so the builder sees only what it may
 * branch on (scope kind, sort, order, which filters, how many statuses, a cursor and whether its
 * key is null), and that same object, as JSON, is the cache key.
 */
export function pageStatement(query: PageSql, segment: PageSegment): CompiledQuery<TaskPageRow> {
  const params: Record<string, unknown> = {};
  const param = <T>(name: string, value: T): T => {
    params[name] = value;
    return placeholder(name) as T;
  };
  const many = <T>(name: string, values: T[] | undefined) => values?.map((value, i) => param(`${name}${i}`, value));
  const { scope, filters, after } = query;
  const shapeScope: TaskScope =
    'project' in scope
      ? { project: param('project', scope.project), viewer: { userId: param('viewer', scope.viewer.userId), isAdmin: scope.viewer.isAdmin } }
      : 'memberOf' in scope
        ? { memberOf: param('member', scope.memberOf) }
        : { allProjects: true };
  const shapeFilters: SqlFilters = {
    ...(filters.statuses === undefined ? {} : { statuses: many('status', filters.statuses) }),
    ...(filters.priorities === undefined ? {} : { priorities: many('priority', filters.priorities) }),
    ...(filters.searchPattern === undefined ? {} : { searchPattern: param('searchPattern', filters.searchPattern) }),
    ...(filters.dueBefore === undefined ? {} : { dueBefore: param('dueBefore', filters.dueBefore) }),
    ...(filters.dueAfter === undefined ? {} : { dueAfter: param('dueAfter', filters.dueAfter) }),
    ...(filters.overdue === undefined ? {} : { overdue: filters.overdue }),
    ...(filters.assignee === undefined ? {} : { assignee: filters.assignee === 'none' ? 'none' : param('assignee', filters.assignee) }),
    ...(filters.labelIds === undefined ? {} : { labelIds: many('label', filters.labelIds) }),
    ...(filters.createdBy === undefined ? {} : { createdBy: param('createdBy', filters.createdBy) }),
    ...(filters.creatorPattern === undefined ? {} : { creatorPattern: param('creatorPattern', filters.creatorPattern) }),
  };
  const shape: PageSql = {
    scope: shapeScope,
    filters: shapeFilters,
    sort: query.sort,
    order: query.order,
    limit: param('limit', query.limit),
    ...(after === undefined ? {} : { after: { key: after.key === null ? null : param('afterKey', after.key), id: param('afterId', after.id) } }),
  };
  const key = `${segment} ${JSON.stringify(shape)}`;
  let template = pageTemplates.get(key);
  if (template === undefined) {
    const statement = pageSegment(shape, segment);
    template = compileTemplate<TaskPageRow>({ compile: () => statement.compile(compiler) });
    if (pageTemplates.size < MAX_PAGE_TEMPLATES) {
      pageTemplates.set(key, template);
      const plannedOnce = !('allProjects' in scope) && filters.searchPattern === undefined;
      if (plannedOnce && namedPageShapes < MAX_NAMED_PAGE_SHAPES) {
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
export async function listTasksPage(db: Kysely<Database>, query: TaskPageQuery): Promise<TaskPageRow[]> {
  const { search, creatorNameContains, ...filters } = query.filters;
  const pageSql: PageSql = {
    ...query,
    filters: {
      ...filters,
      ...(search ? { searchPattern: likePattern(search) } : {}),
      ...(creatorNameContains ? { creatorPattern: likePattern(creatorNameContains) } : {}),
    },
  };
  const inNoDueDateSegment = query.sort === 'due_at' && query.after !== undefined && query.after.key === null;
  // Stock (FAST_PATHS off): Kysely compiles the page's statement on every call, with no template.
  const run = async (page: PageSql, segment: PageSegment) =>
    compilesEachQuery(db) ? (await pageSegment(page, segment).execute(db)).rows : (await db.executeQuery(pageStatement(page, segment))).rows;
  const keyed = inNoDueDateSegment ? [] : await run(pageSql, 'keyed');
  if (query.sort !== 'due_at' || keyed.length >= query.limit) return keyed;
  const rest = { ...pageSql, limit: query.limit - keyed.length };
  const undated = await run(rest, 'no-due-date');
  return [...keyed, ...undated];
}

/** How many tasks a list's filters match, up to a bound: `capped` when there are more than `count`. */
export interface TaskTotal {
  count: number;
  capped: boolean;
}

/**
 * How many tasks match a list's scope and filters, counted up to `cap`: the same conditions a
 * page reads (and so the same indexes), in a subquery with a LIMIT, so a list of a million costs
 * what one of `cap` does. Order plays no part, so the due-date segments of a page are one here.
 */
export async function countTasksUpTo(db: Kysely<Database>, query: Pick<TaskPageQuery, 'scope' | 'filters'>, cap: number): Promise<TaskTotal> {
  const { search, creatorNameContains, ...rest } = query.filters;
  const filters: SqlFilters = {
    ...rest,
    ...(search ? { searchPattern: likePattern(search) } : {}),
    ...(creatorNameContains ? { creatorPattern: likePattern(creatorNameContains) } : {}),
  };
  const { scope } = query;
  const conditions = filterConditions(filters);
  if ('project' in scope) {
    conditions.push(sql`tasks.project_id = ${scope.project}::int`);
    if (!scope.viewer.isAdmin) {
      conditions.push(sql`exists (select 1 from project_members m where m.project_id = ${scope.project}::int and m.user_id = ${scope.viewer.userId})`);
    }
  } else if ('memberOf' in scope) {
    conditions.push(sql`tasks.project_id = any(array(${memberProjects(scope.memberOf)}))`);
  }
  const pattern = filters.searchPattern;
  if (pattern !== undefined) {
    conditions.push(
      sql`(tasks.title ilike ${pattern} or tasks.description ilike ${pattern} or tasks.id in (select c.task_id from task_comments c where c.body ilike ${pattern}))`,
    );
  }
  const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  const { rows } = await sql<{ count: number }>`select count(*)::int as count from (select 1 from tasks ${where} limit ${cap + 1}) matching`.execute(db);
  const count = rows[0]?.count ?? 0;
  return count > cap ? { count: cap, capped: true } : { count, capped: false };
}

/** Usernames of the given users, for administrators' lists. */
export async function findUsernames(db: Kysely<Database>, userIds: number[]): Promise<Map<number, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'username']).where('id', 'in', userIds).execute();
  return new Map(rows.map((row) => [row.id, row.username]));
}

export interface TaskCounts {
  todo: number;
  in_progress: number;
  done: number;
  overdue: number;
  due_today: number;
  upcoming: number;
}

/** Which tasks a count covers: one project's, or those of every project of a member. */
export type CountScope = { project: number } | { memberOf: number };

const counted = (scope: CountScope) =>
  'project' in scope ? sql`tasks.project_id = ${scope.project}` : sql`tasks.project_id in (${memberProjects(scope.memberOf)})`;

/** Local midnight starting the day `offset` days from today, in `timeZone`, as an instant. */
const localMidnight = (timeZone: string, offset: number) =>
  sql`((date_trunc('day', now() at time zone ${timeZone}) + make_interval(days => ${offset}::int)) at time zone ${timeZone})`;

/**
 * Counts by status, overdue, and open tasks due today and in the next seven days. The days are
 * `timeZone`'s (an IANA name PostgreSQL knows; an unknown one fails with SQLSTATE 22023).
 */
export async function countTasks(db: Kysely<Database>, scope: CountScope, timeZone: string): Promise<TaskCounts> {
  const { rows } = await sql<TaskCounts>`
    select count(*) filter (where status = 'todo') as todo,
      count(*) filter (where status = 'in_progress') as in_progress,
      count(*) filter (where status = 'done') as done,
      count(*) filter (where ${overdueCondition}) as overdue,
      count(*) filter (where status <> 'done' and due_at >= ${localMidnight(timeZone, 0)} and due_at < ${localMidnight(timeZone, 1)}) as due_today,
      count(*) filter (where status <> 'done' and due_at >= ${localMidnight(timeZone, 1)} and due_at < ${localMidnight(timeZone, 8)}) as upcoming
    from tasks where ${counted(scope)}`.execute(db);
  const row = rows[0] as TaskCounts;
  return { todo: row.todo, in_progress: row.in_progress, done: row.done, overdue: row.overdue, due_today: row.due_today, upcoming: row.upcoming };
}

/**
 * Tasks completed on each of the last `days` days of `timeZone`, today included, by the
 * database's clock (the one `completed_at` was set by); days without any are absent. `today` is
 * a YYYY-MM-DD date there.
 */
export async function countCompletedPerDay(
  db: Kysely<Database>,
  scope: CountScope,
  days: number,
  timeZone: string,
): Promise<{ today: string; days: { day: string; count: number }[] }> {
  const today = sql<string>`(now() at time zone ${timeZone})::date`;
  const { rows } = await sql<{ day: string; count: number }>`
    select (completed_at at time zone ${timeZone})::date as day, count(*) as count from tasks
    where ${counted(scope)} and completed_at >= ${localMidnight(timeZone, 1 - days)}
    group by 1`.execute(db);
  const { rows: now } = await sql<{ today: string }>`select ${today} as today`.execute(db);
  return { today: (now[0] as { today: string }).today, days: rows };
}
