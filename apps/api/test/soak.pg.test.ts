/**
 * A long run: a bounded mixed load (tasks created, updated and listed; sessions signed in,
 * refreshed and ended) against one API process. Nothing may fail, the stored tasks must match
 * every answer, and memory must level off: from the end of a warm-up to the end of the run,
 * neither the heap left after a full collection nor the resident memory may grow by more than
 * 10%. Resident memory is sampled all through the middle and the last part of the run and
 * compared by its floor in each (see `floorBetween`): a snapshot of a moment swings by a tenth
 * either way with the garbage not yet collected just then, which says nothing about growth.
 * 30 s in CI; `SOAK_SECONDS=120` for a longer run by hand.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@stm/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PASSWORD } from './helpers';
import { call, signUpOverHttp, sleep, within } from './load';
import { type ServerProcess, startServer } from './processes';
import { Ledger, ledgerProblems, type Request, runWorker } from './workload';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS || 30);
const WARM_UP_MS = Math.min(10_000, (SOAK_SECONDS * 1000) / 3);
const TASK_WORKERS = 4;
const MAX_GROWTH = 0.1;
/** About how long a measurement takes; the last one ends as the load does. */
const MEASURE_MS = 3_000;

/** Resident memory of a process in KiB, from the kernel. */
function residentKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

const lowTenth = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 10)] as number;

/** Resident memory sampled every quarter second from now on, each with its time. */
function sampleResidentMemory(pid: number) {
  const samples: { at: number; kib: number }[] = [];
  const timer = setInterval(() => samples.push({ at: Date.now(), kib: residentKiB(pid) }), 250);
  return {
    /**
     * What the process kept between two moments: the low tenth of the samples, the level it
     * returns to after each collection. Above it is garbage not yet collected, which rises and
     * falls with the load of the moment; growth of this floor is memory that stays.
     */
    floorBetween: (from: number, to: number) => lowTenth(samples.filter((s) => s.at >= from && s.at < to).map((s) => s.kib)),
    stop: () => clearInterval(timer),
  };
}

/**
 * Bytes of JavaScript heap the process holds under load, after a full collection (through
 * gc-on-signal.cjs), so the number does not depend on how far the collector lags behind.
 */
async function heapAfterGc(server: ServerProcess): Promise<number> {
  const reports = () => server.output().match(/heap-after-gc \d+/g)?.length ?? 0;
  const before = reports();
  process.kill(server.child.pid as number, 'SIGUSR2');
  await within(10_000, () => Promise.resolve(reports() > before));
  return Number(
    server
      .output()
      .match(/heap-after-gc (\d+)/g)
      ?.at(-1)
      ?.split(' ')[1],
  );
}

/** Signs in, asks who it is, refreshes, and signs out, over and over: sessions and tokens come and go. */
async function runSessionWorker(baseUrl: string, username: string, requests: Request[], done: () => boolean, maxOps: number) {
  for (let n = 0; n < maxOps && !done(); n += 4) {
    const login = await call(baseUrl, 'POST', '/api/auth/login', { body: { username, password: PASSWORD } });
    requests.push({ ...login, op: 'session' });
    if (login.status !== 200) continue;
    const token = login.body.access_token as string;
    requests.push({ ...(await call(baseUrl, 'GET', '/api/auth/me', { token })), op: 'me' });
    const refreshed = await call(baseUrl, 'POST', '/api/auth/refresh', { body: { refresh_token: login.body.refresh_token } });
    requests.push({ ...refreshed, op: 'session' });
    const next = refreshed.status === 200 ? (refreshed.body.access_token as string) : token;
    requests.push({ ...(await call(baseUrl, 'POST', '/api/auth/logout', { token: next, body: {} })), op: 'session' });
  }
}

describe.runIf(inject('dbTemplate').driver === 'postgres')('a long run', () => {
  let database: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase(inject('dbTemplate'));
    server = await startServer({
      DATABASE_URL: database.url as string,
      RATE_LIMIT_MAX: '100000000',
      AUTH_RATE_LIMIT_MAX: '100000000',
      NODE_OPTIONS: `--require ${fileURLToPath(new URL('./gc-on-signal.cjs', import.meta.url))}`,
    });
  });

  afterAll(async () => {
    await server?.stop();
    await database?.close();
  });

  it(
    `${SOAK_SECONDS} s of mixed load: no errors, the data as answered, memory levels off`,
    async () => {
      const usernames = Array.from({ length: TASK_WORKERS }, (_, i) => `soak_${i}`);
      const tokens = await Promise.all(usernames.map((username) => signUpOverHttp(server.url, username)));
      await signUpOverHttp(server.url, 'soak_sessions');

      const endsAt = Date.now() + SOAK_SECONDS * 1000;
      const done = () => Date.now() >= endsAt;
      const ledger = new Ledger();
      const requests: Request[] = [];
      const load = Promise.all([
        ...tokens.map((token, i) =>
          runWorker({ baseUrl: server.url, token, name: usernames[i] as string, ledger, requests, done, maxOps: SOAK_SECONDS * 500 }),
        ),
        runSessionWorker(server.url, 'soak_sessions', requests, done, SOAK_SECONDS * 200),
      ]);
      // Every measurement is taken under the same load: the heap after the warm-up and at the
      // end; resident memory all through the half after the warm-up and the half before the end.
      const resident = sampleResidentMemory(server.child.pid as number);
      const warmedAt = Date.now() + WARM_UP_MS;
      const halfway = warmedAt + (endsAt - MEASURE_MS - warmedAt) / 2;
      await sleep(WARM_UP_MS);
      const warmHeap = await heapAfterGc(server);
      await sleep(endsAt - MEASURE_MS - Date.now());
      const endHeap = await heapAfterGc(server);
      resident.stop();
      await load;
      const warm = { heapAfterGc: warmHeap, residentKiB: resident.floorBetween(warmedAt, halfway) };
      const end = { heapAfterGc: endHeap, residentKiB: resident.floorBetween(halfway, endsAt - MEASURE_MS) };

      expect(server.child.exitCode, server.output()).toBeNull();
      const failed = requests.filter((r) => r.status < 200 || r.status >= 300);
      expect(failed.map((r) => `${r.op} ${r.status} ${r.failure ?? JSON.stringify(r.body)}`).slice(0, 10)).toEqual([]);
      expect(requests.length).toBeGreaterThan(SOAK_SECONDS * 20);
      expect(await ledgerProblems(database.db, usernames, ledger)).toEqual([]);

      const memory = `after warm-up ${JSON.stringify(warm)}, at the end ${JSON.stringify(end)}, ${requests.length} requests`;
      expect(end.heapAfterGc / warm.heapAfterGc - 1, memory).toBeLessThanOrEqual(MAX_GROWTH);
      expect(end.residentKiB / warm.residentKiB - 1, memory).toBeLessThanOrEqual(MAX_GROWTH);
    },
    SOAK_SECONDS * 1000 + 60_000,
  );
});
