import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';
import { createDb, migrateToLatest, sql } from '@stm/db';
import { seedTasks, seedUsers } from '@stm/db/seed';

export const BENCH_PASSWORD = 'bench passphrase that is long';
/** Tasks of the measured user, the same at every table size: only the table around them grows. */
export const TASKS_PER_OWNER = 2_000;

/** The API pre-hashes passwords (HMAC-SHA256, base64) before bcrypt; the seed does the same. */
function apiPrehash(password: string): string {
  return createHmac('sha256', 'secure-task-manager/password/v1').update(password.normalize('NFKC'), 'utf8').digest('base64');
}

/**
 * Migrates and seeds: `users` accounts that can sign in (`benchUsername(i)`, one shared hash so
 * seeding does not spend minutes hashing) and `tasks` tasks dealt evenly to the first bench user
 * and as many other owners as it takes for each to hold TASKS_PER_OWNER.
 */
export async function seedBenchDatabase(config: { databaseUrl?: string; dataDir?: string }, options: { users: number; tasks: number; bcryptCost: number }) {
  const handle = await createDb(config);
  try {
    await migrateToLatest(handle.db);
    const passwordHash = await bcrypt.hash(apiPrehash(BENCH_PASSWORD), options.bcryptCost);
    const benchIds = await seedUsers(handle.db, { count: options.users, prefix: 'bench_', passwordHash });
    const otherOwners = Math.max(0, Math.ceil(options.tasks / TASKS_PER_OWNER) - 1);
    const others = otherOwners > 0 ? await seedUsers(handle.db, { count: otherOwners, prefix: 'owner_' }) : [];
    const started = Date.now();
    await seedTasks(handle.db, {
      ownerIds: [benchIds[0] as number, ...others],
      count: options.tasks,
      onProgress: (inserted) => {
        if (options.tasks >= 200_000 && inserted % 200_000 === 0) console.error(`    seeded ${inserted} tasks`);
      },
    });
    // Vacuumed and with fresh statistics, as a database that has lived a while would be. Left to
    // itself, autovacuum takes the freshly filled table a minute later, in the middle of whichever
    // scenario is running, and its CPU is counted as that scenario's PostgreSQL time.
    await sql`vacuum analyze`.execute(handle.db);
    return { benchUserId: benchIds[0] as number, seedSeconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    await handle.close();
  }
}

export function benchUsername(index: number): string {
  return `bench_${String(index + 1).padStart(6, '0')}`;
}
