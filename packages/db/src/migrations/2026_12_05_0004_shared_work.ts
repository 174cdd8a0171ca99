import { type Kysely, sql } from 'kysely';

/** Not backward-compatible: it drops `tasks.owner_id`, which the release before it reads and writes. */
export const backwardCompatible = false;

/**
 * Shared work: projects with members, and tasks that belong to a project instead of a person.
 * Every user gets a personal project (their inbox) and every existing task moves into its
 * owner's inbox as it is: id, version, timestamps and completion time untouched.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Trigram indexes serve substring search (ILIKE '%…%'), the search the API has always offered;
  // PostgreSQL and the embedded database both ship the extension.
  await sql`create extension if not exists pg_trgm`.execute(db);

  await db.schema
    .createTable('projects')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) between 1 and 100`))
    .addColumn('description', 'text', (c) =>
      c
        .notNull()
        .defaultTo('')
        .check(sql`char_length(description) <= 2000`),
    )
    .addColumn('color', 'text', (c) =>
      c
        .notNull()
        .defaultTo('blue')
        .check(sql`color in (${sql.join(COLORS.map((color) => sql.lit(color)))})`),
    )
    // Set on a user's personal project, the only one of each user; it goes with the user.
    .addColumn('inbox_owner_id', 'integer', (c) => c.unique().references('users.id').onDelete('cascade'))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    // An inbox is never archived.
    .addCheckConstraint('projects_inbox_not_archived', sql`inbox_owner_id is null or archived_at is null`)
    .execute();
  await sql`create index projects_created_by_idx on projects (created_by)`.execute(db);

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'editor', 'viewer')`))
    .addColumn('added_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('added_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addPrimaryKeyConstraint('project_members_pkey', ['project_id', 'user_id'])
    .execute();
  // A user's projects, with the role, without visiting the table.
  await sql`create index project_members_user_idx on project_members (user_id, project_id) include (role)`.execute(db);

  await db.schema
    .createTable('labels')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) between 1 and 50`))
    .addColumn('color', 'text', (c) =>
      c
        .notNull()
        .defaultTo('slate')
        .check(sql`color in (${sql.join(COLORS.map((color) => sql.lit(color)))})`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index labels_project_name_key on labels (project_id, lower(name))`.execute(db);

  // Existing users get their inbox, and are its owner.
  await sql`
    insert into projects (name, inbox_owner_id, created_by, created_at, updated_at)
    select 'Inbox', id, id, created_at, created_at from users order by id`.execute(db);
  await sql`
    insert into project_members (project_id, user_id, role, added_at)
    select id, inbox_owner_id, 'owner', created_at from projects where inbox_owner_id is not null`.execute(db);

  await db.schema
    .alterTable('tasks')
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('assignee_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    // Manual order within a status column of a project. Exact decimals: a task placed between two
    // others takes the midpoint, which needs one more digit at most, and never ties with either.
    .addColumn('position', 'numeric')
    .execute();
  // Each status column keeps the order the list showed by default: newest first.
  await sql`
    update tasks set
      project_id = inbox.id,
      created_by = tasks.owner_id,
      position = ordered.rank * 1024
    from projects inbox,
      (select id, row_number() over (partition by owner_id, status order by created_at desc, id desc) as rank from tasks) ordered
    where inbox.inbox_owner_id = tasks.owner_id and ordered.id = tasks.id`.execute(db);
  await sql`alter table tasks alter column project_id set not null, alter column position set not null`.execute(db);
  // Dropping the owner drops the indexes it led; a task's people are now its creator and assignee.
  await db.schema.alterTable('tasks').dropColumn('owner_id').execute();

  // A project's list is one project's rows in one order, resumed after a (key, id) cursor: one
  // index per sort key, led by the project, makes every page a short range scan whatever the
  // size of the table or of the project. Backward scans serve the other direction.
  await sql`create index tasks_project_created_idx on tasks (project_id, created_at, id)`.execute(db);
  await sql`create index tasks_project_updated_idx on tasks (project_id, updated_at, id)`.execute(db);
  await sql`create index tasks_project_due_idx on tasks (project_id, due_at, id)`.execute(db);
  await sql`create index tasks_project_priority_idx on tasks (project_id, priority_rank, id)`.execute(db);
  // A board column: one project's tasks of one status in manual order.
  await sql`create index tasks_project_position_idx on tasks (project_id, status, position, id)`.execute(db);
  // "My work": a user's assigned tasks across projects, newest first or by due date (also the
  // foreign key's set-null on delete).
  await sql`create index tasks_assignee_idx on tasks (assignee_id, created_at, id)`.execute(db);
  await sql`create index tasks_assignee_due_idx on tasks (assignee_id, due_at, id)`.execute(db);
  await sql`create index tasks_created_by_idx on tasks (created_by)`.execute(db);
  await sql`create index tasks_title_trgm_idx on tasks using gin (title gin_trgm_ops)`.execute(db);
  await sql`create index tasks_description_trgm_idx on tasks using gin (description gin_trgm_ops)`.execute(db);

  await db.schema
    .createTable('task_labels')
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('label_id', 'integer', (c) => c.notNull().references('labels.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('task_labels_pkey', ['task_id', 'label_id'])
    .execute();
  await sql`create index task_labels_label_idx on task_labels (label_id, task_id)`.execute(db);

  await db.schema
    .createTable('task_comments')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('author_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('body', 'text', (c) => c.notNull().check(sql`char_length(body) between 1 and 10000`))
    // Members named with @username when the comment was written (or last edited).
    .addColumn('mentions', sql`integer[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await sql`create index task_comments_task_idx on task_comments (task_id, id)`.execute(db);
  await sql`create index task_comments_author_idx on task_comments (author_id)`.execute(db);
  await sql`create index task_comments_body_trgm_idx on task_comments using gin (body gin_trgm_ops)`.execute(db);

  // What happened to a task, written in the transaction of the change itself. Append-only.
  await db.schema
    .createTable('task_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('actor_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index task_events_task_idx on task_events (task_id, id)`.execute(db);
  await sql`create index task_events_project_idx on task_events (project_id, id)`.execute(db);
  await sql`create index task_events_actor_idx on task_events (actor_id)`.execute(db);
  // History is never rewritten or erased: the database itself refuses it. Rows go only with their
  // task (the foreign key's cascade runs once the task is gone), and an actor deleted becomes null
  // through the foreign key; those two are the only changes allowed.
  await sql`
    create or replace function task_events_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' or (tg_op = 'DELETE' and exists (select 1 from tasks where id = old.task_id)) then
        raise exception 'task history is append-only' using errcode = 'P0001';
      end if;
      if tg_op = 'DELETE' then
        return old;
      end if;
      if new.id is distinct from old.id or new.task_id is distinct from old.task_id
        or new.project_id is distinct from old.project_id or new.kind is distinct from old.kind
        or new.details is distinct from old.details or new.occurred_at is distinct from old.occurred_at
        or (new.actor_id is distinct from old.actor_id and new.actor_id is not null) then
        raise exception 'task history is append-only' using errcode = 'P0001';
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger task_events_append_only before update or delete on task_events for each row execute function task_events_append_only()`.execute(db);
  await sql`create trigger task_events_not_truncated before truncate on task_events for each statement execute function task_events_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('task_events').execute();
  await sql`drop function task_events_append_only()`.execute(db);
  await db.schema.dropTable('task_comments').execute();
  await db.schema.dropTable('task_labels').execute();
  // Back to one owner per task: its creator, else the owner of its project (a task of a creator
  // since deleted still belongs to someone).
  await db.schema
    .alterTable('tasks')
    .addColumn('owner_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .execute();
  await sql`
    update tasks set owner_id = coalesce(
      created_by,
      (select user_id from project_members m where m.project_id = tasks.project_id and m.role = 'owner' order by user_id limit 1))`.execute(db);
  await sql`delete from tasks where owner_id is null`.execute(db);
  await sql`alter table tasks alter column owner_id set not null`.execute(db);
  await db.schema.alterTable('tasks').dropColumn('project_id').dropColumn('created_by').dropColumn('assignee_id').dropColumn('position').execute();
  await sql`drop index if exists tasks_title_trgm_idx`.execute(db);
  await sql`drop index if exists tasks_description_trgm_idx`.execute(db);
  await sql`create index tasks_owner_created_idx on tasks (owner_id, created_at, id)`.execute(db);
  await sql`create index tasks_owner_updated_idx on tasks (owner_id, updated_at, id)`.execute(db);
  await sql`create index tasks_owner_due_idx on tasks (owner_id, due_at, id)`.execute(db);
  await sql`create index tasks_owner_priority_idx on tasks (owner_id, priority_rank, id)`.execute(db);
  await db.schema.dropTable('labels').execute();
  await db.schema.dropTable('project_members').execute();
  await db.schema.dropTable('projects').execute();
}

/** The colours a project or label may have; the console draws each in both themes. */
const COLORS = ['slate', 'red', 'orange', 'amber', 'green', 'teal', 'blue', 'indigo', 'violet', 'pink'] as const;
