/**
 * `pnpm bench`: the product against its floor, measured in one run.
 *
 * Starts the built API as its own process on PostgreSQL (BENCH_DATABASE_URL or DATABASE_URL, an
 * administrative URL: scratch databases are created beside it and dropped) or, without one or
 * with --embedded, on the embedded database; seeds users and tasks in bulk; drives every scenario
 * with autocannon from this process; prints a table and writes it as JSON to bench/results/.
 * Each product scenario sits beside its floor (apps/bench/src/floor.ts, a bare Fastify server in
 * its own process) measured in the same run, because the machine is shared and absolute numbers
 * drift: the two alternate, in halves and mirrored order (product, floor, floor, product).
 * Bounded in time (about --duration seconds per scenario); 127.0.0.1 only.
 *
 *   pnpm bench                                   # 5 s per scenario, 16 connections, 10k and 1M tasks
 *   pnpm bench --duration 10 --sizes 10000       # longer, small table only
 *   pnpm bench --embedded --sizes 10000          # the embedded database (no floor: it is single-process)
 *   pnpm bench --scenarios me --cpu-prof         # only auth.me, with a CPU profile of the API
 *   pnpm bench --scenarios me,list,writes --fast-paths=both   # each with the fast paths and without
 *
 * Scenarios (--scenarios, comma-separated; all by default): `me` (auth.me, tRPC and REST), `tokens`
 * (auth.me with an API token against the same with an access token), `list`
 * (a member's pages of a shared project, beside the floor; the member's every project; their
 * assigned tasks; searches), `writes` (create, update), `login` (sign-in beside the bcrypt
 * limit, and auth.me during a sign-in storm), `limits` (auth.me with the rate limits on, against a
 * second API on the same data with them off), `noise` (auth.me against the same build started
 * again unchanged: the run-to-run spread the on/off ratios must clear), `metrics` (auth.me with Prometheus metrics on,
 * against this API without them), `tracing` (auth.me with OpenTelemetry traces on, every request
 * sampled and exported to a local OTLP sink, against this API without), `live` (task creations
 * with --subscribers, 200, streams of the project open, against none: writes/s, the write's p95
 * beside the p95 from its answer to each stream's receipt, and the API's RSS grown per open
 * stream). `--cpu-prof` writes V8 profiles of the API (bench/profiles/) and the
 * floor (bench/profiles/floor/) and prints where each spent its time (open a file in Chrome
 * DevTools or speedscope for a flame graph). `--fast-paths` runs the API with FAST_PATHS `on` (the
 * default), `off`, or `both`: a second API, started with FAST_PATHS set to `--stock` (`false`, every
 * library's own code; or e.g. `-zod` to take one fast path away), measured beside the first in
 * mirrored order for each `me`, `list` and `writes` row, with the ratio of the two.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { tasks } from '@stm/db';
import bcrypt from 'bcrypt';
import pg from 'pg';
import { type LoadOptions, type LoadResult, type LoadSample, sample, summarize } from './load';
import { databaseCpuSeconds, ROOT, type RunningProcess, startApi, startFloor } from './processes';
import { measureLive } from './live';
import { summarizeNewestProfile } from './profile';
import { BENCH_PASSWORD, benchUsername, seedBenchDatabase } from './seed';

const { values: args } = parseArgs({
  // pnpm forwards a literal `--` separator; it carries no meaning here.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    users: { type: 'string', default: '20' },
    sizes: { type: 'string', default: '10000,1000000' },
    'bcrypt-cost': { type: 'string', default: '12' },
    embedded: { type: 'boolean', default: false },
    scenarios: { type: 'string', default: 'me,tokens,list,writes,login,limits,noise,metrics,tracing,live' },
    subscribers: { type: 'string', default: '200' },
    'cpu-prof': { type: 'boolean', default: false },
    'fast-paths': { type: 'string', default: 'on' },
    stock: { type: 'string', default: 'false' },
  },
});
if (!['on', 'off', 'both'].includes(args['fast-paths'])) throw new Error('--fast-paths is on, off or both');
/** The second API's FAST_PATHS with --fast-paths=both, and the first's otherwise. */
const FAST_PATHS = args['fast-paths'] === 'off' ? 'false' : 'true';
const BOTH_MODES = args['fast-paths'] === 'both';
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
const SIZES = args.sizes.split(',').map(Number);
const BCRYPT_COST = Number(args['bcrypt-cost']);
const SECRET_KEY = 'bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz';
const DEEP_OFFSET = 1_500;
/** The rate limits' cost is a few percent at most: on and off alternate in this many mirrored rounds. */
const LIMITS_ROUNDS = 10;
/** API tokens against access tokens on auth.me: alternated in this many mirrored rounds. */
const TOKEN_ROUNDS = 4;
const SCENARIOS = new Set(args.scenarios.split(',').map((name) => name.trim()));
for (const name of SCENARIOS) {
  if (!['me', 'tokens', 'list', 'writes', 'login', 'limits', 'noise', 'metrics', 'tracing', 'live'].includes(name)) {
    throw new Error(`unknown scenario "${name}": me, tokens, list, writes, login, limits, noise, metrics, tracing or live`);
  }
}
const PROFILE_DIR = path.join(ROOT, 'bench/profiles');
const FLOOR_PROFILE_DIR = path.join(PROFILE_DIR, 'floor');
/** The second API of an on/off comparison (limits, noise, metrics, tracing): the newest one's profile is summarized. */
const VARIANT_PROFILE_DIR = path.join(PROFILE_DIR, 'variant');

