import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rest, type TestApp } from './helpers';

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

  it('turns registrations and password changes away the same way', async () => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => rest(t.app, 'POST', '/api/auth/register', { body: { username: `flood_reg_${i}`, password: PASSWORD } })),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
  });
});
