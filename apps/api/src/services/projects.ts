import { type Database, type Kysely, type ProjectColor, type ProjectRole, projects, taskEvents } from '@stm/db';
import { noNul, PROJECT_MEMBERS_MAX } from '@stm/validators';
import { z } from 'zod';
import { DomainError } from '../errors';
import { type Access, authorize, type Caller, type ProjectFacts } from './access';
import type { AuditAction } from '@stm/validators';
import { type ClientInfo, recordAudit } from './audit';
import { decodeCursor, type Page, pageOf, rowId } from './cursor';
import { recordChange, recordChanges } from './events';
import type { Quotas } from './quotas';

/** A signed-in caller with the name the audit log records. */
export type ProjectCaller = Caller & { username: string };

export interface Project {
  id: number;
  name: string;
  description: string;
  color: ProjectColor;
  /** The owner's personal project: never shared, archived or deleted. */
  isInbox: boolean;
  archived: boolean;
  archivedAt: Date | null;
  /** The caller's role; null for an administrator who is not a member. */
  role: ProjectRole | null;
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface AdminProject extends Omit<Project, 'role'> {
  ownerUsernames: string[];
}

export interface Member {
  userId: number;
  username: string;
  isActive: boolean;
  role: ProjectRole;
  addedAt: Date;
}

/** One answer for "missing" and "not yours": the status and body must not tell them apart. */
export function projectNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Project not found');
}

function memberNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'This person is not a member of the project', { field: 'userId' });
}

type ProjectRow = Pick<
  projects.ProjectAccessRow,
  'id' | 'name' | 'description' | 'color' | 'inbox_owner_id' | 'archived_at' | 'created_at' | 'updated_at' | 'version'
>;

function toProject(row: ProjectRow, role: ProjectRole | null, memberCount: number): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    color: row.color,
    isInbox: row.inbox_owner_id !== null,
    archived: row.archived_at !== null,
    archivedAt: row.archived_at,
    role,
    memberCount,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export function factsOf(row: { role: ProjectRole | null; archived_at: Date | null; inbox_owner_id: number | null }): ProjectFacts {
  return { role: row.role, archivedAt: row.archived_at, inboxOwnerId: row.inbox_owner_id };
}

function toMember(row: Awaited<ReturnType<typeof projects.listMembers>>[number]): Member {
  return { userId: row.user_id, username: row.username, isActive: row.is_active, role: row.role, addedAt: row.added_at };
}

const listCursor = z.object({ b: z.boolean(), n: z.string().max(400).refine(noNul), i: rowId });
const idCursor = z.object({ i: rowId });

/** A LIKE pattern matching `text` anywhere, its wildcards taken literally. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * An act on a project's objects done by an administrator's right rather than a role in the
 * project goes to the audit log, in the transaction of the act itself.
 */
export async function auditAdministered(
  db: Kysely<Database>,
  caller: ProjectCaller,
  access: Access,
  project: { id: number; name: string },
  client: ClientInfo | null,
  operation: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  if (!access.asAdministrator) return;
  await recordAudit(db, {
    action: 'project.administered',
    actor: { id: caller.id, username: caller.username },
    client,
    target: { type: 'project', id: project.id, label: project.name },
    details: { operation, ...details },
  });
}

/**
 * Projects and who belongs to them. Every method decides access through `authorize`, from the
 * project's rows as they are in the transaction, so a member removed or a project archived is
 * refused on their very next request. Membership and ownership changes are audited.
 */
