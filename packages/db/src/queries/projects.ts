import { type Kysely, sql } from 'kysely';
import type { Database, ProjectColor, ProjectRole } from '../schema';

export const projectColumns = [
  'projects.id',
  'projects.name',
  'projects.description',
  'projects.color',
  'projects.inbox_owner_id',
  'projects.archived_at',
  'projects.created_by',
  'projects.created_at',
  'projects.updated_at',
  'projects.version',
] as const;

/** How many members a project has, for lists of projects. */
const memberCount = sql<number>`(select count(*) from project_members c where c.project_id = projects.id)`;

export interface NewProject {
  name: string;
  description: string;
  color: ProjectColor;
  createdBy: number | null;
}

export interface ProjectChanges {
  name?: string;
  description?: string;
  color?: ProjectColor;
  archived?: boolean;
}

/**
 * A project with `userId`'s role in it (null when not a member), or undefined when there is no
 * such project. With `lock: true` the project row is locked until the transaction ends: every
 * change to a project, its members or its labels takes this lock first, so they apply one at a
 * time. With `lock: 'share'` it is share-locked, which only those changes wait for: what relies on
 * the members staying as they are (assigning a task) takes it.
 */
export async function findProjectAccess(db: Kysely<Database>, projectId: number, userId: number, options: { lock?: boolean | 'share' } = {}) {
  let query = db
    .selectFrom('projects')
    .leftJoin('project_members as m', (join) => join.onRef('m.project_id', '=', 'projects.id').on('m.user_id', '=', userId))
    .select([...projectColumns, 'm.role', memberCount.as('member_count')])
    .where('projects.id', '=', projectId);
  if (options.lock === 'share') query = query.forShare('projects');
  else if (options.lock) query = query.forUpdate('projects');
  return query.executeTakeFirst();
}

export type ProjectAccessRow = NonNullable<Awaited<ReturnType<typeof findProjectAccess>>>;

/** Creates a project with its first owner. */
export async function insertProject(db: Kysely<Database>, project: NewProject, ownerId: number) {
  const row = await db
    .insertInto('projects')
    .values({ name: project.name, description: project.description, color: project.color, created_by: project.createdBy })
    .returning(['id', 'name', 'description', 'color', 'inbox_owner_id', 'archived_at', 'created_by', 'created_at', 'updated_at', 'version'])
    .executeTakeFirstOrThrow();
  await db.insertInto('project_members').values({ project_id: row.id, user_id: ownerId, role: 'owner', added_by: project.createdBy }).execute();
  return row;
}

/**
 * The user's personal project, made now if it does not exist yet (accounts are given one when
 * made; this also covers rows restored or seeded without one). Returns its id.
 */
