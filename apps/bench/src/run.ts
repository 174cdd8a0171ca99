/**
 * `pnpm bench`: starts the built API as its own process (PostgreSQL when BENCH_DATABASE_URL or
 * DATABASE_URL is set, else the embedded database), seeds it, drives each scenario with
 * autocannon from this process, and reports requests/s, p50/p95/p99 and errors, each product
 * scenario beside its floor measured in the same run. Bounded in time; 127.0.0.1 only.
 *
 *   pnpm bench                       # defaults: 5 s per scenario, 16 connections
 *   pnpm bench --duration 10 --connections 32
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import bcrypt from 'bcrypt';
import { createDb, migrateToLatest } from '@stm/db';
import pg from 'pg';
import { load, type LoadResult } from './load';
import { ROOT, type RunningProcess, startApi, startFloor } from './processes';

const { values: args } = parseArgs({
  // pnpm forwards a literal `--` separator; it carries no meaning here.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    users: { type: 'string', default: '20' },
    'bcrypt-cost': { type: 'string', default: '12' },
    embedded: { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
const BCRYPT_COST = Number(args['bcrypt-cost']);
const PASSWORD = 'bench passphrase that is long';
const SECRET_KEY = 'bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz';

interface Row extends Partial<LoadResult> {
  scenario: string;
  floor?: string;
  ratio?: number;
  note?: string;
}
const rows: Row[] = [];
const extras: Record<string, unknown> = {};

function record(scenario: string, result: LoadResult, floor?: { name: string; result: LoadResult }) {
  const row: Row = { scenario, ...result };
  if (floor) {
    row.floor = floor.name;
    row.ratio = Math.round((result.requestsPerSecond / Math.max(1, floor.result.requestsPerSecond)) * 100) / 100;
  }
  rows.push(row);
  console.error(`  ${scenario}: ${result.requestsPerSecond} req/s, p95 ${result.p95} ms${row.ratio ? `, ${row.ratio}x floor` : ''}`);
}

async function createBenchDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `stm_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** Accounts with one shared hash: seeding must not spend minutes hashing. */
async function seedUsers(config: { databaseUrl?: string; dataDir?: string }) {
  const handle = await createDb(config);
  await migrateToLatest(handle.db);
  const hash = await bcrypt.hash(
    // The API pre-hashes passwords (HMAC-SHA256, base64) before bcrypt; seed the same way.
    (await import('node:crypto')).createHmac('sha256', 'secure-task-manager/password/v1').update(PASSWORD.normalize('NFKC')).digest('base64'),
    BCRYPT_COST,
  );
  const values = Array.from({ length: USERS }, (_, i) => ({ username: `bench_${i}`, password_hash: hash, role: 'user' as const }));
  await handle.db.insertInto('users').values(values).onConflict((oc) => oc.doNothing()).execute();
  await handle.close();
}

