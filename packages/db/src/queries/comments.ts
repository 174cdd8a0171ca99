import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

const commentColumns = [
  'c.id',
  'c.task_id',
  'c.author_id',
  'author.username as author_username',
  'c.body',
  'c.mentions',
  'c.created_at',
  'c.updated_at',
  'c.version',
] as const;

/** The usernames of a comment's mentions, in the order of their ids. */
const mentionUsernames = sql<{ id: number; username: string }[]>`coalesce((
  select json_agg(json_build_object('id', u.id, 'username', u.username) order by u.id)
  from users u where u.id = any(c.mentions)), '[]'::json)`;

function withAuthor(db: Kysely<Database>) {
  return db.selectFrom('task_comments as c').leftJoin('users as author', 'author.id', 'c.author_id');
}

/** A task's comments, oldest first, after the comment `afterId`. */
export async function listComments(db: Kysely<Database>, taskId: number, query: { afterId?: number | undefined; limit: number }) {
  let q = withAuthor(db)
    .select([...commentColumns, mentionUsernames.as('mention_users')])
    .where('c.task_id', '=', taskId);
  if (query.afterId !== undefined) q = q.where('c.id', '>', query.afterId);
  return q.orderBy('c.id').limit(query.limit).execute();
}

export async function findComment(db: Kysely<Database>, commentId: number) {
  return withAuthor(db)
    .select([...commentColumns, mentionUsernames.as('mention_users')])
    .where('c.id', '=', commentId)
    .executeTakeFirst();
}

export type CommentRow = NonNullable<Awaited<ReturnType<typeof findComment>>>;

/**
 * A comment with what deciding about it takes: its task's project, and `userId`'s role there
 * (null when not a member). With `lock`, the comment is locked until the transaction ends.
 */
export async function findCommentAccess(db: Kysely<Database>, commentId: number, userId: number, options: { lock?: boolean } = {}) {
  let q = db
    .selectFrom('task_comments as c')
    .innerJoin('tasks', 'tasks.id', 'c.task_id')
    .innerJoin('projects', 'projects.id', 'tasks.project_id')
    .leftJoin('project_members as m', (join) => join.onRef('m.project_id', '=', 'tasks.project_id').on('m.user_id', '=', userId))
    .select([
      'c.id',
      'c.task_id',
      'c.author_id',
      'c.version',
      'tasks.project_id',
      'projects.name as project_name',
      'projects.archived_at as project_archived_at',
      'projects.inbox_owner_id as project_inbox_owner_id',
      'm.role',
    ])
    .where('c.id', '=', commentId);
  if (options.lock) q = q.forUpdate('c');
  return q.executeTakeFirst();
}

export async function insertComment(db: Kysely<Database>, comment: { taskId: number; authorId: number; body: string; mentions: number[] }) {
  const { id } = await db
    .insertInto('task_comments')
    .values({ task_id: comment.taskId, author_id: comment.authorId, body: comment.body, mentions: comment.mentions })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function updateComment(db: Kysely<Database>, commentId: number, change: { body: string; mentions: number[] }): Promise<void> {
  await db
    .updateTable('task_comments')
    .set({ body: change.body, mentions: change.mentions, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('id', '=', commentId)
    .execute();
}

export async function deleteComment(db: Kysely<Database>, commentId: number): Promise<void> {
  await db.deleteFrom('task_comments').where('id', '=', commentId).execute();
}
