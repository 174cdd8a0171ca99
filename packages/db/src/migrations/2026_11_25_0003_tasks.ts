import { type Kysely, sql } from 'kysely';

/** Expand-only: the release before it runs on the schema it leaves. */
export const backwardCompatible = true;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tasks')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull().check(sql`char_length(title) between 1 and 200`))
    .addColumn('description', 'text', (c) =>
      c
        .notNull()
        .defaultTo('')
        .check(sql`char_length(description) <= 10000`),
    )
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('todo')
        .check(sql`status in ('todo', 'in_progress', 'done')`),
    )
    .addColumn('priority', 'text', (c) =>
      c
        .notNull()
        .defaultTo('medium')
        .check(sql`priority in ('low', 'medium', 'high')`),
    )
    // Sorting by priority means by rank, not by name; a stored rank can lead an index.
    .addColumn('priority_rank', 'smallint', (c) =>
      c
        .notNull()
        .generatedAlwaysAs(sql`case priority when 'low' then 1 when 'medium' then 2 else 3 end`)
        .stored(),
    )
    .addColumn('due_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    // A task is completed exactly while it is done, whoever writes the row.
    .addCheckConstraint('tasks_completed_when_done', sql`(status = 'done') = (completed_at is not null)`)
    .execute();

  // A user's list is always one owner's rows in one order, resumed after a (key, id) cursor: one
  // index per sort key, led by the owner, makes every page a short range scan whatever the size
  // of the table. Backward scans serve the other direction. These also cover the owner foreign
  // key (cascading deletes).
  await sql`create index tasks_owner_created_idx on tasks (owner_id, created_at, id)`.execute(db);
  await sql`create index tasks_owner_updated_idx on tasks (owner_id, updated_at, id)`.execute(db);
  await sql`create index tasks_owner_due_idx on tasks (owner_id, due_at, id)`.execute(db);
  await sql`create index tasks_owner_priority_idx on tasks (owner_id, priority_rank, id)`.execute(db);
  // The administrators' list across every owner, in the same orders.
  await sql`create index tasks_created_idx on tasks (created_at, id)`.execute(db);
  await sql`create index tasks_updated_idx on tasks (updated_at, id)`.execute(db);
  await sql`create index tasks_due_idx on tasks (due_at, id)`.execute(db);
  await sql`create index tasks_priority_idx on tasks (priority_rank, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tasks').execute();
}
