import type { PasswordHasher } from '@stm/auth';
import { type Database, type Kysely, projects, sessions, taskEvents, type UserKind, type UserRole, users } from '@stm/db';
import { z } from 'zod';
import { DomainError } from '../errors';
import { type AdminActor, type ClientInfo, recordAudit } from './audit';
import { type AuthService, type PublicUser, toPublicUser } from './auth';
import { decodeCursor, type Page, pageOf, rowId } from './cursor';
import type { FactorService } from './factors';
import { assertRecentSignIn } from './step-up';

export interface UserListQuery {
  search?: string | undefined;
  role?: UserRole | undefined;
  isActive?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A user as an administrator sees them: with their email address and whether it is confirmed. */
export interface AdminUserView extends PublicUser {
  /** The confirmed address, else the one waiting for confirmation; null: none. */
  email: string | null;
  emailVerified: boolean;
  /** A program's account, made under Admin → Service accounts: it has no password and signs in only with its tokens. */
  serviceAccount: boolean;
}

function toAdminUserView(row: Parameters<typeof toPublicUser>[0] & { email: string | null; pending_email: string | null; kind: UserKind }): AdminUserView {
  return { ...toPublicUser(row), email: row.email ?? row.pending_email, emailVerified: row.email !== null, serviceAccount: row.kind === 'service' };
}

export type UserPage = Page<AdminUserView>;

export interface UserAccessChange {
  role?: UserRole | undefined;
  isActive?: boolean | undefined;
}

const userCursor = z.object({ id: rowId });

/**
 * The administrators' rules for accounts. Every method checks that the actor may administer;
 * every change is one transaction with its audit record and, where access ends, the end of the
 * user's sessions.
 */
export class UserAdminService {
  constructor(
    private readonly deps: { db: Kysely<Database>; hasher: PasswordHasher; auth: AuthService; factors: FactorService; stepUpMaxAgeSeconds?: number },
  ) {}

  async list(actor: AdminActor, query: UserListQuery): Promise<UserPage> {
    authorize(actor);
    const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, userCursor).id;
    const rows = await users.listUsers(this.deps.db, {
      search: query.search || undefined,
      role: query.role,
      isActive: query.isActive,
      afterId,
      limit: query.limit + 1,
    });
    return pageOf(rows, query.limit, toAdminUserView, (last) => ({ id: last.id }));
  }

