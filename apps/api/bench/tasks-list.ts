/**
 * How `tasks.list` scales with the size of the table: p50/p95 of a user's first and deep pages,
 * filtered and sorted, with 10 thousand and with 1 million tasks, plus the query plans at 1M.
 *
 *   pnpm --filter @stm/api bench:tasks postgres://postgres@127.0.0.1:5432/test [--rows 1000000]
 *
 * The URL is an administrative connection: two scratch databases are created next to it and
 * dropped at the end. The measured user owns the same 2,000 tasks at both sizes, so only the
 * table grows: user A's rows are among the first 10k, user B's are spread over the whole million.
 * Results go to stdout; nothing here asserts a time.
 */
import { performance } from 'node:perf_hooks';
import { type Database, migrateToLatest } from '@stm/db';
import { seedTasks, seedUsers } from '@stm/db/seed';
import { withDatabase } from '@stm/db/testing';
import type { ListTasksInput } from '@stm/validators';
import { listTasksInput } from '@stm/validators';
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type TaskCaller, TasksService } from '../src/services/tasks';

const args = process.argv.slice(2);
const adminUrl = args.find((arg) => arg.startsWith('postgres'));
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const TOTAL_ROWS = option('rows', 1_000_000);
const SMALL_ROWS = 10_000;
const TASKS_PER_USER = 2_000;
const ITERATIONS = option('iterations', 200);
const WARMUP = 20;
const DEEP_OFFSET = 1_500;
/** Past the ~1,600 tasks with a due date: into the tasks without one. */
const DEEPER_OFFSET = 1_800;

// Counts come back as int8; plain numbers, as the application's own pool parses them.
pg.types.setTypeParser(20, Number);

if (!adminUrl) {
  console.error('usage: bench/tasks-list.ts postgres://user@host:port/db [--rows N] [--iterations N]');
  process.exit(2);
}

interface Scenario {
  name: string;
  input: ListTasksInput;
  /** Start DEEP_OFFSET (or `offset`) rows into the list, by following cursors as a client would. */
  deep?: boolean;
  offset?: number;
  admin?: boolean;
}

const scenarios: Scenario[] = [
  { name: 'first page, createdAt desc', input: {} },
  { name: `deep page (${DEEP_OFFSET}), createdAt desc`, input: {}, deep: true },
  { name: 'first page, todo|in_progress, dueAt asc', input: { status: ['todo', 'in_progress'], sort: 'dueAt', order: 'asc' } },
  { name: 'deep page, dueAt desc', input: { sort: 'dueAt', order: 'desc' }, deep: true },
  { name: `deep page (${DEEPER_OFFSET}), dueAt asc, undated part`, input: { sort: 'dueAt', order: 'asc' }, deep: true, offset: DEEPER_OFFSET },
  { name: 'first page, status todo, priority desc', input: { status: 'todo', sort: 'priority', order: 'desc' } },
  { name: 'deep page, priority asc', input: { sort: 'priority', order: 'asc' }, deep: true },
  { name: 'first page, search "invoice", updatedAt desc', input: { search: 'invoice', sort: 'updatedAt' } },
  { name: 'first page, overdue, dueAt asc', input: { overdue: true, sort: 'dueAt', order: 'asc' } },
  { name: 'deep page, status todo, priority desc', input: { status: 'todo', sort: 'priority', order: 'desc' }, deep: true, offset: 500 },
  { name: 'admin: all owners, first page, createdAt desc', input: {}, admin: true },
  { name: 'admin: all owners, deep page, priority desc', input: { sort: 'priority', order: 'desc' }, admin: true, deep: true },
];

const captured: CompiledQuery[] = [];
let capturing = false;

interface Sized {
  label: string;
  db: Kysely<Database>;
  service: TasksService;
  users: Record<string, number>;
  admin: TaskCaller;
}

/**
 * Two databases, 10k and 1M rows, measured in alternation: whatever else the machine is doing
 * at a moment slows both sizes alike instead of whichever happens to run then.
 */
