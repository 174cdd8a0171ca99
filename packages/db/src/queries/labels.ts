import { type Kysely, sql } from 'kysely';
import type { Database, ProjectColor } from '../schema';

export const labelColumns = ['labels.id', 'labels.project_id', 'labels.name', 'labels.color', 'labels.created_at'] as const;

/** A project's labels by name, any letter case. */
export async function listLabels(db: Kysely<Database>, projectId: number) {
  return db
    .selectFrom('labels')
    .select(labelColumns)
    .where('project_id', '=', projectId)
    .orderBy(sql`lower(name)`)
    .orderBy('id')
    .execute();
}

export async function countLabels(db: Kysely<Database>, projectId: number): Promise<number> {
  const row = await db
    .selectFrom('labels')
    .select(sql<number>`count(*)`.as('count'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return row.count;
}

/** The project a label belongs to; undefined when there is no such label. */
export async function findLabelProjectId(db: Kysely<Database>, labelId: number): Promise<number | undefined> {
  const row = await db.selectFrom('labels').select('project_id').where('id', '=', labelId).executeTakeFirst();
  return row?.project_id;
}

/** The labels among `ids` that belong to the project. */
export async function findProjectLabels(db: Kysely<Database>, projectId: number, ids: number[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('labels').select(labelColumns).where('project_id', '=', projectId).where('id', 'in', ids).execute();
}

export async function insertLabel(db: Kysely<Database>, label: { projectId: number; name: string; color: ProjectColor }) {
  return db
    .insertInto('labels')
    .values({ project_id: label.projectId, name: label.name, color: label.color })
    .returning(['id', 'project_id', 'name', 'color', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function updateLabel(db: Kysely<Database>, labelId: number, changes: { name?: string; color?: ProjectColor }) {
  return db
    .updateTable('labels')
    .set({ ...(changes.name !== undefined ? { name: changes.name } : {}), ...(changes.color !== undefined ? { color: changes.color } : {}) })
    .where('id', '=', labelId)
    .returning(['id', 'project_id', 'name', 'color', 'created_at'])
    .executeTakeFirstOrThrow();
}

/** Locks the tasks that have this label, in id order, as a change of a task takes them. */
export async function lockLabelledTasks(db: Kysely<Database>, labelId: number): Promise<void> {
  await db
    .selectFrom('tasks')
    .select('id')
    .where('id', 'in', db.selectFrom('task_labels').select('task_id').where('label_id', '=', labelId))
    .orderBy('id')
    .forUpdate()
    .execute();
}

/**
 * Deletes a label, taking it off every task that had it: each such task changes version and says
 * so in its history, as if someone had removed the label from it. Returns how many tasks had it.
 */
export async function deleteLabel(db: Kysely<Database>, labelId: number, actorId: number): Promise<number> {
  const { rows } = await sql<{ tasks: number }>`
    with label as (
      select id, project_id, name, color from labels where id = ${labelId}
    ), untagged as (
      delete from task_labels where label_id = ${labelId} returning task_id
    ), changed as (
      update tasks set version = version + 1, updated_at = now() where id in (select task_id from untagged) returning id, project_id
    ), recorded as (
      insert into task_events (task_id, project_id, actor_id, kind, details)
      select changed.id, changed.project_id, ${actorId}, 'labelled', jsonb_build_object(
        'added', '[]'::jsonb,
        'removed', jsonb_build_array(jsonb_build_object('id', label.id, 'name', label.name, 'color', label.color)),
        'reason', 'label_deleted')
      from changed, label
    )
    select count(*)::int as tasks from changed`.execute(db);
  await db.deleteFrom('labels').where('id', '=', labelId).execute();
  return rows[0]?.tasks ?? 0;
}

/** The labels a task has now. */
export async function findTaskLabels(db: Kysely<Database>, taskId: number) {
  return db
    .selectFrom('task_labels')
    .innerJoin('labels', 'labels.id', 'task_labels.label_id')
    .select(labelColumns)
    .where('task_labels.task_id', '=', taskId)
    .orderBy(sql`lower(labels.name)`)
    .orderBy('labels.id')
    .execute();
}

export async function addTaskLabels(db: Kysely<Database>, taskId: number, labelIds: number[]): Promise<void> {
  if (labelIds.length === 0) return;
  await db
    .insertInto('task_labels')
    .values(labelIds.map((labelId) => ({ task_id: taskId, label_id: labelId })))
    .onConflict((conflict) => conflict.columns(['task_id', 'label_id']).doNothing())
    .execute();
}

export async function removeTaskLabels(db: Kysely<Database>, taskId: number, labelIds: number[]): Promise<void> {
  if (labelIds.length === 0) return;
  await db.deleteFrom('task_labels').where('task_id', '=', taskId).where('label_id', 'in', labelIds).execute();
}

/** Every label of these tasks goes: their labels belong to the project they are leaving. */
export async function clearTaskLabels(db: Kysely<Database>, taskIds: number[]): Promise<void> {
  if (taskIds.length === 0) return;
  await db.deleteFrom('task_labels').where('task_id', 'in', taskIds).execute();
}