  /**
   * The step-up rule for granting administration: an administrator's session (an API token's
   * sign-in is never recent, so a token is refused); the operator's own commands are not a session.
   */
  #assertRecentSignIn(actor: AdminActor): void {
    if (actor.authenticatedAt)
      assertRecentSignIn({ authenticatedAt: actor.authenticatedAt, mfaEnabled: actor.mfaEnabled ?? false }, this.deps.stepUpMaxAgeSeconds);
  }

  async get(actor: AdminActor, id: number): Promise<AdminUserView> {
    authorize(actor);
    const row = await users.findUserById(this.deps.db, id);
    if (!row) throw userNotFound();
    return toAdminUserView(row);
  }

  async create(actor: AdminActor, input: { username: string; password: string; role: UserRole }, client: ClientInfo | null): Promise<PublicUser> {
    authorize(actor);
    // A new administrator is administration granted, as much as a role changed is (see update).
    if (input.role === 'admin') this.#assertRecentSignIn(actor);
    await this.deps.auth.assertPasswordAllowed(input.password, input.username);
    const passwordHash = await this.deps.hasher.hash(input.password);
    return this.deps.auth.createUser({ username: input.username, passwordHash, role: input.role }, actor, client, 'user.created');
  }

  /** Changes role and/or activation. Deactivation ends every session of the user. */
  async update(actor: AdminActor, id: number, change: UserAccessChange, client: ClientInfo | null): Promise<PublicUser> {
    authorize(actor);
    // Granting or taking administration is the change a stolen session would most want.
    if (change.role !== undefined) this.#assertRecentSignIn(actor);
    const mayRemoveAdmin = change.role === 'user' || change.isActive === false;
    return this.deps.db.transaction().execute(async (trx) => {
      // The admins are locked before the target, always in this order, so two guards never deadlock.
      const activeAdmins = mayRemoveAdmin ? await users.lockActiveAdminIds(trx) : [];
      const before = await users.lockUserById(trx, id);
      if (!before) throw userNotFound();
      const role = change.role ?? before.role;
      const isActive = change.isActive ?? before.is_active;
      const roleChanged = role !== before.role;
      const activeChanged = isActive !== before.is_active;
      if (!roleChanged && !activeChanged) return toPublicUser(before);
      if (activeAdmins.includes(id) && (role !== 'admin' || !isActive)) assertNotLastAdmin(activeAdmins);

      const after = await users.updateUserAccess(trx, id, {
        ...(roleChanged ? { role } : {}),
        ...(activeChanged ? { isActive } : {}),
      });
      const target = { type: 'user', id, label: before.username };
      if (roleChanged) {
        await recordAudit(trx, { action: 'user.role_changed', actor, client, target, details: { before: before.role, after: role } });
      }
      if (activeChanged) {
        const endedSessions = isActive ? 0 : await sessions.revokeUserSessions(trx, id, 'deactivated');
        await recordAudit(trx, {
          action: isActive ? 'user.activated' : 'user.deactivated',
          actor,
          client,
          target,
          details: isActive ? {} : { endedSessions },
        });
      }
      return toPublicUser(after);
    });
  }

  /** Removes every second factor of the user (audited) and ends their sessions. */
  async resetFactors(actor: AdminActor, id: number, client: ClientInfo | null): Promise<{ endedSessions: number }> {
    authorize(actor);
    const row = await users.findUserById(this.deps.db, id);
    if (!row) throw userNotFound();
    return this.deps.factors.resetFactors({ id: actor.id, username: actor.username }, { id: row.id, username: row.username }, client);
  }

  /**
   * Deletes the user with everything only they had: their inbox and the projects nobody else is a
   * member of. Projects others work in stay; if the user is the only owner of one, the deletion
   * is refused until someone else owns it. Tasks assigned to them are unassigned, as each task's
   * history says; tasks and comments they wrote stay, without an author. Their sessions end.
   */
  async delete(actor: AdminActor, id: number, client: ClientInfo | null): Promise<void> {
    authorize(actor);
    await this.deps.db.transaction().execute(async (trx) => {
      const activeAdmins = await users.lockActiveAdminIds(trx);
      const target = await users.lockUserById(trx, id);
      if (!target) throw userNotFound();
      if (activeAdmins.includes(id)) assertNotLastAdmin(activeAdmins);
      const owned = await projects.lockOwnedProjects(trx, id);
      const soleOwned = owned.filter((project) => project.other_active_owners === 0);
      const shared = soleOwned.filter((project) => project.others > 0);
      if (shared.length > 0) {
        throw new DomainError('SOLE_PROJECT_OWNER', 'This user is the only owner of projects others work in; make someone else an owner of them first', {
          details: { projects: shared.map((project) => ({ id: project.id, name: project.name })) },
        });
      }
      for (const project of soleOwned) await projects.deleteProject(trx, project.id);
      const unassigned = await taskEvents.unassignMember(trx, 'every project', id, actor.id, 'account_deleted');
      const endedSessions = await sessions.revokeUserSessions(trx, id, 'deleted');
      await users.deleteUser(trx, id);
      await recordAudit(trx, {
        action: 'user.deleted',
        actor,
        client,
        target: { type: 'user', id, label: target.username },
        details: { role: target.role, wasActive: target.is_active, endedSessions, deletedProjects: soleOwned.length, unassignedTasks: unassigned.length },
      });
    });
  }
}

export function authorize(actor: AdminActor): void {
  if (actor.role !== 'admin') throw new DomainError('FORBIDDEN', 'Administrators only');
}

function assertNotLastAdmin(activeAdmins: number[]): void {
  if (activeAdmins.length <= 1) {
    throw new DomainError('LAST_ADMIN', 'This is the last active administrator; make another one first');
  }
}

export function userNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'No such user');
}
