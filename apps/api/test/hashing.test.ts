import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, type TestApp, trpc } from './helpers';

let t: TestApp;
beforeAll(async () => {
  // One hash at a time, one waiting: the third concurrent sign-in must be turned away.
  t = await createTestApp({ BCRYPT_COST: '10', BCRYPT_CONCURRENCY: '1', BCRYPT_MAX_QUEUE: '1' });
  // One account per attempt: the flood is about hashing capacity, not one account's lockout.
  for (let i = 0; i < 8; i++) await t.caller().auth.register({ username: `flood_${i}`, password: PASSWORD });
});
afterAll(() => t.close());

describe('bounded hashing', () => {
  it('answers 503 with Retry-After at once when the hashing queue is full, and recovers', async () => {
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => rest(t.app, 'POST', '/api/auth/login', { body: { username: `flood_${i}`, password: PASSWORD } })),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    const busy = responses.filter((r) => r.statusCode === 503);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    for (const response of busy) {
      expect(response.headers['retry-after']).toBe('1');
      expect(json(response).data.reason).toBe('SERVER_BUSY');
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    // Once the flood has passed, sign-in works again.
    expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'flood_0', password: PASSWORD } })).statusCode).toBe(200);
  });

  it('turns registrations away the same way', async () => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => rest(t.app, 'POST', '/api/auth/register', { body: { username: `flood_reg_${i}`, password: PASSWORD } })),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
  });

  it('turns sign-ins over tRPC away with the same 503 and Retry-After', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => trpc(t.app, 'mutation', 'auth.login', { username: `flood_${i}`, password: PASSWORD })),
    );
    const busy = responses.filter((r) => r.statusCode === 503);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(responses.every((r) => r.statusCode === 200 || r.statusCode === 503)).toBe(true);
    for (const response of busy) {
      expect(response.headers['retry-after']).toBe('1');
      expect(json(response).error.data).toMatchObject({ reason: 'SERVER_BUSY', retryAfterSeconds: 1 });
    }
  });

  it('turns password changes away the same way, over REST and tRPC', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 8; i++) tokens.push((await t.caller().auth.login({ username: `flood_${i}`, password: PASSWORD })).access_token);
    const responses = await Promise.all(
      tokens.map((token, i) => {
        const input = { currentPassword: PASSWORD, newPassword: `a new flood passphrase ${i}` };
        return i % 2 === 0
          ? rest(t.app, 'POST', '/api/auth/change-password', { token, body: input })
          : trpc(t.app, 'mutation', 'auth.changePassword', input, { token });
      }),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    for (const response of responses.filter((r) => r.statusCode === 503)) {
      expect(response.headers['retry-after']).toBe('1');
      const data = response.raw.req.url?.startsWith('/trpc') ? json(response).error.data : json(response).data;
      expect(data.reason).toBe('SERVER_BUSY');
    }
  });
});

/** This process's threads, from /proc: each one's nice value and the CPU it has used, in clock ticks. */
function threads(): { tid: string; nice: number; cpuTicks: number }[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      return []; // ended since the listing
    }
    // Fields after the parenthesised name, from the state (field 3) on: see proc(5).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [{ tid, nice: Number(fields[16]), cpuTicks: Number(fields[11]) + Number(fields[12]) }];
  });
}

describe('hashing priority', () => {
  it.runIf(process.platform === 'linux')('hashes on a thread that runs below the event loop, so a sign-in storm yields to requests', async () => {
    // getpriority() names the calling thread on Linux: here, the event loop.
    const lowered = Math.min(19, getPriority() + 10);
    const hashingThreads = () => threads().filter((thread) => thread.nice === lowered);
    // BCRYPT_CONCURRENCY is 1 in this file.
    expect(hashingThreads()).toHaveLength(1);
    await t.caller().auth.register({ username: 'priority_check', password: PASSWORD });
    const before = hashingThreads()[0]!;
    for (let i = 0; i < 3; i++) {
      expect((await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'priority_check', password: PASSWORD } })).statusCode).toBe(200);
    }
    const after = threads().find((thread) => thread.tid === before.tid);
    // Three compares at cost 10 take ~150 ms of CPU, ~15 ticks: on that thread, not the event loop's.
    expect(after!.cpuTicks - before.cpuTicks).toBeGreaterThanOrEqual(5);
  });
});