async function main() {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await dropAbandonedDatabases(admin);
  const names = [`stm_bench_tasks_${process.pid}_small`, `stm_bench_tasks_${process.pid}_large`];
  const handles: Kysely<Database>[] = [];
  try {
    const [small, large] = await Promise.all(
      names.map(async (name) => {
        await admin.query(`create database ${name}`);
        const db = open(withDatabase(adminUrl!, name));
        handles.push(db);
        await migrateToLatest(db);
        return db;
      }),
    );
    // The same users and the same first 10k tasks in both: A owns one row in five (2,000).
    const now = new Date();
    const seeded = await Promise.all(
      [small!, large!].map(async (db) => {
        const others = await seedUsers(db, { count: 998, prefix: 'other_' });
        const [userA, userB] = await seedUsers(db, { count: 2, prefix: 'bench_' });
        await seedTasks(db, { ownerIds: [userA!, ...others.slice(0, 4)], count: SMALL_ROWS, now });
        return { others, userA: userA!, userB: userB! };
      }),
    );
    // The large one grows to the full size: B owns 2,000 rows dealt evenly through all of it.
    const { others, userA, userB } = seeded[1]!;
    const rest = TOTAL_ROWS - SMALL_ROWS;
    const bOwners = [userB, ...others.slice(4, 4 + Math.round(rest / TASKS_PER_USER) - 1)];
    await timed(`seed ${rest.toLocaleString('en')} more tasks`, () =>
      seedTasks(large!, { ownerIds: bOwners, count: rest, firstRow: SMALL_ROWS + 1, now, onProgress: progress(rest) }),
    );
    await timed('vacuum analyze', () => Promise.all([small!, large!].map((db) => sql`vacuum analyze tasks`.execute(db))));

    const adminCaller: TaskCaller = { id: others[0]!, role: 'admin' };
    const sized = (label: string, db: Kysely<Database>, users: Record<string, number>): Sized => ({
      label,
      db,
      service: new TasksService(db),
      users,
      admin: adminCaller,
    });
    const smallSet = sized('10k', small!, { A: seeded[0]!.userA });
    const largeSet = sized('1M', large!, { A: userA, B: userB });
    const rows = await measure(smallSet, largeSet);
    report(rows);
    await explainAll(largeSet, userB);
  } finally {
    await Promise.all(handles.map((db) => db.destroy()));
    for (const name of names) await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/** Scratch databases of earlier runs that were killed before they could drop them. */
async function dropAbandonedDatabases(admin: pg.Client) {
  const { rows } = await admin.query<{ datname: string }>(`select datname from pg_database where datname like 'stm_bench_tasks_%'`);
  for (const { datname } of rows) {
    const pid = Number(/^stm_bench_tasks_(\d+)_/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && !isAlive(pid)) await admin.query(`drop database if exists ${datname} with (force)`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function open(url: string): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (capturing && event.level === 'query') captured.push(event.query);
    },
  });
}

interface Row {
  key: string;
  small: Stats;
  large: Stats;
  items: number;
}
interface Stats {
  p50: number;
  p95: number;
}

async function measure(small: Sized, large: Sized): Promise<Row[]> {
  const rows: Row[] = [];
  // User A is measured against itself; user B (spread through the large table) against A at 10k.
  for (const [largeUser, smallUser] of [['A', 'A'], ['B', 'A']] as const) {
    for (const scenario of scenarios) {
      if (scenario.admin && largeUser === 'B') continue;
      const runners = await Promise.all(
        [
          [small, smallUser],
          [large, largeUser],
        ].map(async ([set, user]) => {
          const { service, users, admin } = set as Sized;
          const caller: TaskCaller = scenario.admin ? admin : { id: users[user as string]!, role: 'user' };
          const input = await startingInput(service, caller, scenario);
          return () => (scenario.admin ? service.listAll(caller, input) : service.list(caller, input));
        }),
      );
      const samples: number[][] = [[], []];
      let items = 0;
      for (let i = 0; i < WARMUP + ITERATIONS; i++) {
        for (const which of i % 2 ? [0, 1] : [1, 0]) {
          const start = performance.now();
          const page = await runners[which]!();
          if (i >= WARMUP) samples[which]!.push(performance.now() - start);
          if (which === 1) items = page.items.length;
        }
      }
      const [s, l] = samples.map((list) => {
        list.sort((a, b) => a - b);
        return { p50: percentile(list, 50), p95: percentile(list, 95) };
      });
      rows.push({ key: scenario.admin ? scenario.name : `user ${largeUser}: ${scenario.name}`, small: s!, large: l!, items });
    }
  }
  return rows;
}

/** The parsed input of a scenario, with a cursor DEEP_OFFSET rows in for deep pages. */
async function startingInput(service: TasksService, caller: TaskCaller, scenario: Scenario) {
  const input = listTasksInput.parse(scenario.input);
  if (!scenario.deep) return input;
  let cursor: string | null | undefined;
  const offset = scenario.offset ?? DEEP_OFFSET;
  for (let walked = 0; walked < offset; walked += 100) {
    const page = await (scenario.admin ? service.listAll : service.list).call(service, caller, {
      ...input,
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    cursor = page.nextCursor;
    if (!cursor) throw new Error(`${scenario.name}: fewer than ${offset} rows`);
  }
  return { ...input, cursor: cursor! };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function report(rows: Row[]) {
  const ms = (value: number) => value.toFixed(2).padStart(7);
  console.log(`\ntasks.list latency in ms (${ITERATIONS} runs each, alternating): 10k rows vs ${TOTAL_ROWS.toLocaleString('en')} rows`);
  console.log(`${'scenario'.padEnd(58)} p50@10k p95@10k  p50@big p95@big  p95 ratio`);
  let worst = 0;
  for (const row of rows) {
    const ratio = row.large.p95 / row.small.p95;
    worst = Math.max(worst, ratio);
    console.log(
      `${row.key.padEnd(58)} ${ms(row.small.p50)} ${ms(row.small.p95)} ${ms(row.large.p50)} ${ms(row.large.p95)} ${ratio.toFixed(2).padStart(8)}${row.items === 20 ? '' : `  (${row.items} items)`}`,
    );
  }
  console.log(`worst p95 ratio: ${worst.toFixed(2)} (target <= 1.5)`);
}

/** EXPLAIN (ANALYZE, BUFFERS) of the SQL each scenario runs, at full size. */
async function explainAll(set: Sized, userId: number) {
  const { db, service, admin } = set;
  for (const scenario of scenarios) {
    const caller: TaskCaller = scenario.admin ? admin : { id: userId, role: 'user' };
    const input = await startingInput(service, caller, scenario);
    captured.length = 0;
    capturing = true;
    await (scenario.admin ? service.listAll(caller, input) : service.list(caller, input));
    capturing = false;
    for (const query of captured.filter((q) => q.sql.includes('from "tasks"'))) {
      const { rows } = await sql<{ 'QUERY PLAN': string }>`explain (analyze, buffers) ${sql.raw(inline(query))}`.execute(db);
      console.log(`\n--- ${scenario.name}${scenario.admin ? '' : ' (user B)'}\n${rows.map((row) => row['QUERY PLAN']).join('\n')}`);
    }
  }
}

/** The query with its parameters written in, for EXPLAIN (values are the bench's own, not input). */
function inline(query: CompiledQuery): string {
  return query.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = query.parameters[Number(n) - 1];
    if (typeof value === 'number') return String(value);
    if (value instanceof Date) return `'${value.toISOString()}'`;
    return `'${String(value).replace(/'/g, "''")}'`;
  });
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  console.log(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

function progress(total: number) {
  let last = 0;
  return (done: number) => {
    if (done - last >= total / 10 || done === total) {
      last = done;
      process.stdout.write(`  ${Math.round((done / total) * 100)}%`);
      if (done === total) process.stdout.write('\n');
    }
  };
}

await main();