export async function ensureInbox(db: Kysely<Database>, userId: number): Promise<number> {
  const existing = await db.selectFrom('projects').select('id').where('inbox_owner_id', '=', userId).executeTakeFirst();
  if (existing) return existing.id;
  const made = await db
    .insertInto('projects')
    .values({ name: 'Inbox', inbox_owner_id: userId, created_by: userId })
    .onConflict((conflict) => conflict.column('inbox_owner_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (made) {
    await db.insertInto('project_members').values({ project_id: made.id, user_id: userId, role: 'owner', added_by: userId }).execute();
    return made.id;
  }
  // Made meanwhile by a concurrent call, which has committed it: this statement sees it.
  const row = await db.selectFrom('projects').select('id').where('inbox_owner_id', '=', userId).executeTakeFirstOrThrow();
  return row.id;
}

export async function updateProject(db: Kysely<Database>, projectId: number, changes: ProjectChanges) {
  return db
    .updateTable('projects')
    .set({
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.color !== undefined ? { color: changes.color } : {}),
      ...(changes.archived !== undefined ? { archived_at: changes.archived ? sql<Date>`coalesce(archived_at, now())` : null } : {}),
      version: sql<number>`version + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', projectId)
    .returning(['id', 'name', 'description', 'color', 'inbox_owner_id', 'archived_at', 'created_by', 'created_at', 'updated_at', 'version'])
    .executeTakeFirstOrThrow();
}

export async function deleteProject(db: Kysely<Database>, projectId: number): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', projectId).execute();
}

export interface ProjectListQuery {
  archived: boolean;
  /** Keyset: projects after this one in the list's order (inbox first, then by name). */
  after?: { inbox: boolean; name: string; id: number } | undefined;
  limit: number;
}

/** A user's projects with their role: the inbox first, then by name in any letter case. */
export async function listMemberProjects(db: Kysely<Database>, userId: number, query: ProjectListQuery) {
  let q = db
    .selectFrom('project_members as m')
    .innerJoin('projects', 'projects.id', 'm.project_id')
    .select([...projectColumns, 'm.role', memberCount.as('member_count'), sql<string>`lower(projects.name)`.as('name_key')])
    .where('m.user_id', '=', userId)
    .where('projects.archived_at', query.archived ? 'is not' : 'is', null);
  const after = query.after;
  if (after) {
    // `inbox_owner_id is null` sorts the inbox (false) before every other project (true).
    q = q.where(sql`(projects.inbox_owner_id is null, lower(projects.name), projects.id)`, '>', sql`(${!after.inbox}, ${after.name}, ${after.id})`);
  }
  return q
    .orderBy(sql`projects.inbox_owner_id is null`)
    .orderBy(sql`lower(projects.name)`)
    .orderBy('projects.id')
    .limit(query.limit)
    .execute();
}

export interface AllProjectsQuery {
  /** Part of the name, any case (already a LIKE pattern). */
  namePattern?: string | undefined;
  includeInboxes: boolean;
  archived?: boolean | undefined;
  afterId?: number | undefined;
  limit: number;
}

/** Every project, for administrators: newest first, with the usernames of its owners. */
export async function listAllProjects(db: Kysely<Database>, query: AllProjectsQuery) {
  let q = db.selectFrom('projects').select([
    ...projectColumns,
    memberCount.as('member_count'),
    sql<string[]>`array(select u.username from project_members o join users u on u.id = o.user_id
        where o.project_id = projects.id and o.role = 'owner' order by lower(u.username))`.as('owner_usernames'),
  ]);
  if (!query.includeInboxes) q = q.where('projects.inbox_owner_id', 'is', null);
  if (query.archived !== undefined) q = q.where('projects.archived_at', query.archived ? 'is not' : 'is', null);
  if (query.namePattern !== undefined) q = q.where('projects.name', 'ilike', query.namePattern);
  if (query.afterId !== undefined) q = q.where('projects.id', '<', query.afterId);
  return q.orderBy('projects.id', 'desc').limit(query.limit).execute();
}

export const memberColumns = ['m.user_id', 'u.username', 'u.is_active', 'm.role', 'm.added_at'] as const;

/** Members with their usernames and whether their accounts are active. */
function members(db: Kysely<Database>, projectId: number) {
  return db.selectFrom('project_members as m').innerJoin('users as u', 'u.id', 'm.user_id').select(memberColumns).where('m.project_id', '=', projectId);
}

/** Owners first, then editors, then viewers; by username within each. */
export async function listMembers(db: Kysely<Database>, projectId: number) {
  return members(db, projectId)
    .orderBy(sql`case m.role when 'owner' then 0 when 'editor' then 1 else 2 end`)
    .orderBy(sql`lower(u.username)`)
    .execute();
}

export async function findMember(db: Kysely<Database>, projectId: number, userId: number) {
  return members(db, projectId).where('m.user_id', '=', userId).executeTakeFirst();
}

/** The members among `userIds`, by id (for assignees). */
export async function findMembers(db: Kysely<Database>, projectId: number, userIds: number[]) {
  if (userIds.length === 0) return [];
  return members(db, projectId).where('m.user_id', 'in', userIds).execute();
}

/** The members among these usernames (any letter case), for @mentions. */
export async function findMembersByUsername(db: Kysely<Database>, projectId: number, usernames: string[]) {
  if (usernames.length === 0) return [];
  return members(db, projectId)
    .where(
      sql<string>`lower(u.username)`,
      'in',
      usernames.map((name) => name.toLowerCase()),
    )
    .execute();
}

/**
 * The project's owners, locked until the transaction ends, in id order so that two changes
 * never deadlock. A change that might leave no owner reads them this way: a concurrent one that
 * committed meanwhile is seen, so two owners demoting each other cannot both succeed.
 */
export async function lockOwners(db: Kysely<Database>, projectId: number): Promise<{ userId: number; isActive: boolean }[]> {
  const rows = await db
    .selectFrom('project_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.is_active'])
    .where('m.project_id', '=', projectId)
    .where('m.role', '=', 'owner')
    .orderBy('m.user_id')
    .forUpdate('m')
    .execute();
  return rows.map((row) => ({ userId: row.user_id, isActive: row.is_active }));
}

/**
 * Locks the project's tasks (only those assigned to `assigneeId`, when given), in id order. A
 * change that then locks the project takes the two in the order a task's change takes them (the
 * task, then its project), so neither waits for the other.
 */
export async function lockProjectTasks(db: Kysely<Database>, projectId: number, assigneeId?: number): Promise<void> {
  let query = db.selectFrom('tasks').select('id').where('project_id', '=', projectId);
  if (assigneeId !== undefined) query = query.where('assignee_id', '=', assigneeId);
  await query.orderBy('id').forUpdate().execute();
}

export async function insertMember(db: Kysely<Database>, member: { projectId: number; userId: number; role: ProjectRole; addedBy: number | null }) {
  await db
    .insertInto('project_members')
    .values({ project_id: member.projectId, user_id: member.userId, role: member.role, added_by: member.addedBy })
    .execute();
}

export async function updateMemberRole(db: Kysely<Database>, projectId: number, userId: number, role: ProjectRole): Promise<void> {
  await db.updateTable('project_members').set({ role }).where('project_id', '=', projectId).where('user_id', '=', userId).execute();
}

export async function deleteMember(db: Kysely<Database>, projectId: number, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('project_members').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** An active user by name in any letter case, to add as a member. */
export async function findActiveUserByUsername(db: Kysely<Database>, username: string) {
  return db
    .selectFrom('users')
    .select(['id', 'username'])
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .where('is_active', '=', true)
    .executeTakeFirst();
}

/**
 * The shared projects this user owns, locked in id order as a change of members locks them, with
 * who else is in each. The counts are read after the locks are held, so a change of members that
 * was under way is seen, and none can start until the transaction ends.
 */
export async function lockOwnedProjects(db: Kysely<Database>, userId: number) {
  const locked = await db
    .selectFrom('projects')
    .select('id')
    .where('inbox_owner_id', 'is', null)
    .where('id', 'in', db.selectFrom('project_members').select('project_id').where('user_id', '=', userId).where('role', '=', 'owner'))
    .orderBy('id')
    .forUpdate()
    .execute();
  if (locked.length === 0) return [];
  return db
    .selectFrom('projects as p')
    .select([
      'p.id',
      'p.name',
      sql<number>`(select count(*)::int from project_members o where o.project_id = p.id and o.user_id <> ${userId})`.as('others'),
      sql<number>`(select count(*)::int from project_members o join users u on u.id = o.user_id and u.is_active
        where o.project_id = p.id and o.role = 'owner' and o.user_id <> ${userId})`.as('other_active_owners'),
    ])
    .where(
      'p.id',
      'in',
      locked.map((row) => row.id),
    )
    .orderBy('p.id')
    .execute();
}
