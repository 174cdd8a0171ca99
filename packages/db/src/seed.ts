/**
 * Bulk data for benchmarks and tests: users, projects and tasks generated inside the database with
 * `generate_series`, so a million tasks are a few statements rather than a million round trips.
 * The data is a pure function of the row number (no randomness): two runs seed the same tasks,
 * spread over statuses, priorities, due dates (some past, some none) and a year of history.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, ProjectRole, UserRole } from './schema';

export interface SeedUsersOptions {
  count: number;
  /** Usernames are the prefix and a zero-padded number: `seed_000001`, ... */
  prefix?: string;
  /** The default matches no password: seeded accounts cannot sign in unless given a real hash. */
  passwordHash?: string;
  role?: UserRole;
}

const UNUSABLE_PASSWORD_HASH = '!seeded-account-without-password';

/** Inserts `count` users, each with their inbox as accounts get one; returns their ids in username order. */
export async function seedUsers(db: Kysely<Database>, options: SeedUsersOptions): Promise<number[]> {
  const prefix = options.prefix ?? 'seed_';
  const { rows } = await sql<{ id: number }>`
    insert into users (username, password_hash, role)
    select ${prefix} || lpad(g::text, 6, '0'), ${options.passwordHash ?? UNUSABLE_PASSWORD_HASH}, ${options.role ?? 'user'}
    from generate_series(1, ${options.count}::int) as g
    order by g
    returning id`.execute(db);
  const ids = rows.map((row) => row.id);
  await sql`
    with inboxes as (
      insert into projects (name, inbox_owner_id, created_by)
      select 'Inbox', id, id from unnest(${ids}::int[]) as id order by id
      returning id, inbox_owner_id
    )
    insert into project_members (project_id, user_id, role) select id, inbox_owner_id, 'owner' from inboxes`.execute(db);
  return ids;
}

export interface SeedProjectOptions {
  name: string;
  ownerId: number;
  members?: { userId: number; role: ProjectRole }[];
}

/** A shared project with its owner and members; returns its id. */
export async function seedProject(db: Kysely<Database>, options: SeedProjectOptions): Promise<number> {
  const { id } = await db.insertInto('projects').values({ name: options.name, created_by: options.ownerId }).returning('id').executeTakeFirstOrThrow();
  const members = [{ userId: options.ownerId, role: 'owner' as const }, ...(options.members ?? []).filter((member) => member.userId !== options.ownerId)];
  await db
    .insertInto('project_members')
    .values(members.map((member) => ({ project_id: id, user_id: member.userId, role: member.role, added_by: options.ownerId })))
    .execute();
  return id;
}

export interface SeedTasksOptions {
  /** Tasks are dealt to these users' inboxes in turn (made by them), so each gets the same share (±1). */
  ownerIds?: number[];
  /**
   * Or every task goes into this project, made by `creatorIds` in turn, two in three assigned to
   * one of `assigneeIds` (when given).
   */
  project?: { id: number; creatorIds: number[]; assigneeIds?: number[] };
  count: number;
  /** Rows per statement: bounded so no single statement runs into a statement timeout. */
  batchSize?: number;
  /** The moment the data is relative to (creation up to a year before it). Default: now. */
  now?: Date;
  /**
   * Numbers the generated rows; seeding again with `firstRow` past the last run adds different
   * tasks instead of repeating titles.
   */
  firstRow?: number;
  onProgress?: (inserted: number) => void;
}

const WORDS = [
  'invoice',
  'report',
  'deploy',
  'review',
  'meeting',
  'budget',
  'design',
  'backup',
  'release',
  'customer',
  'migration',
  'security',
  'audit',
  'roadmap',
  'hiring',
  'onboarding',
];

