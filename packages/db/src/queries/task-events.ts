import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

export interface NewTaskEvent {
  taskId: number;
  projectId: number;
  actorId: number | null;
  kind: string;
  details: Record<string, unknown>;
}

/** Appends to the history of tasks; callers pass the transaction of the change itself. */
export async function insertTaskEvents(db: Kysely<Database>, events: NewTaskEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('task_events')
    .values(
      events.map((event) => ({
        task_id: event.taskId,
        project_id: event.projectId,
        actor_id: event.actorId,
        kind: event.kind,
        details: JSON.stringify(event.details),
      })),
    )
    .execute();
}

/** A task's history, newest first, before the event `beforeId`. */
export async function listTaskEvents(db: Kysely<Database>, taskId: number, query: { beforeId?: number | undefined; limit: number }) {
  let q = db
    .selectFrom('task_events as e')
    .leftJoin('users as actor', 'actor.id', 'e.actor_id')
    .select(['e.id', 'e.task_id', 'e.actor_id', 'actor.username as actor_username', 'e.kind', 'e.details', 'e.occurred_at'])
    .where('e.task_id', '=', taskId);
  if (query.beforeId !== undefined) q = q.where('e.id', '<', query.beforeId);
  return q.orderBy('e.id', 'desc').limit(query.limit).execute();
}

/**
 * Unassigns every task of the project (or of every project) assigned to `userId`, who is leaving
 * it, and records it in each task's history, in one statement. Returns the ids of the tasks.
 */
export async function unassignMember(
  db: Kysely<Database>,
  projectId: number | 'every project',
  userId: number,
  actorId: number | null,
  reason: string,
): Promise<number[]> {
  const inProject = projectId === 'every project' ? sql`true` : sql`project_id = ${projectId}`;
  const { rows } = await sql<{ id: number }>`
    with unassigned as (
      update tasks set assignee_id = null, version = version + 1, updated_at = now()
      where ${inProject} and assignee_id = ${userId}
      returning id, project_id
    ), recorded as (
      insert into task_events (task_id, project_id, actor_id, kind, details)
      select unassigned.id, unassigned.project_id, ${actorId}, 'assigned',
        jsonb_build_object('from', jsonb_build_object('id', u.id, 'username', u.username), 'to', null, 'reason', ${reason}::text)
      from unassigned, users u where u.id = ${userId}
    )
    select id from unassigned order by id`.execute(db);
  return rows.map((row) => row.id);
}
