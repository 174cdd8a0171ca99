/**
 * Bulk data for benchmarks and tests: users and tasks generated inside the database with
 * `generate_series`, so a million tasks are a few statements rather than a million round trips.
 * The data is a pure function of the row number (no randomness): two runs seed the same tasks,
 * spread over statuses, priorities, due dates (some past, some none) and a year of history.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, UserRole } from './schema';

export interface SeedUsersOptions {
  count: number;
  /** Usernames are the prefix and a zero-padded number: `seed_000001`, ... */
  prefix?: string;
  /** The default matches no password: seeded accounts cannot sign in unless given a real hash. */
  passwordHash?: string;
  role?: UserRole;
}

const UNUSABLE_PASSWORD_HASH = '!seeded-account-without-password';

/** Inserts `count` users in one statement; returns their ids in username order. */
export async function seedUsers(db: Kysely<Database>, options: SeedUsersOptions): Promise<number[]> {
  const prefix = options.prefix ?? 'seed_';
  const { rows } = await sql<{ id: number }>`
    insert into users (username, password_hash, role)
    select ${prefix} || lpad(g::text, 6, '0'), ${options.passwordHash ?? UNUSABLE_PASSWORD_HASH}, ${options.role ?? 'user'}
    from generate_series(1, ${options.count}::int) as g
    order by g
    returning id`.execute(db);
  return rows.map((row) => row.id);
}

export interface SeedTasksOptions {
  /** Tasks are dealt to these owners in turn, so each gets the same share (±1). */
  ownerIds: number[];
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
  'invoice', 'report', 'deploy', 'review', 'meeting', 'budget', 'design', 'backup',
  'release', 'customer', 'migration', 'security', 'audit', 'roadmap', 'hiring', 'onboarding',
];

/** Inserts `count` tasks; returns how many were inserted. */
export async function seedTasks(db: Kysely<Database>, options: SeedTasksOptions): Promise<number> {
  if (options.ownerIds.length === 0) throw new Error('seedTasks needs at least one owner');
  const batchSize = options.batchSize ?? 50_000;
  const now = options.now ?? new Date();
  const first = options.firstRow ?? 1;
  let inserted = 0;
  while (inserted < options.count) {
    const size = Math.min(batchSize, options.count - inserted);
    await insertBatch(db, options.ownerIds, now, first + inserted, first + inserted + size - 1);
    inserted += size;
    options.onProgress?.(inserted);
  }
  return inserted;
}

// `h` is a multiplicative hash of the row number (Knuth's constant): a well-spread 32-bit value
// every column derives from, so neighbouring rows differ while the data stays reproducible.
// Creation times carry microseconds, as real ones do, so pagination is tested against them.
async function insertBatch(db: Kysely<Database>, ownerIds: number[], now: Date, from: number, to: number) {
  await sql`
    insert into tasks (owner_id, title, description, status, priority, due_at, completed_at, created_at, updated_at, version)
    select
      owners[1 + (g % cardinality(owners))::int],
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
      select g, h, owners, words, at_now,
        case when h % 100 < 40 then 'todo' when h % 100 < 65 then 'in_progress' else 'done' end as status,
        at_now - (h * 7919 % 31536000000000) * interval '1 microsecond' as created_at
      from generate_series(${from}::bigint, ${to}::bigint) as g,
        lateral (select (g * 2654435761) % 4294967296 as h) as hashed,
        (select ${ownerIds}::int[] as owners, ${WORDS}::text[] as words, ${now}::timestamptz as at_now) as params
    ) as rows`.execute(db);
}
