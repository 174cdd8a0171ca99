import { changeEvents, comments, type Database, type Kysely, projects, tasks } from '@stm/db';
import { mentionedUsernames } from '@stm/validators';
import { z } from 'zod';
import { DomainError } from '../errors';
import { authorize, type Caller, factsOfTask } from './access';
import type { ClientInfo } from './audit';
import type { NotificationsService } from './notifications';
import { decodeCursor, type Page, pageOf, rowId } from './cursor';
import { auditAdministered, type ProjectCaller } from './projects';
import type { Quotas } from './quotas';
import { recordChange } from './events';
import { recordTaskEvents } from './task-history';

export interface Comment {
  id: number;
  taskId: number;
  /** Null once the author's account is deleted. */
  author: { id: number; username: string } | null;
  /** Plain text, exactly as written: clients show it as text, never as markup. */
  body: string;
  /** The members the text names with @username. */
  mentions: { id: number; username: string }[];
  createdAt: Date;
  updatedAt: Date;
  edited: boolean;
  version: number;
}

function toComment(row: comments.CommentRow): Comment {
  return {
    id: row.id,
    taskId: row.task_id,
    author: row.author_id === null || row.author_username === null ? null : { id: row.author_id, username: row.author_username },
    body: row.body,
    mentions: row.mention_users,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    edited: row.version > 1,
    version: row.version,
  };
}

function taskNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Task not found');
}

function commentNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Comment not found');
}

const cursor = z.object({ i: rowId });

/**
 * Comments on tasks. Members read them; editors and owners write them; a comment is changed or
 * deleted by its author, or by an owner of the project or an administrator. Each one written,
 * edited or deleted goes into its task's history.
 */
export class CommentsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly quotas: Quotas,
    private readonly notifications: NotificationsService,
  ) {}

  /** A task's comments, oldest first. */
  async list(caller: Caller, query: { taskId: number; limit: number; cursor?: string | undefined }): Promise<Page<Comment>> {
    const task = await tasks.findTaskAccess(this.db, query.taskId, caller.id);
    authorize(caller, task && factsOfTask(task), 'read', taskNotFound);
    const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursor).i;
    const rows = await comments.listComments(this.db, query.taskId, { afterId, limit: query.limit + 1 });
    return pageOf(rows, query.limit, toComment, (last) => ({ i: last.id }));
  }

  async create(caller: ProjectCaller, input: { taskId: number; body: string }, client: ClientInfo | null): Promise<Comment> {
    return this.db.transaction().execute(async (trx) => {
      const [task] = await tasks.lockTasks(trx, [input.taskId], caller.id);
      const access = authorize(caller, task && factsOfTask(task), 'write', taskNotFound);
      const { project_id: projectId, project_name: projectName } = task as tasks.LockedTask;
      const mentions = await this.#mentions(trx, projectId, input.body);
      const id = await comments.insertComment(trx, { taskId: input.taskId, authorId: caller.id, body: input.body, mentions });
      await this.quotas.assertWithin(trx, caller, 'comments');
      await recordTaskEvents(trx, [{ kind: 'commented', details: { commentId: id }, taskId: input.taskId, projectId, actorId: caller.id }]);
      await this.notifications.commented(trx, { taskId: input.taskId, commentId: id, actorId: caller.id, mentions });
      await auditAdministered(trx, caller, access, { id: projectId, name: projectName }, client, 'comments.create', { taskId: input.taskId, commentId: id });
      const comment = toComment((await comments.findComment(trx, id)) as comments.CommentRow);
      await recordChange(trx, { projectId, kind: 'comment.created', entityId: id, actorId: caller.id, payload: { taskId: input.taskId, comment } });
      return comment;
    });
  }

  async update(caller: ProjectCaller, input: { id: number; body: string; expectedVersion?: number | undefined }, client: ClientInfo | null): Promise<Comment> {
    return this.db.transaction().execute(async (trx) => {
      const comment = await this.#changeable(trx, caller, input.id, client, 'comments.update');
      if (input.expectedVersion !== undefined && input.expectedVersion !== comment.version) {
        throw new DomainError('VERSION_CONFLICT', 'The comment was changed by someone else; reload it and try again', {
          field: 'expectedVersion',
          details: { currentVersion: comment.version },
        });
      }
      const mentions = await this.#mentions(trx, comment.project_id, input.body);
      await comments.updateComment(trx, input.id, { body: input.body, mentions });
      await changeEvents.redactCommentEvents(trx, input.id);
      await recordTaskEvents(trx, [
        { kind: 'comment_edited', details: { commentId: input.id }, taskId: comment.task_id, projectId: comment.project_id, actorId: caller.id },
      ]);
      const edited = toComment((await comments.findComment(trx, input.id)) as comments.CommentRow);
      await recordChange(trx, {
        projectId: comment.project_id,
        kind: 'comment.updated',
        entityId: input.id,
        actorId: caller.id,
        payload: { taskId: comment.task_id, comment: edited },
      });
      return edited;
    });
  }

  async delete(caller: ProjectCaller, commentId: number, client: ClientInfo | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const comment = await this.#changeable(trx, caller, commentId, client, 'comments.delete');
      await comments.deleteComment(trx, commentId);
      await changeEvents.redactCommentEvents(trx, commentId);
      await recordTaskEvents(trx, [
        { kind: 'comment_deleted', details: { commentId }, taskId: comment.task_id, projectId: comment.project_id, actorId: caller.id },
      ]);
      await recordChange(trx, {
        projectId: comment.project_id,
        kind: 'comment.deleted',
        entityId: commentId,
        actorId: caller.id,
        payload: { taskId: comment.task_id },
      });
    });
  }

  /**
   * The comment locked, if the caller may change it: its author (who must still be able to write
   * in the project), an owner of the project, or an administrator.
   */
  async #changeable(trx: Kysely<Database>, caller: ProjectCaller, commentId: number, client: ClientInfo | null, operation: string) {
    const comment = await comments.findCommentAccess(trx, commentId, caller.id, { lock: true });
    const own = comment?.author_id === caller.id;
    authorize(caller, comment && factsOfTask(comment), 'read', commentNotFound);
    let access;
    try {
      access = authorize(caller, comment && factsOfTask(comment), own ? 'write' : 'manage', commentNotFound);
    } catch (error) {
      if (error instanceof DomainError && error.reason === 'PROJECT_ROLE_TOO_LOW' && !own) {
        throw new DomainError('PROJECT_ROLE_TOO_LOW', "Only a comment's author or an owner of the project may change it", { details: error.details });
      }
      throw error;
    }
    const found = comment as NonNullable<typeof comment>;
    await auditAdministered(trx, caller, access, { id: found.project_id, name: found.project_name }, client, operation, { commentId });
    return found;
  }

  /** The ids of the project's members the text names with @username. */
  async #mentions(trx: Kysely<Database>, projectId: number, body: string): Promise<number[]> {
    const named = mentionedUsernames(body);
    if (named.length === 0) return [];
    const members = await projects.findMembersByUsername(trx, projectId, named);
    return members.map((member) => member.user_id).sort((a, b) => a - b);
  }
}