async function loginAll(api: RunningProcess): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const response = await fetch(`${api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `bench_${i}`, password: PASSWORD }),
    });
    if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
    tokens.push(((await response.json()) as { access_token: string }).access_token);
  }
  return tokens;
}

/** Hashes per second this machine does at the cost on all cores, measured now. */
async function bcryptLimit(cost: number, seconds: number): Promise<number> {
  const cores = availableParallelism();
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (Date.now() < deadline) {
        await bcrypt.hash('x'.repeat(44), cost);
        done++;
      }
    }),
  );
  return Math.round((done / seconds) * 10) / 10;
}

function apiEnv(database: { url?: string; dataDir?: string }): Record<string, string> {
  return {
    NODE_ENV: database.url ? 'production' : 'development',
    SECRET_KEY,
    ...(database.url ? { DATABASE_URL: database.url } : { DATA_DIR: database.dataDir as string }),
    BCRYPT_COST: String(BCRYPT_COST),
    LOG_LEVEL: 'warn',
    LOG_FILE: 'false',
    LOG_PRETTY: 'false',
    RATE_LIMIT_MAX: '100000000',
    AUTH_RATE_LIMIT_MAX: '100000000',
    BCRYPT_MAX_QUEUE: String(CONNECTIONS * 4),
    CONSOLE_DIR: '',
    COOKIE_SECURE: 'false',
  };
}

async function startToReady(): Promise<{ coldMs: number; warmMs: number }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stm-bench-start-'));
  try {
    const cold = await startApi(apiEnv({ dataDir }));
    await cold.stop();
    const warm = await startApi(apiEnv({ dataDir }));
    await warm.stop();
    return { coldMs: cold.readyMs, warmMs: warm.readyMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const adminUrl = args.embedded ? undefined : (process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL);
  console.error(`bench: ${adminUrl ? 'PostgreSQL' : 'embedded PGlite'}, ${DURATION} s per scenario, ${CONNECTIONS} connections, bcrypt cost ${BCRYPT_COST}`);

  const start = await startToReady();
  extras.startToReadyEmbedded = start;
  console.error(`  start to ready (embedded, migrations): first start ${start.coldMs} ms, next start ${start.warmMs} ms`);

  const database = adminUrl ? await createBenchDatabase(adminUrl) : undefined;
  const dataDir = database ? undefined : mkdtempSync(path.join(os.tmpdir(), 'stm-bench-data-'));
  await seedUsers(database ? { databaseUrl: database.url } : { dataDir: dataDir as string });

  const api = await startApi(apiEnv(database ? { url: database.url } : { dataDir: dataDir as string }));
  let floor: RunningProcess | undefined;
  let peakRss = api.rssMb();
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, api.rssMb());
  }, 200);
  try {
    floor = database ? await startFloor({ DATABASE_URL: database.url, API_URL: api.url }) : undefined;
    const tokens = await loginAll(api);
    const bearer = (i: number) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    const run = (url: string, path: string, extra: Partial<Parameters<typeof load>[0]> = {}) =>
      load({ url, connections: CONNECTIONS, durationSeconds: DURATION, request: (i) => ({ path, headers: bearer(i) }), ...extra });

    // Warm both servers (JIT, pools, token cache) before measuring.
    await run(api.url, '/api/auth/me', { durationSeconds: 1 });
    if (floor) await run(floor.url, '/me', { durationSeconds: 1 });

    const floorMe = floor ? { name: 'floor /me', result: await run(floor.url, '/me') } : undefined;
    if (floorMe) record('floor: jwt verify + pk select', floorMe.result);
    const trpcMe = await run(api.url, '/trpc/auth.me');
    record('auth.me (tRPC)', trpcMe, floorMe);
    record('GET /api/auth/me (REST)', await run(api.url, '/api/auth/me'), floorMe);

    // Logins at the configured cost, beside what bcrypt alone can do on this machine right now.
    const limit = await bcryptLimit(BCRYPT_COST, Math.min(DURATION, 5));
    const loginLoad = () =>
      load({
        url: api.url,
        method: 'POST',
        connections: Math.max(4, availableParallelism() * 2),
        durationSeconds: DURATION,
        request: (i) => ({
          path: '/api/auth/login',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: `bench_${i % USERS}`, password: PASSWORD }),
        }),
      });
    const login = await loginLoad();
    rows.push({
      scenario: `login (bcrypt cost ${BCRYPT_COST})`,
      ...login,
      floor: `bcrypt limit ${limit}/s`,
      ratio: Math.round((login.requestsPerSecond / limit) * 100) / 100,
    });
    console.error(`  login: ${login.requestsPerSecond}/s vs bcrypt limit ${limit}/s`);

    // auth.me while a login storm keeps every core hashing: the event loop must stay free.
    const meAtRest = await run(api.url, '/trpc/auth.me', { connections: 4 });
    const [meDuringStorm] = await Promise.all([run(api.url, '/trpc/auth.me', { connections: 4 }), loginLoad()]);
    rows.push({ scenario: 'auth.me at rest (4 conn)', ...meAtRest });
    rows.push({
      scenario: 'auth.me during login storm',
      ...meDuringStorm,
      floor: 'p99 at rest',
      ratio: Math.round((meDuringStorm.p99 / Math.max(0.01, meAtRest.p99)) * 100) / 100,
      note: 'ratio of p99 (target <= 3)',
    });
    console.error(`  auth.me p99 at rest ${meAtRest.p99} ms, during login storm ${meDuringStorm.p99} ms`);
  } finally {
    clearInterval(rssTimer);
    extras.apiPeakRssMb = peakRss;
    await floor?.stop();
    await api.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }

  const table = rows.map((r) => ({
    scenario: r.scenario,
    'req/s': r.requestsPerSecond,
    'p50 ms': r.p50,
    'p95 ms': r.p95,
    'p99 ms': r.p99,
    errors: r.errors,
    'vs floor': r.ratio === undefined ? '' : `${r.ratio}x ${r.floor ?? ''}`,
  }));
  console.table(table);
  console.log(`API peak RSS: ${extras.apiPeakRssMb} MB; start to ready (embedded): first ${start.coldMs} ms, next ${start.warmMs} ms`);
  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), settings: { DURATION, CONNECTIONS, USERS, BCRYPT_COST, database: adminUrl ? 'postgres' : 'pglite' }, rows, extras }, null, 2)}\n`);
  console.log(`results written to ${path.relative(ROOT, file)}`);
}

await main();