interface Measured extends LoadResult {
  /** CPU time the server under load spent per answered request (ms): what a request costs it, whatever the machine's noise. */
  serverCpuMsPerRequest?: number;
  /** CPU time the PostgreSQL server spent per answered request (ms), when the database is local PostgreSQL. */
  databaseCpuMsPerRequest?: number;
}

interface Row extends Measured {
  scenario: string;
  /** What this row is compared with, and the ratio (req/s unless the note says otherwise). */
  against?: string;
  ratio?: number;
}
const rows: Row[] = [];
const extras: Record<string, unknown> = {};
const round = (n: number) => Math.round(n * 100) / 100;
/** For figures compared to a few percent: CPU time per request, and the ratios that tell a cost. */
const roundFine = (n: number) => Math.round(n * 1000) / 1000;

/** Whether the database is PostgreSQL on this machine, whose processes' CPU time can be read. */
let measuringDatabase = false;
/** Servers by URL, so a load run knows whose CPU time to read. */
const serversByUrl = new Map<string, RunningProcess>();

/** One load run, with the CPU time the server under load and PostgreSQL spent during it. */
interface MeasuredSample {
  load: LoadSample;
  serverCpuSeconds?: number;
  databaseCpuSeconds?: number;
}

async function measuredSample(options: LoadOptions): Promise<MeasuredSample> {
  const server = serversByUrl.get(options.url);
  const before = server?.cpuSeconds();
  const databaseBefore = measuringDatabase ? databaseCpuSeconds() : undefined;
  const load = await sample(options);
  const measuredSample: MeasuredSample = { load };
  if (server && before !== undefined) measuredSample.serverCpuSeconds = server.cpuSeconds() - before;
  if (databaseBefore) {
    let used = 0;
    for (const [pid, seconds] of databaseCpuSeconds()) used += seconds - (databaseBefore.get(pid) ?? 0);
    measuredSample.databaseCpuSeconds = used;
  }
  return measuredSample;
}

/** The samples taken together: one result, CPU time per request over all of them. */
function pooled(samples: MeasuredSample[]): Measured {
  const result: Measured = summarize(samples.map((part) => part.load));
  if (result.requests === 0) return result;
  const perRequest = (seconds: (number | undefined)[]) =>
    seconds.every((value) => value !== undefined) ? roundFine((seconds.reduce((a, b) => a + b, 0) * 1000) / result.requests) : undefined;
  const server = perRequest(samples.map((part) => part.serverCpuSeconds));
  if (server !== undefined) result.serverCpuMsPerRequest = server;
  const database = perRequest(samples.map((part) => part.databaseCpuSeconds));
  if (database !== undefined) result.databaseCpuMsPerRequest = database;
  return result;
}

async function measured(options: LoadOptions): Promise<Measured> {
  return pooled([await measuredSample(options)]);
}

/**
 * Measures loads that are compared with each other (a product scenario and its floor) in halves,
 * in mirrored order: A B B A. Whatever the machine's other tenants start or stop meanwhile falls
 * on each alike; measured one after the other, the first and the last would see different machines.
 * With more `rounds` (A B B A A B B A …, in slices as much shorter) a comparison of a few percent
 * holds up even while the neighbours' load swings within seconds.
 */
async function mirrored(loads: LoadOptions[], rounds = 1): Promise<Measured[]> {
  const samples: MeasuredSample[][] = loads.map(() => []);
  const order = loads.map((_, index) => index);
  const mirror = [...order, ...[...order].reverse()];
  for (let round = 0; round < rounds; round++) {
    for (const index of mirror) {
      const options = loads[index] as LoadOptions;
      samples[index]?.push(await measuredSample({ ...options, durationSeconds: options.durationSeconds / (2 * rounds) }));
    }
  }
  return samples.map(pooled);
}

function record(scenario: string, result: Measured, against?: { name: string; ratio: number }) {
  rows.push({ scenario, ...result, ...(against ? { against: against.name, ratio: round(against.ratio) } : {}) });
  const cpu =
    (result.serverCpuMsPerRequest === undefined ? '' : `, ${result.serverCpuMsPerRequest} ms CPU/req`) +
    (result.databaseCpuMsPerRequest === undefined ? '' : ` (+${result.databaseCpuMsPerRequest} ms in PostgreSQL)`);
  console.error(`  ${scenario}: ${result.requestsPerSecond} req/s, p95 ${result.p95} ms${cpu}${against ? `, ${round(against.ratio)}x ${against.name}` : ''}`);
}

const vsFloor = (product: LoadResult, floor: LoadResult | undefined) =>
  floor ? { name: 'floor req/s', ratio: product.requestsPerSecond / Math.max(1, floor.requestsPerSecond) } : undefined;

