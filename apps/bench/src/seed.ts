import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';
import { createDb, migrateToLatest, settings, sql } from '@stm/db';
import { seedProject, seedTasks, seedUsers } from '@stm/db/seed';

export const BENCH_PASSWORD = 'bench passphrase that is long';
/** Tasks in each inbox, the measured user's included: the same at every table size. */
export const TASKS_PER_OWNER = 2_000;
/**
 * The shared project every bench user is a member of holds a tenth of all tasks, at least enough
 * for a deep page and at most this many.
 */
export const PROJECT_TASKS_MAX = 100_000;
const PROJECT_TASKS_MIN = 5_000;

/** The API pre-hashes passwords (HMAC-SHA256, base64) before bcrypt; the seed does the same. */
function apiPrehash(password: string): string {
  return createHmac('sha256', 'secure-task-manager/password/v1').update(password.normalize('NFKC'), 'utf8').digest('base64');
}

/**
 * Migrates and seeds: `users` accounts that can sign in (`benchUsername(i)`, one shared hash so
 * seeding does not spend minutes hashing), a shared project they are all members of (owned by
 * the first) holding a tenth of the `tasks` (within PROJECT_TASKS_MIN and _MAX), made by and assigned to
 * them, and the rest dealt to the first bench user's inbox and as many other owners' inboxes as
 * it takes for each to hold TASKS_PER_OWNER.
 */
export async function seedBenchDatabase(config: { databaseUrl?: string; dataDir?: string }, options: { users: number; tasks: number; bcryptCost: number }) {
  const handle = await createDb(config);
  try {
    await migrateToLatest(handle.db);
    // The write scenarios make tasks by the thousand; the per-user quotas are not what they measure
    // (their cost is, and it is paid below the limit as above it). The API fills in the rest.
    await settings.insertSettingsIfMissing(handle.db, { quotaTasksPerUser: 10_000_000, quotaProjectsPerUser: 100_000, quotaCommentsPerUser: 10_000_000 });
    const passwordHash = await bcrypt.hash(apiPrehash(BENCH_PASSWORD), options.bcryptCost);
    const benchIds = await seedUsers(handle.db, { count: options.users, prefix: 'bench_', passwordHash });
    const [benchUserId] = benchIds as [number];
    const projectTasks = Math.min(options.tasks, PROJECT_TASKS_MAX, Math.max(PROJECT_TASKS_MIN, Math.floor(options.tasks / 10)));
    const inboxTasks = options.tasks - projectTasks;
    const otherOwners = Math.max(0, Math.ceil(inboxTasks / TASKS_PER_OWNER) - 1);
    const others = otherOwners > 0 ? await seedUsers(handle.db, { count: otherOwners, prefix: 'owner_' }) : [];
    const started = Date.now();
    const projectId = await seedProject(handle.db, {
      name: 'Bench project',
      ownerId: benchUserId,
      members: benchIds.slice(1).map((userId) => ({ userId, role: 'editor' as const })),
    });
    await seedTasks(handle.db, { project: { id: projectId, creatorIds: benchIds, assigneeIds: benchIds }, count: projectTasks });
    await seedTasks(handle.db, {
      ownerIds: [benchUserId, ...others],
      count: inboxTasks,
      firstRow: projectTasks + 1,
      onProgress: (inserted) => {
        if (inboxTasks >= 200_000 && inserted % 200_000 === 0) console.error(`    seeded ${inserted} tasks`);
      },
    });
    // A word found in a few tasks only, in the project and elsewhere: what a search for something
    // particular finds.
    await sql`update tasks set description = description || ' Ask about the zebrafish.' where id % 20000 = 7`.execute(handle.db);
    // Vacuumed and with fresh statistics, as a database that has lived a while would be. Left to
    // itself, autovacuum takes the freshly filled table a minute later, in the middle of whichever
    // scenario is running, and its CPU is counted as that scenario's PostgreSQL time.
    await sql`vacuum analyze`.execute(handle.db);
    return { benchUserId, projectId, projectTasks, seedSeconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    await handle.close();
  }
}

export function benchUsername(index: number): string {
  return `bench_${String(index + 1).padStart(6, '0')}`;
}