export class ProjectsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly quotas: Quotas,
  ) {}

  /** The caller's projects: the inbox first, then by name. */
  async list(caller: Caller, query: { archived: boolean; limit: number; cursor?: string | undefined }): Promise<Page<Project>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, listCursor);
    const rows = await projects.listMemberProjects(this.db, caller.id, {
      archived: query.archived,
      after: after && { inbox: after.b, name: after.n, id: after.i },
      limit: query.limit + 1,
    });
    return pageOf(
      rows,
      query.limit,
      (row) => toProject(row, row.role, row.member_count),
      (last) => ({ b: last.inbox_owner_id !== null, n: last.name_key, i: last.id }),
    );
  }

  /** Every project, newest first: administrators only. */
  async listAll(
    caller: Caller,
    query: { search?: string | undefined; includeInboxes: boolean; archived?: boolean | undefined; limit: number; cursor?: string | undefined },
  ): Promise<Page<AdminProject>> {
    if (caller.role !== 'admin') throw new DomainError('FORBIDDEN', 'Administrators only');
    const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, idCursor).i;
    const search = query.search?.trim();
    const rows = await projects.listAllProjects(this.db, {
      namePattern: search ? containing(search) : undefined,
      includeInboxes: query.includeInboxes,
      archived: query.archived,
      afterId,
      limit: query.limit + 1,
    });
    return pageOf(
      rows,
      query.limit,
      (row) => {
        const { role: _role, ...project } = toProject(row, null, row.member_count);
        return { ...project, ownerUsernames: row.owner_usernames };
      },
      (last) => ({ i: last.id }),
    );
  }

  async get(caller: Caller, projectId: number): Promise<Project> {
    const row = await projects.findProjectAccess(this.db, projectId, caller.id);
    authorize(caller, row && factsOf(row), 'read', projectNotFound);
    const found = row as projects.ProjectAccessRow;
    return toProject(found, found.role, found.member_count);
  }

  /** A new shared project; its creator is its first owner. */
  async create(caller: Caller, input: { name: string; description: string; color: ProjectColor }): Promise<Project> {
    return this.db.transaction().execute(async (trx) => {
      const row = await projects.insertProject(trx, { ...input, createdBy: caller.id }, caller.id);
      await this.quotas.assertWithin(trx, caller, 'projects');
      // The owner is the first member: a stream following the owner's projects (`live.mine`
      // with `projects`) learns of the project, on every instance, as it would of being added.
      const member = toMember((await projects.findMember(trx, row.id, caller.id)) as never);
      await recordChange(trx, { projectId: row.id, kind: 'member.added', entityId: caller.id, actorId: caller.id, payload: { member } });
      return toProject(row, 'owner', 1);
    });
  }

  /**
   * Renames, describes, recolours, archives or unarchives (owners). An archived project takes no
   * other change until it is unarchived, which may come in the same call.
   */
  async update(
    caller: ProjectCaller,
    input: {
      id: number;
      name?: string | undefined;
      description?: string | undefined;
      color?: ProjectColor | undefined;
      archived?: boolean | undefined;
      expectedVersion?: number | undefined;
    },
    client: ClientInfo | null,
  ): Promise<Project> {
    return this.db.transaction().execute(async (trx) => {
      const row = await projects.findProjectAccess(trx, input.id, caller.id, { lock: true });
      const unarchiving = input.archived === false;
      const access = authorize(caller, row && factsOf(row), 'manage', projectNotFound, { allowArchived: unarchiving });
      const before = row as projects.ProjectAccessRow;
      if (before.inbox_owner_id !== null) throw inboxRefusal('Your inbox cannot be renamed or archived');
      if (input.expectedVersion !== undefined && input.expectedVersion !== before.version) {
        throw new DomainError('VERSION_CONFLICT', 'The project was changed by someone else; reload it and try again', {
          field: 'expectedVersion',
          details: { currentVersion: before.version },
        });
      }
      const after = await projects.updateProject(trx, input.id, input);
      const wasArchived = before.archived_at !== null;
      const isArchived = after.archived_at !== null;
      const target = { type: 'project', id: after.id, label: after.name };
      if (wasArchived !== isArchived) {
        await recordAudit(trx, {
          action: isArchived ? 'project.archived' : 'project.unarchived',
          actor: { id: caller.id, username: caller.username },
          client,
          target,
          details: access.asAdministrator ? { byAdministrator: true } : {},
        });
      }
      const renamed = ['name', 'description', 'color'].some((key) => input[key as 'name'] !== undefined);
      if (renamed) await auditAdministered(trx, caller, access, after, client, 'projects.update', { name: input.name, color: input.color });
      const { role: _role, ...project } = toProject(after, before.role, before.member_count);
      // Without the caller's role, which is each member's own.
      await recordChange(trx, { projectId: after.id, kind: 'project.updated', entityId: after.id, actorId: caller.id, payload: { project } });
      return { ...project, role: before.role };
    });
  }

  /** Deletes a project with its tasks, comments, labels and history (owners). */
  async delete(caller: ProjectCaller, projectId: number, client: ClientInfo | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Decided first without locks, so that nobody else's call can hold the project's tasks; the
      // tasks are locked before the project, as a change of a task takes them; then decided again.
      const unlocked = await projects.findProjectAccess(trx, projectId, caller.id);
      authorize(caller, unlocked && factsOf(unlocked), 'manage', projectNotFound, { allowArchived: true });
      if ((unlocked as projects.ProjectAccessRow).inbox_owner_id !== null) throw inboxRefusal('Your inbox cannot be deleted');
      await projects.lockProjectTasks(trx, projectId);
      const row = await projects.findProjectAccess(trx, projectId, caller.id, { lock: true });
      const access = authorize(caller, row && factsOf(row), 'manage', projectNotFound, { allowArchived: true });
      const project = row as projects.ProjectAccessRow;
      await projects.deleteProject(trx, projectId);
      await recordAudit(trx, {
        action: 'project.deleted',
        actor: { id: caller.id, username: caller.username },
        client,
        target: { type: 'project', id: projectId, label: project.name },
        details: { memberCount: project.member_count, ...(access.asAdministrator ? { byAdministrator: true } : {}) },
      });
      await recordChange(trx, { projectId, kind: 'project.deleted', entityId: projectId, actorId: caller.id });
    });
  }

  async members(caller: Caller, projectId: number): Promise<Member[]> {
    const row = await projects.findProjectAccess(this.db, projectId, caller.id);
    authorize(caller, row && factsOf(row), 'read', projectNotFound);
    return (await projects.listMembers(this.db, projectId)).map(toMember);
  }

  /** Adds an active account as a member (owners); not to an inbox. */
  async addMember(caller: ProjectCaller, input: { projectId: number; username: string; role: ProjectRole }, client: ClientInfo | null): Promise<Member> {
    return this.db.transaction().execute(async (trx) => {
      const { project, access } = await this.#lockForMembership(trx, caller, input.projectId);
      const user = await projects.findActiveUserByUsername(trx, input.username);
      if (!user) throw new DomainError('NO_SUCH_USER', 'No active account has this username', { field: 'username' });
      if (await projects.findMember(trx, input.projectId, user.id)) {
        throw new DomainError('ALREADY_MEMBER', `${user.username} is already a member of this project`, { field: 'username' });
      }
      if (project.member_count >= PROJECT_MEMBERS_MAX) {
        throw new DomainError('QUOTA_EXCEEDED', `A project can have at most ${PROJECT_MEMBERS_MAX} members`, {
          details: { limit: PROJECT_MEMBERS_MAX },
        });
      }
      await projects.insertMember(trx, { projectId: input.projectId, userId: user.id, role: input.role, addedBy: caller.id });
      await this.#audit(trx, 'project.member_added', caller, access, project, client, { userId: user.id, username: user.username, role: input.role });
      const member = toMember((await projects.findMember(trx, input.projectId, user.id)) as never);
      await recordChange(trx, { projectId: input.projectId, kind: 'member.added', entityId: user.id, actorId: caller.id, payload: { member } });
      return member;
    });
  }

  /** Changes a member's role (owners); the last owner cannot stop being one. */
  async updateMember(caller: ProjectCaller, input: { projectId: number; userId: number; role: ProjectRole }, client: ClientInfo | null): Promise<Member> {
    return this.db.transaction().execute(async (trx) => {
      const { project, access } = await this.#lockForMembership(trx, caller, input.projectId);
      const owners = await projects.lockOwners(trx, input.projectId);
      const member = await projects.findMember(trx, input.projectId, input.userId);
      if (!member) throw memberNotFound();
      if (member.role === input.role) return toMember(member);
      if (member.role === 'owner') assertNotLastOwner(owners, input.userId);
      if (input.role === 'owner' && !member.is_active) throw deactivatedOwnerRefusal();
      await projects.updateMemberRole(trx, input.projectId, input.userId, input.role);
      await this.#audit(trx, 'project.member_role_changed', caller, access, project, client, {
        userId: member.user_id,
        username: member.username,
        before: member.role,
        after: input.role,
      });
      const changed = { ...toMember(member), role: input.role };
      await recordChange(trx, { projectId: input.projectId, kind: 'member.updated', entityId: input.userId, actorId: caller.id, payload: { member: changed } });
      return changed;
    });
  }

  /**
   * Removes a member (owners), or the caller themselves (leaving). Their tasks in the project are
   * unassigned, as each task's history says. The last owner cannot go.
   */
  async removeMember(caller: ProjectCaller, input: { projectId: number; userId: number }, client: ClientInfo | null): Promise<void> {
    const leaving = input.userId === caller.id;
    // Leaving needs only membership, and works on an archived project too.
    const need = leaving ? 'read' : 'manage';
    const options = { allowArchived: leaving };
    await this.db.transaction().execute(async (trx) => {
      // Refused before anything is locked, so that nobody else's call can hold the member's tasks;
      // then decided again under the locks.
      const unlocked = await projects.findProjectAccess(trx, input.projectId, caller.id);
      authorize(caller, unlocked && factsOf(unlocked), need, projectNotFound, options);
      await projects.lockProjectTasks(trx, input.projectId, input.userId);
      const row = await projects.findProjectAccess(trx, input.projectId, caller.id, { lock: true });
      const access = authorize(caller, row && factsOf(row), need, projectNotFound, options);
      const project = row as projects.ProjectAccessRow;
      if (project.inbox_owner_id !== null) throw inboxRefusal('Nobody can leave or be removed from an inbox');
      const owners = await projects.lockOwners(trx, input.projectId);
      const member = await projects.findMember(trx, input.projectId, input.userId);
      if (!member) throw leaving ? projectNotFound() : memberNotFound();
      if (member.role === 'owner') assertNotLastOwner(owners, input.userId);
      await projects.deleteMember(trx, input.projectId, input.userId);
      const reason = leaving ? 'left_project' : 'removed_from_project';
      const unassigned = await taskEvents.unassignMember(trx, input.projectId, input.userId, caller.id, reason);
      await this.#audit(
        trx,
        leaving ? 'project.member_left' : 'project.member_removed',
        caller,
        leaving ? { ...access, asAdministrator: false } : access,
        project,
        client,
        {
          userId: member.user_id,
          username: member.username,
          role: member.role,
          unassignedTasks: unassigned.length,
        },
      );
      await recordChange(trx, {
        projectId: input.projectId,
        kind: 'member.removed',
        entityId: input.userId,
        actorId: caller.id,
        payload: { unassignedTaskIds: unassigned },
      });
    });
  }

  /**
   * Hands ownership to another member (owners): they become an owner and the caller an editor.
   * An administrator who is not a member only promotes the other.
   */
  async transferOwnership(caller: ProjectCaller, input: { projectId: number; userId: number }, client: ClientInfo | null): Promise<Member[]> {
    return this.db.transaction().execute(async (trx) => {
      const { project, access } = await this.#lockForMembership(trx, caller, input.projectId);
      await projects.lockOwners(trx, input.projectId);
      const member = await projects.findMember(trx, input.projectId, input.userId);
      if (!member) throw memberNotFound();
      if (!member.is_active) throw deactivatedOwnerRefusal();
      if (member.role !== 'owner') await projects.updateMemberRole(trx, input.projectId, input.userId, 'owner');
      const stepsDown = !access.asAdministrator && input.userId !== caller.id;
      if (stepsDown) await projects.updateMemberRole(trx, input.projectId, caller.id, 'editor');
      await this.#audit(trx, 'project.ownership_transferred', caller, access, project, client, {
        userId: member.user_id,
        username: member.username,
        previousOwnerStaysOwner: !stepsDown,
      });
      const members = (await projects.listMembers(trx, input.projectId)).map(toMember);
      const changed = members.filter((m) => m.userId === input.userId || (stepsDown && m.userId === caller.id));
      await recordChanges(
        trx,
        changed.map((m) => ({ projectId: input.projectId, kind: 'member.updated' as const, entityId: m.userId, actorId: caller.id, payload: { member: m } })),
      );
      return members;
    });
  }

  /** The project locked for a change of its members (owners), never an inbox. */
  async #lockForMembership(trx: Kysely<Database>, caller: Caller, projectId: number) {
    const row = await projects.findProjectAccess(trx, projectId, caller.id, { lock: true });
    const access = authorize(caller, row && factsOf(row), 'manage', projectNotFound);
    const project = row as projects.ProjectAccessRow;
    if (project.inbox_owner_id !== null) throw inboxRefusal('An inbox is personal: it cannot be shared');
    return { project, access };
  }

  async #audit(
    trx: Kysely<Database>,
    action: AuditAction,
    caller: ProjectCaller,
    access: Access,
    project: { id: number; name: string },
    client: ClientInfo | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    await recordAudit(trx, {
      action,
      actor: { id: caller.id, username: caller.username },
      client,
      target: { type: 'project', id: project.id, label: project.name },
      details: { ...details, ...(access.asAdministrator ? { byAdministrator: true } : {}) },
    });
  }
}

function inboxRefusal(message: string): DomainError {
  return new DomainError('PROJECT_IS_INBOX', message);
}

/** A deactivated owner does not count: they can manage nothing until an administrator lets them back. */
function assertNotLastOwner(owners: { userId: number; isActive: boolean }[], leavingOwner: number): void {
  if (!owners.some((owner) => owner.userId !== leavingOwner && owner.isActive)) {
    throw new DomainError('LAST_OWNER', 'A project needs an active owner: make someone else an owner first');
  }
}

function deactivatedOwnerRefusal(): DomainError {
  return new DomainError('VALIDATION_FAILED', 'A deactivated account cannot become an owner', { field: 'userId' });
}