async function adminQuery(adminUrl: string, statement: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

async function scratchDatabase(adminUrl: string, suffix: string) {
  const name = `stm_bench_${process.pid}_${suffix}`;
  await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => adminQuery(adminUrl, `drop database if exists ${name} with (force)`).then(() => undefined) };
}

/** The backends and transactions of one database of the local PostgreSQL (the live scenario's accounts). */
function databaseProbe(adminUrl: string, name: string) {
  return {
    async backendPids() {
      const { rows } = await adminQuery(adminUrl, `select pid from pg_stat_activity where datname = '${name}'`);
      return (rows as { pid: number }[]).map((row) => row.pid);
    },
    async transactions() {
      const { rows } = await adminQuery(adminUrl, `select xact_commit + xact_rollback as n from pg_stat_database where datname = '${name}'`);
      return Number((rows as { n: string }[])[0]?.n ?? 0);
    },
  };
}

/** Databases of runs that were killed before they could drop them. */
async function dropStaleScratchDatabases(adminUrl: string) {
  const { rows: stale } = await adminQuery(adminUrl, `select datname from pg_database where datname like 'stm\\_bench\\_%'`);
  for (const { datname } of stale as { datname: string }[]) {
    const pid = Number(/^stm_bench_(\d+)_/.exec(datname)?.[1]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      // No such process: the run that made it is gone.
    }
    if (!alive) await adminQuery(adminUrl, `drop database if exists ${datname} with (force)`);
  }
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
    RATE_LIMIT_MAX: '1000000000',
    AUTH_RATE_LIMIT_MAX: '1000000000',
    BCRYPT_MAX_QUEUE: String(CONNECTIONS * 4),
    CONSOLE_DIR: '',
    COOKIE_SECURE: 'false',
    FAST_PATHS,
  };
}

/** An API under load and the sessions it signed in: the bench's users, and the member measured on task pages. */
interface Target {
  api: RunningProcess;
  tokens: string[];
  member: string;
  /** How its rows are labelled beside the other mode's, with --fast-paths=both. */
  label: string;
}

/**
 * Hashes per second this machine does at `cost` on all cores, measured now. Like the load
 * generator's count of answers, only hashes finished inside the window count: one that ends after
 * it would add up to a hash per core to a count of a few dozen.
 */
async function bcryptLimit(cost: number, seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: availableParallelism() }, async () => {
      while (Date.now() < deadline) {
        await bcrypt.hash('x'.repeat(44), cost);
        if (Date.now() <= deadline) done++;
      }
    }),
  );
  return round(done / seconds);
}

async function startToReady() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stm-bench-start-'));
  try {
    const first = await startApi(apiEnv({ dataDir }));
    await first.stop();
    const next = await startApi(apiEnv({ dataDir }));
    await next.stop();
    return { firstStartMs: first.readyMs, nextStartMs: next.readyMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Gzipped size of the JavaScript the console's index.html loads before anything else. */
function consoleFirstLoadKb(): number | undefined {
  const dist = path.join(ROOT, 'apps/console/dist');
  try {
    const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1] as string);
    const bytes = scripts.reduce((sum, file) => sum + gzipSync(readFileSync(path.join(dist, file))).length, 0);
    return round(bytes / 1024);
  } catch {
    return undefined;
  }
}