/** Inserts `count` tasks; returns how many were inserted. */
export async function seedTasks(db: Kysely<Database>, options: SeedTasksOptions): Promise<number> {
  const target = await targetOf(db, options);
  const batchSize = options.batchSize ?? 50_000;
  const now = options.now ?? new Date();
  const first = options.firstRow ?? 1;
  let inserted = 0;
  while (inserted < options.count) {
    const size = Math.min(batchSize, options.count - inserted);
    await insertBatch(db, target, now, first + inserted, first + inserted + size - 1);
    inserted += size;
    options.onProgress?.(inserted);
  }
  return inserted;
}

interface Target {
  /** Row g goes into projects[g mod n], made by creators[g mod m]. */
  projectIds: number[];
  creatorIds: number[];
  assigneeIds: number[] | null;
}

async function targetOf(db: Kysely<Database>, options: SeedTasksOptions): Promise<Target> {
  if (options.project) {
    if (options.project.creatorIds.length === 0) throw new Error('seedTasks needs at least one creator');
    const assignees = options.project.assigneeIds ?? [];
    return { projectIds: [options.project.id], creatorIds: options.project.creatorIds, assigneeIds: assignees.length > 0 ? assignees : null };
  }
  const owners = options.ownerIds ?? [];
  if (owners.length === 0) throw new Error('seedTasks needs at least one owner or a project');
  const inboxes = await db.selectFrom('projects').select(['id', 'inbox_owner_id']).where('inbox_owner_id', 'in', owners).execute();
  const inboxOf = new Map(inboxes.map((row) => [row.inbox_owner_id, row.id]));
  const projectIds = owners.map((owner) => {
    const inbox = inboxOf.get(owner);
    if (inbox === undefined) throw new Error(`User ${owner} has no inbox`);
    return inbox;
  });
  return { projectIds, creatorIds: owners, assigneeIds: null };
}

// `h` is a multiplicative hash of the row number (Knuth's constant): a well-spread 32-bit value
// every column derives from, so neighbouring rows differ while the data stays reproducible.
// Creation times carry microseconds, as real ones do, so pagination is tested against them.
// Positions follow the row number, so each status column has an order without ties.
async function insertBatch(db: Kysely<Database>, target: Target, now: Date, from: number, to: number) {
  await sql`
    insert into tasks (project_id, created_by, assignee_id, position, title, description, status, priority, due_at, completed_at, created_at, updated_at, version)
    select
      projects[1 + (g % cardinality(projects))::int],
      creators[1 + (g % cardinality(creators))::int],
      case when assignees is null or h % 3 = 0 then null else assignees[1 + (h / 3 % cardinality(assignees))::int] end,
      g * 1024,
      initcap(words[1 + (h % 16)::int]) || ' ' || words[1 + (h / 16 % 16)::int] || ' #' || g,
      case when h % 4 = 0 then ''
           else 'Notes on the ' || words[1 + (h / 256 % 16)::int] || ' work, item ' || g || '.' end,
      status,
      (array['low', 'medium', 'high'])[1 + (h / 4096 % 3)::int],
      case when h % 5 = 0 then null
           else created_at + ((h / 65536) % (70 * 24) - 10 * 24) * interval '1 hour' end,
      case when status = 'done' then least(at_now, created_at + (h % 604800) * interval '1 second') end,
      created_at,
      least(at_now, created_at + (h % 2592000) * interval '1 second'),
      1 + h % 5
    from (
      select g, h, projects, creators, assignees, words, at_now,
        case when h % 100 < 40 then 'todo' when h % 100 < 65 then 'in_progress' else 'done' end as status,
        at_now - (h * 7919 % 31536000000000) * interval '1 microsecond' as created_at
      from generate_series(${from}::bigint, ${to}::bigint) as g,
        lateral (select (g * 2654435761) % 4294967296 as h) as hashed,
        (select ${target.projectIds}::int[] as projects, ${target.creatorIds}::int[] as creators, ${target.assigneeIds}::int[] as assignees,
          ${WORDS}::text[] as words, ${now}::timestamptz as at_now) as params
    ) as rows`.execute(db);
}
