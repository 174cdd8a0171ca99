import type { ProjectRole } from '@stm/db';
import { DomainError } from '../errors';
import type { AuthUser } from './auth';

/** Who is asking: every rule is decided from this, never from what the client sends. */
export type Caller = Pick<AuthUser, 'id' | 'role'>;

/**
 * What a caller may do with a project and everything in it:
 * - `read`: see it, its tasks, comments, labels, members and history (any member);
 * - `write`: change tasks, comments and labels (owners and editors);
 * - `manage`: change the project itself and its members (owners).
 * Administrators may do all three with every project.
 */
export type Need = 'read' | 'write' | 'manage';

/** A project as the rules see it, with the caller's role there (null: not a member). */
export interface ProjectFacts {
  role: ProjectRole | null;
  archivedAt: Date | null;
  inboxOwnerId: number | null;
}

/** The facts of the project of a task or comment, as the queries of those return them. */
export function factsOfTask(row: { role: ProjectRole | null; project_archived_at: Date | null; project_inbox_owner_id: number | null }): ProjectFacts {
  return { role: row.role, archivedAt: row.project_archived_at, inboxOwnerId: row.project_inbox_owner_id };
}

export interface Access {
  /** The caller's own role, or null for an administrator who is not a member. */
  role: ProjectRole | null;
  /**
   * The caller acts by an administrator's right, not by their role in the project: such acts go
   * to the audit log.
   */
  asAdministrator: boolean;
}

const RANK: Record<ProjectRole, number> = { viewer: 0, editor: 1, owner: 2 };
const NEEDED: Record<Need, ProjectRole> = { read: 'viewer', write: 'editor', manage: 'owner' };

/**
 * The one place that decides who reaches a project's objects. Not a member (or no such project)
 * is `notFound`, the very refusal a missing id gets, so a refusal never tells that a project
 * exists. A member without the role gets 403, as does any change to an archived project (it is
 * read-only until unarchived, by `allowArchived` callers only).
 */
export function authorize(
  caller: Caller,
  project: ProjectFacts | undefined,
  need: Need,
  notFound: () => DomainError,
  options: { allowArchived?: boolean } = {},
): Access {
  if (!project) throw notFound();
  const { role } = project;
  const isAdmin = caller.role === 'admin';
  if (role === null && !isAdmin) throw notFound();
  const sufficient = role !== null && RANK[role] >= RANK[NEEDED[need]];
  if (!sufficient && !isAdmin) {
    throw new DomainError(
      'PROJECT_ROLE_TOO_LOW',
      need === 'manage' ? 'Only an owner of this project may do this' : 'You can view this project but not change it',
      { details: { role, needed: NEEDED[need] } },
    );
  }
  if (need !== 'read' && project.archivedAt !== null && !options.allowArchived) {
    throw new DomainError('PROJECT_ARCHIVED', 'This project is archived; unarchive it to make changes');
  }
  return { role, asAdministrator: !sufficient };
}