async function signIn(api: RunningProcess): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const response = await fetch(`${api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: benchUsername(i), password: BENCH_PASSWORD }),
    });
    if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
    tokens.push(((await response.json()) as { access_token: string }).access_token);
  }
  return tokens;
}

async function trpcGet<T>(api: RunningProcess, token: string, procedure: string, input: unknown): Promise<T> {
  const response = await fetch(`${api.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`${procedure}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { result: { data: T } }).result.data;
}

/** The cursor after DEEP_OFFSET rows, reached the way a client would: page by page. */
async function deepCursor(api: RunningProcess, token: string, input: Record<string, unknown>): Promise<string> {
  let cursor: string | null = null;
  for (let seen = 0; seen < DEEP_OFFSET; seen += 100) {
    const page: { nextCursor: string | null } = await trpcGet(api, token, 'tasks.list', { ...input, limit: 100, ...(cursor ? { cursor } : {}) });
    if (!page.nextCursor) throw new Error('the measured user has too few tasks for a deep page');
    cursor = page.nextCursor;
  }
  return cursor as string;
}

async function measureSize(size: number, adminUrl: string | undefined, first: boolean) {
  console.error(`\n${size.toLocaleString('en')} tasks in the table`);
  const database = adminUrl ? await scratchDatabase(adminUrl, String(size)) : undefined;
  const dataDir = database ? undefined : mkdtempSync(path.join(os.tmpdir(), 'stm-bench-data-'));
  const seeded = await seedBenchDatabase(database ? { databaseUrl: database.url } : { dataDir: dataDir }, {
    users: USERS,
    tasks: size,
    bcryptCost: BCRYPT_COST,
  });
  console.error(`  seeded in ${seeded.seedSeconds} s`);
  // The embedded database opens in one process only: each second API (without rate limits, with
  // metrics) gets a copy.
  const measuringLimits = first && SCENARIOS.has('limits');
  const measuringNoise = first && SCENARIOS.has('noise');
  const measuringMetrics = first && SCENARIOS.has('metrics');
  const measuringTracing = first && SCENARIOS.has('tracing');
  const copyData = (wanted: boolean) => {
    if (!wanted || !dataDir) return undefined;
    const copy = mkdtempSync(path.join(os.tmpdir(), 'stm-bench-data-'));
    cpSync(dataDir, copy, { recursive: true });
    return copy;
  };
  const unlimitedDataDir = copyData(measuringLimits);
  const noiseDataDir = copyData(measuringNoise);
  const metricsDataDir = copyData(measuringMetrics);
  const tracingDataDir = copyData(measuringTracing);
  const stockDataDir = copyData(BOTH_MODES);
  const api = await startApi(apiEnv(database ? { url: database.url } : { dataDir: dataDir }), {
    ...(args['cpu-prof'] ? { cpuProfileDir: PROFILE_DIR } : {}),
    heapProbe: first && SCENARIOS.has('live'),
  });
  let floor: RunningProcess | undefined;
  let variant: RunningProcess | undefined;
  let stockApi: RunningProcess | undefined;
  let peakRss = api.rssMb();
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, api.rssMb());
  }, 200);
  serversByUrl.set(api.url, api);
  const results: Record<string, LoadResult> = {};
  try {
    const tokens = await signIn(api);
    const member = tokens[0] as string;
    const fast: Target = { api, tokens, member, label: BOTH_MODES ? 'fast paths' : '' };
    const targets = [fast];
    if (BOTH_MODES) {
      const env = apiEnv(database ? { url: database.url } : { dataDir: stockDataDir });
      stockApi = await startApi({ ...env, FAST_PATHS: args.stock });
      serversByUrl.set(stockApi.url, stockApi);
      const stockTokens = await signIn(stockApi);
      targets.push({ api: stockApi, tokens: stockTokens, member: stockTokens[0] as string, label: `FAST_PATHS=${args.stock}` });
    }
    const bearer = (i: number) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    // Reads spread over every signed-in user; task pages as one member of the shared project.
    const readsOf = (target: Target, requestPath: string, extra: Partial<LoadOptions> = {}): LoadOptions => ({
      url: target.api.url,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      request: (i) => ({ path: requestPath, headers: { authorization: `Bearer ${target.tokens[i % target.tokens.length]}` } }),
      ...extra,
    });
    const memberReadsOf = (target: Target, requestPath: string) =>
      readsOf(target, requestPath, { request: () => ({ path: requestPath, headers: { authorization: `Bearer ${target.member}` } }) });
    const reads = (url: string, requestPath: string, extra: Partial<LoadOptions> = {}): LoadOptions => ({
      url,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      request: (i) => ({ path: requestPath, headers: bearer(i) }),
      ...extra,
    });
    const memberReads = (url: string, requestPath: string) =>
      reads(url, requestPath, { request: () => ({ path: requestPath, headers: { authorization: `Bearer ${member}` } }) });
    /**
     * Each scenario on every target (one, or the API in both modes), and its floor when it has
     * one, in mirrored order in one run; rows as `record` prints them, the fast one with its ratio
     * to the other mode and to the floor. Returns the first target's results.
     */
    const acrossModes = async (scenarios: { name: string; load: (target: Target) => LoadOptions }[], floorLoad?: { name: string; load: LoadOptions }) => {
      const loads = scenarios.flatMap((scenario) => targets.map((target) => scenario.load(target)));
      const measuredLoads =
        loads.length === 1 && !floorLoad ? [await measured(loads[0] as LoadOptions)] : await mirrored(floorLoad ? [...loads, floorLoad.load] : loads);
      const floorResult = floorLoad ? (measuredLoads.at(-1) as Measured) : undefined;
      if (floorLoad && floorResult) record(floorLoad.name, floorResult);
      return scenarios.map((scenario, index) => {
        const [first, second] = [measuredLoads[index * targets.length] as Measured, measuredLoads[index * targets.length + 1]];
        if (second) {
          record(`${scenario.name} {${targets[1]?.label}}`, second, vsFloor(second, floorResult));
          const ratio = first.requestsPerSecond / Math.max(1, second.requestsPerSecond);
          record(`${scenario.name} {${fast.label}}`, first, { name: `${targets[1]?.label} req/s`, ratio });
          extras[`${scenario.name} req/s: fast paths / ${targets[1]?.label}`] = roundFine(ratio);
          if (first.serverCpuMsPerRequest !== undefined && second.serverCpuMsPerRequest !== undefined) {
            extras[`${scenario.name} server CPU per request: fast paths / ${targets[1]?.label}`] = roundFine(
              first.serverCpuMsPerRequest / Math.max(0.001, second.serverCpuMsPerRequest),
            );
          }
        } else {
          record(scenario.name, first, vsFloor(first, floorResult));
        }
        return first;
      });
    };
    const run = (url: string, requestPath: string, extra: Partial<LoadOptions> = {}) => measured(reads(url, requestPath, extra));

    const project = { projectId: seeded.projectId };
    const firstInput = { ...project, sort: 'createdAt', order: 'desc' };
    const deep = await deepCursor(api, member, firstInput);
    const filteredInput = { ...project, status: ['todo', 'in_progress'], sort: 'dueAt', order: 'asc' };
    const filteredDeep = await deepCursor(api, member, filteredInput).catch(() => undefined);
    const listPath = (input: Record<string, unknown>) => `/trpc/tasks.list?input=${encodeURIComponent(JSON.stringify(input))}`;

    if (database) {
      // The floor runs the statements the product runs for these pages, values and all.
      const viewer = { userId: seeded.benchUserId, isAdmin: false };
      const statement = (after?: { key: string | number | null; id: number }) => {
        const compiled = tasks.pageStatement(
          { scope: { project: seeded.projectId, viewer }, filters: {}, sort: 'created_at', order: 'desc', limit: 21, ...(after ? { after } : {}) },
          'keyed',
        );
        return { sql: compiled.sql, parameters: compiled.parameters };
      };
      const position = JSON.parse(Buffer.from(deep, 'base64url').toString()) as { k: string; i: number };
      const pages = { first: statement(), deep: statement({ key: position.k, id: position.i }) };
      floor = await startFloor(
        { DATABASE_URL: database.url, API_URL: api.url, FLOOR_TASK_PAGES: JSON.stringify(pages) },
        args['cpu-prof'] ? { cpuProfileDir: FLOOR_PROFILE_DIR } : {},
      );
      serversByUrl.set(floor.url, floor);
    }

    // Warm both servers (JIT, pools, the verified-token cache) on every route measured, before
    // measuring anything.
    const warm = (options: LoadOptions) => measured({ ...options, durationSeconds: 1 });
    await warm(reads(api.url, '/trpc/auth.me'));
    await warm(reads(api.url, '/api/auth/me'));
    await measured(memberReads(api.url, listPath(firstInput)));
    if (stockApi) {
      // Started later and not paged through: as warm as the first (JIT, pools) before either is measured.
      const stock = targets[1] as Target;
      for (let round = 0; round < 3; round++) {
        await warm(readsOf(stock, '/trpc/auth.me'));
        await warm(readsOf(stock, '/api/auth/me'));
        await warm(memberReadsOf(stock, listPath(firstInput)));
        await warm(memberReadsOf(stock, listPath({ ...firstInput, cursor: deep })));
      }
      await warm(reads(api.url, '/trpc/auth.me'));
      await warm(memberReads(api.url, listPath({ ...firstInput, cursor: deep })));
    }
    if (floor) {
      await warm(reads(floor.url, '/me'));
      await warm(memberReads(floor.url, '/tasks/first'));
      await warm(memberReads(floor.url, '/tasks/deep'));
    }

    if (first && SCENARIOS.has('me')) {
      const [me] = await acrossModes(
        [
          { name: 'auth.me (tRPC)', load: (target) => readsOf(target, '/trpc/auth.me') },
          { name: 'GET /api/auth/me (REST)', load: (target) => readsOf(target, '/api/auth/me') },
        ],
        floor ? { name: 'floor: JWT verify + primary-key select', load: reads(floor.url, '/me') } : undefined,
      );
      results.me = me as Measured;
    }

    if (first && SCENARIOS.has('tokens')) {
      // The same users calling auth.me with an API token each instead of an access token, in
      // mirrored rounds: what a token costs to check against what a session costs.
      const apiTokens: string[] = [];
      for (const token of tokens) {
        const response = await fetch(`${api.url}/trpc/tokens.create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: 'bench', scopes: ['tasks:read'], expiresInDays: 1 }),
        });
        if (!response.ok) throw new Error(`tokens.create: ${response.status} ${await response.text()}`);
        apiTokens.push(((await response.json()) as { result: { data: { token: string } } }).result.data.token);
      }
      const withApiTokens = reads(api.url, '/trpc/auth.me', {
        request: (i) => ({ path: '/trpc/auth.me', headers: { authorization: `Bearer ${apiTokens[i % apiTokens.length]}` } }),
      });
      await warm(withApiTokens);
      const [session, token] = (await mirrored([reads(api.url, '/trpc/auth.me'), withApiTokens], TOKEN_ROUNDS)) as [Measured, Measured];
      const ratio = token.requestsPerSecond / Math.max(1, session.requestsPerSecond);
      record('auth.me (tRPC), access token', session);
      record('auth.me (tRPC), API token', token, { name: 'access token req/s', ratio });
      extras['auth.me req/s: API token / access token'] = roundFine(ratio);
    }

    /**
     * auth.me on the same build and data started again with `env` changed, against this API, in
     * mirrored rounds; returns [this API, the variant].
     */
    const againstVariant = async (variantDataDir: string | undefined, env: Record<string, string>): Promise<[Measured, Measured]> => {
      const variantEnv = apiEnv(database ? { url: database.url } : { dataDir: variantDataDir });
      variant = await startApi({ ...variantEnv, ...env }, args['cpu-prof'] ? { cpuProfileDir: VARIANT_PROFILE_DIR } : {});
      serversByUrl.set(variant.url, variant);
      const variantTokens = await signIn(variant);
      const variantReads: LoadOptions = {
        ...reads(variant.url, '/trpc/auth.me'),
        request: (i) => ({ path: '/trpc/auth.me', headers: { authorization: `Bearer ${variantTokens[i % variantTokens.length]}` } }),
      };
      try {
        // This one has just started: as warm as the other (JIT, pools, caches) before either is measured.
        for (let round = 0; round < 3; round++) await warm(variantReads);
        await warm(reads(api.url, '/trpc/auth.me'));
        return (await mirrored([reads(api.url, '/trpc/auth.me'), variantReads], LIMITS_ROUNDS)) as [Measured, Measured];
      } finally {
        await variant.stop();
        variant = undefined;
      }
    };
    /** Records `on` beside `off` with their ratios; `names` labels the two rows (default: "label on", "label off"). */
    const compare = (label: string, on: Measured, off: Measured, names?: { on: string; off: string }) => {
      const rows = names ?? { on: `${label} on`, off: `${label} off` };
      const ratioName = names ? `${names.on} / ${names.off}` : `${label} on / off`;
      const ratio = on.requestsPerSecond / Math.max(1, off.requestsPerSecond);
      record(`auth.me (tRPC), ${rows.off}`, off);
      record(`auth.me (tRPC), ${rows.on}`, on, { name: `${rows.off} req/s`, ratio });
      extras[`auth.me req/s: ${ratioName}`] = roundFine(ratio);
      if (on.serverCpuMsPerRequest !== undefined && off.serverCpuMsPerRequest !== undefined) {
        extras[`auth.me server CPU per request: ${ratioName}`] = roundFine(on.serverCpuMsPerRequest / Math.max(0.001, off.serverCpuMsPerRequest));
      }
    };

    if (measuringLimits) {
      // With both per-address limits off, against this API with them on (at budgets no load here
      // reaches, so every request is counted and none refused).
      const [on, off] = await againstVariant(unlimitedDataDir, { RATE_LIMIT_MAX: 'off', AUTH_RATE_LIMIT_MAX: 'off' });
      compare('rate limits', on, off);
    }

    if (measuringNoise) {
      // The same build and settings started again: how far apart two identical APIs measure in
      // this run, the yardstick for the on/off ratios around it.
      const [first, again] = await againstVariant(noiseDataDir, {});
      compare('noise', again, first, { on: 'same build again', off: 'first start' });
    }

    if (measuringMetrics) {
      // With Prometheus metrics on (every request and procedure timed), against this API without.
      const [off, on] = await againstVariant(metricsDataDir, { METRICS_TOKEN: 'bench-metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz' });
      compare('metrics', on, off);
    }

    if (measuringTracing) {
      // Every request traced (spans for the request, its handler and each statement) and sent
      // over OTLP/HTTP to a sink in this process, against this API without tracing.
      const sink = await startOtlpSink();
      try {
        const [off, on] = await againstVariant(tracingDataDir, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url });
        compare('tracing', on, off);
        extras['tracing: spans exported'] = sink.spans();
      } finally {
        await sink.close();
      }
    }

    if (SCENARIOS.has('list')) {
      const where = `project of ${seeded.projectTasks.toLocaleString('en')} tasks, ${size.toLocaleString('en')} in all`;
      // Each page beside its floor: the same SQL, membership check included, without the product around it.
      const page = (input: Record<string, unknown>) => (target: Target) => memberReadsOf(target, listPath(input));
      const floorPage = (name: string, floorPath: string) => (floor ? { name, load: memberReads(floor.url, floorPath) } : undefined);
      [results.first] = (await acrossModes(
        [{ name: `tasks.list first page [${where}]`, load: page(firstInput) }],
        floorPage(`floor: task page SQL, first page [${size}]`, '/tasks/first'),
      )) as [Measured];
      [results.deep] = (await acrossModes(
        [{ name: `tasks.list deep page (${DEEP_OFFSET}) [${size}]`, load: page({ ...firstInput, cursor: deep }) }],
        floorPage(`floor: task page SQL, deep page [${size}]`, '/tasks/deep'),
      )) as [Measured];
      [results.filtered] = (await acrossModes([{ name: `tasks.list todo|in_progress by due date [${size}]`, load: page(filteredInput) }])) as [Measured];
      if (filteredDeep) {
        [results.filteredDeep] = (await acrossModes([
          { name: `tasks.list todo|in_progress by due date, deep [${size}]`, load: page({ ...filteredInput, cursor: filteredDeep }) },
        ])) as [Measured];
      }
      [results.allProjects] = (await acrossModes([
        { name: `tasks.list every project of the member, first page [${size}]`, load: page({ sort: 'createdAt', order: 'desc' }) },
      ])) as [Measured];
      [results.myWork] = (await acrossModes([
        { name: `tasks.list assigned to me, by due date [${size}]`, load: page({ assignee: 'me', sort: 'dueAt', order: 'asc' }) },
      ])) as [Measured];
      // A common word (the page fills from the project's own order), a rare one (the trigram
      // indexes find it), and a phrase whose trigrams are nearly all in every row (the trigram
      // indexes' worst case: long posting lists to intersect).
      for (const [key, term] of [
        ['searchCommon', 'deploy'],
        ['searchRare', 'zebrafish'],
        ['searchCommonTrigrams', 'item 77777'],
      ] as const) {
        results[key] = await measured(memberReads(api.url, listPath({ ...project, search: term })));
        record(`tasks.list search "${term}" in the project [${size}]`, results[key], {
          name: 'first page p95 (p95 ratio)',
          ratio: results[key].p95 / Math.max(0.01, results.first.p95),
        });
      }
    }

    if (first && SCENARIOS.has('writes')) {
      let n = 0;
      await acrossModes([
        {
          name: 'tasks.create (tRPC)',
          load: (target) => ({
            url: target.api.url,
            method: 'POST',
            connections: CONNECTIONS,
            durationSeconds: DURATION,
            request: (i) => ({
              path: '/trpc/tasks.create',
              headers: { authorization: `Bearer ${target.tokens[i % target.tokens.length]}`, 'content-type': 'application/json' },
              body: JSON.stringify({ title: `Bench task ${n++}`, priority: 'high', dueAt: '2030-01-01T00:00:00Z' }),
            }),
          }),
        },
      ]);
      const idsOf = new Map<Target, number[]>();
      for (const target of targets) {
        idsOf.set(
          target,
          (await trpcGet<{ items: { id: number }[] }>(target.api, target.member, 'tasks.list', { limit: 100 })).items.map((t) => t.id),
        );
      }
      await acrossModes([
        {
          name: 'tasks.update (tRPC)',
          load: (target) => {
            const ids = idsOf.get(target) ?? [];
            return {
              url: target.api.url,
              method: 'POST',
              connections: CONNECTIONS,
              durationSeconds: DURATION,
              request: (i) => ({
                path: '/trpc/tasks.update',
                headers: { authorization: `Bearer ${target.member}`, 'content-type': 'application/json' },
                body: JSON.stringify({ id: ids[i % ids.length], title: `Renamed ${i}`, status: i % 2 ? 'in_progress' : 'todo' }),
              }),
            };
          },
        },
      ]);
    }

    if (first && SCENARIOS.has('live')) {
      // Task creations in the shared project, with no stream open and then with --subscribers
      // streams of it open (one member's, as one person with many tabs would be).
      const probe = database && adminUrl && measuringDatabase ? databaseProbe(adminUrl, database.name) : undefined;
      const live = await measureLive(api, member, seeded.projectId, { subscribers: Number(args.subscribers), seconds: DURATION, database: probe });
      console.error(
        `  live, ${live.subscribers} subscriptions: ${live.writesPerSecondWatched} writes/s (${live.writesPerSecondAlone} with none, ` +
          `${round(live.writesPerSecondWatched / Math.max(1, live.writesPerSecondAlone))}x), write p95 ${live.writeP95Ms} ms (${live.writeP95MsAlone} with none), ` +
          `answer→receipt p95 ${live.receiptP95Ms} ms, ${live.missed} missed, ` +
          `${live.heapPerSubscriptionKb ?? '?'} kB heap (${live.memoryPerSubscriptionKb} kB RSS) per subscription, ` +
          `API CPU ${live.apiCpuPerSecondWatched}/s (${live.apiCpuPerSecondAlone}/s with none), subscribers' process ${live.subscribersCpuSeconds} s CPU`,
      );
      const [apiAlone, apiWatched] = live.perWrite.apiCpuMs;
      const [dbAlone, dbWatched] = live.perWrite.databaseCpuMs ?? [];
      const [txAlone, txWatched] = live.perWrite.databaseTransactions ?? [];
      console.error(
        `  live, per write (none open → ${live.subscribers} open): API ${apiAlone} → ${apiWatched} ms CPU, ` +
          (dbAlone === undefined ? '' : `PostgreSQL ${dbAlone} → ${dbWatched} ms CPU and ${txAlone} → ${txWatched} transactions, `) +
          `subscribers' process ${live.perWrite.subscribersCpuMs} ms CPU; machine busy ${live.perWrite.machineBusy.join(' → ')} of all cores` +
          // What writes/s would do if the API and the database had the cores to themselves and the subscribers ran elsewhere.
          (dbAlone === undefined || dbWatched === undefined
            ? ''
            : `; API+PostgreSQL CPU per write none / open ${round((apiAlone + dbAlone) / Math.max(0.01, apiWatched + dbWatched))}x`),
      );
      extras[`live[${size}]`] = live;
    }

    if (first && SCENARIOS.has('login')) {
      // Sign-ins at the configured cost, beside what bcrypt alone does on this machine right now.
      const limit = await bcryptLimit(BCRYPT_COST, Math.min(DURATION, 5));
      const loginLoad = () =>
        measured({
          url: api.url,
          method: 'POST',
          connections: Math.max(4, availableParallelism() * 2),
          durationSeconds: DURATION,
          request: (i) => ({
            path: '/api/auth/login',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: benchUsername(i % USERS), password: BENCH_PASSWORD }),
          }),
        });
      const login = await loginLoad();
      record(`sign-in (bcrypt cost ${BCRYPT_COST})`, login, { name: `bcrypt limit (${limit}/s)`, ratio: login.requestsPerSecond / limit });
      // auth.me while every core hashes: the event loop must stay free.
      const meAtRest = await run(api.url, '/trpc/auth.me', { connections: 4 });
      record('auth.me at rest, 4 connections', meAtRest);
      const [meDuringStorm] = await Promise.all([run(api.url, '/trpc/auth.me', { connections: 4 }), loginLoad()]);
      // The server's CPU time in those seconds went to both loads: no per-request figure.
      delete meDuringStorm.serverCpuMsPerRequest;
      delete meDuringStorm.databaseCpuMsPerRequest;
      record('auth.me during a sign-in storm', meDuringStorm, { name: 'p99 at rest (p99 ratio)', ratio: meDuringStorm.p99 / Math.max(0.01, meAtRest.p99) });
    }
    return { results, peakRss };
  } finally {
    clearInterval(rssTimer);
    await floor?.stop();
    await variant?.stop();
    await stockApi?.stop();
    await api.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    for (const copy of [unlimitedDataDir, noiseDataDir, metricsDataDir, tracingDataDir, stockDataDir]) if (copy) rmSync(copy, { recursive: true, force: true });
    extras[`apiPeakRssMb[${size}]`] = peakRss;
  }
}

