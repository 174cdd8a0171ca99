import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The shared test Redis, when the run has one (TEST_REDIS_URL). */
export const testRedisUrl = process.env.TEST_REDIS_URL || undefined;

/** A key prefix no other test or process uses: the Redis is shared with other runs. */
export function uniqueRedisPrefix(label: string): string {
  return `stm-test:${label}:${randomUUID()}:`;
}

/** Removes every key under a prefix (bounded: test prefixes hold a handful of keys). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  if (!testRedisUrl) return;
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    for (let round = 0; round < 1_000; round++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
}
