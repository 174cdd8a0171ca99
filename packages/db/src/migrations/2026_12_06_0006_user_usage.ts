import { type Kysely, sql } from 'kysely';

/** Expand-only: the release before it runs on the schema it leaves. */
export const backwardCompatible = true;

/**
 * What each account has made and still exists: its tasks, shared projects (inboxes are not
 * counted) and comments, for the per-user quotas. Kept by statement-level triggers, so every path
 * that adds or removes rows (a cascade from a deleted project, a bulk delete, a seed, a restore)
 * keeps the counts right without the application remembering to. The row a creation updates is
 * locked until its transaction ends, which serialises one account's concurrent creations: the
 * quota check that follows the insert sees every creation committed before it.
 *
 * Expand-only: the previous release's inserts fire these triggers too, so its writes during a
 * rolling upgrade are counted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_usage')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('tasks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('projects', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('comments', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // One function per counted table and direction. The column to add to is a literal in each, not
  // a parameter, so each is a plain statement PostgreSQL plans once.
  for (const { table, owner, column, where } of COUNTED) {
    const only = where ? sql.raw(` and ${where}`) : sql``;
    await sql`
      create function ${sql.raw(`user_usage_${table}_added`)}() returns trigger language plpgsql as $$
      begin
        insert into user_usage (user_id, ${sql.raw(column)})
        select ${sql.raw(owner)}, count(*) from added where ${sql.raw(owner)} is not null${only} group by ${sql.raw(owner)}
        on conflict (user_id) do update set ${sql.raw(column)} = user_usage.${sql.raw(column)} + excluded.${sql.raw(column)};
        return null;
      end $$`.execute(db);
    await sql`
      create function ${sql.raw(`user_usage_${table}_removed`)}() returns trigger language plpgsql as $$
      begin
        update user_usage u set ${sql.raw(column)} = greatest(0, u.${sql.raw(column)} - gone.n)
        from (select ${sql.raw(owner)} as user_id, count(*) as n from removed where ${sql.raw(owner)} is not null${only} group by ${sql.raw(owner)}) gone
        where u.user_id = gone.user_id;
        -- A row exists only while it counts something, so the counts a restore rebuilds from the
        -- rows it loads are these same rows.
        delete from user_usage u
        where u.user_id in (select ${sql.raw(owner)} from removed) and u.tasks = 0 and u.projects = 0 and u.comments = 0;
        return null;
      end $$`.execute(db);
    await sql`create trigger ${sql.raw(`user_usage_${table}_added`)} after insert on ${sql.raw(table)}
      referencing new table as added for each statement execute function ${sql.raw(`user_usage_${table}_added`)}()`.execute(db);
    await sql`create trigger ${sql.raw(`user_usage_${table}_removed`)} after delete on ${sql.raw(table)}
      referencing old table as removed for each statement execute function ${sql.raw(`user_usage_${table}_removed`)}()`.execute(db);
  }

  // The counts of what exists now. The owner columns only ever change to null, when their account
  // is deleted, and its usage row goes with it: updates need no trigger.
  await sql`
    insert into user_usage (user_id, tasks, projects, comments)
    select * from (
      select u.id,
        (select count(*) from tasks t where t.created_by = u.id) as tasks,
        (select count(*) from projects p where p.created_by = u.id and p.inbox_owner_id is null) as projects,
        (select count(*) from task_comments c where c.author_id = u.id) as comments
      from users u
    ) counted
    where tasks > 0 or projects > 0 or comments > 0`.execute(db);
}

const COUNTED = [
  { table: 'tasks', owner: 'created_by', column: 'tasks', where: null },
  { table: 'projects', owner: 'created_by', column: 'projects', where: 'inbox_owner_id is null' },
  { table: 'task_comments', owner: 'author_id', column: 'comments', where: null },
] as const;

export async function down(db: Kysely<any>): Promise<void> {
  for (const { table } of COUNTED) {
    await sql`drop trigger ${sql.raw(`user_usage_${table}_added`)} on ${sql.raw(table)}`.execute(db);
    await sql`drop trigger ${sql.raw(`user_usage_${table}_removed`)} on ${sql.raw(table)}`.execute(db);
    await sql`drop function ${sql.raw(`user_usage_${table}_added`)}()`.execute(db);
    await sql`drop function ${sql.raw(`user_usage_${table}_removed`)}()`.execute(db);
  }
  await db.schema.dropTable('user_usage').execute();
}