/** An OTLP/HTTP receiver that counts the spans it is sent and keeps nothing. */
async function startOtlpSink() {
  let spans = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      spans += (
        Buffer.concat(chunks)
          .toString('utf8')
          .match(/"spanId"/g) ?? []
      ).length;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main() {
  const adminUrl = args.embedded ? undefined : (process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL);
  console.error(
    `bench: ${adminUrl ? 'PostgreSQL' : 'embedded PGlite'}, fast paths ${BOTH_MODES ? `on and FAST_PATHS=${args.stock}` : FAST_PATHS}, ${DURATION} s per scenario, ${CONNECTIONS} connections, bcrypt cost ${BCRYPT_COST}, ${availableParallelism()} cores`,
  );
  if (adminUrl) await dropStaleScratchDatabases(adminUrl);
  // The embedded database runs inside the API process: its CPU time is already the API's.
  const host = adminUrl ? new URL(adminUrl).hostname : undefined;
  measuringDatabase = host !== undefined && ['127.0.0.1', 'localhost', '[::1]', ''].includes(host) && databaseCpuSeconds().size > 0;
  extras.startToReadyEmbedded = await startToReady();
  extras.consoleFirstLoadJsGzipKb = consoleFirstLoadKb();

  const bySize: Record<number, Record<string, LoadResult>> = {};
  for (const [index, size] of SIZES.entries()) {
    bySize[size] = (await measureSize(size, adminUrl, index === 0)).results;
  }
  const [small, large] = [SIZES[0], SIZES.at(-1)] as [number, number];
  if (SIZES.length > 1) {
    for (const key of ['first', 'deep', 'filtered', 'filteredDeep', 'allProjects', 'myWork', 'searchCommon', 'searchRare', 'searchCommonTrigrams'] as const) {
      const a = bySize[small]?.[key];
      const b = bySize[large]?.[key];
      if (a && b) extras[`tasks.list ${key}: p95 at ${large} / p95 at ${small}`] = round(b.p95 / Math.max(0.01, a.p95));
    }
  }

  console.table(
    rows.map((r) => ({
      scenario: r.scenario,
      'req/s': r.requestsPerSecond,
      'p50 ms': r.p50,
      'p95 ms': r.p95,
      'p99 ms': r.p99,
      errors: r.errors,
      'CPU ms/req': r.serverCpuMsPerRequest ?? '',
      'DB CPU ms/req': r.databaseCpuMsPerRequest ?? '',
      vs: r.ratio === undefined ? '' : `${r.ratio}x ${r.against}`,
    })),
  );
  for (const [key, value] of Object.entries(extras)) console.log(`${key}: ${JSON.stringify(value)}`);
  if (args['cpu-prof']) {
    console.log('\nThe API:');
    summarizeNewestProfile(PROFILE_DIR);
    if (existsSync(VARIANT_PROFILE_DIR)) {
      console.log('\nThe last on/off variant of the API:');
      summarizeNewestProfile(VARIANT_PROFILE_DIR);
    }
    if (adminUrl) {
      console.log('\nThe floor:');
      summarizeNewestProfile(FLOOR_PROFILE_DIR);
    }
  }
  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const settings = {
    fastPaths: BOTH_MODES ? `both (against FAST_PATHS=${args.stock})` : FAST_PATHS,
    duration: DURATION,
    connections: CONNECTIONS,
    users: USERS,
    sizes: SIZES,
    bcryptCost: BCRYPT_COST,
    database: adminUrl ? 'postgres' : 'pglite',
    cores: availableParallelism(),
  };
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), settings, rows, extras }, null, 2)}\n`);
  console.log(`results: ${path.relative(ROOT, file)}`);
}

await main();
