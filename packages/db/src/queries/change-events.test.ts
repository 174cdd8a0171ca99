/**
 * The change log hands out ids in commit order (`appendChangeEvents`): a writer of events waits
 * for the one before it to commit, and draws its ids only once it is its turn, so a reader that
 * has seen id N has seen every event below N.
 */
import { sql } from 'kysely';
import { expect, inject, it } from 'vitest';
import { createTestDatabase } from '../testing';
import { appendChangeEvents, listChangeEventsAfter, type NewChangeEvent } from './change-events';

const template = inject('dbTemplate');

const event = (kind: string): NewChangeEvent => ({ projectId: 1, userId: null, kind, entityId: null, actorId: null, payload: { kind } });

// The embedded database serves one connection at a time: its writers take turns whatever they do.
it.runIf(template.driver === 'postgres')('a writer of events waits for the one before it to commit, and draws no id while it waits', async () => {
  const database = await createTestDatabase(template);
  try {
    let letFirstCommit = () => {};
    const firstMayCommit = new Promise<void>((resolve) => (letFirstCommit = resolve));
    let firstAppended = () => {};
    const firstHasAppended = new Promise<void>((resolve) => (firstAppended = resolve));
    const order: string[] = [];
    const first = database.db.transaction().execute(async (trx) => {
      await appendChangeEvents(trx, [event('first')]);
      firstAppended();
      await firstMayCommit;
      order.push('first commits');
    });
    await firstHasAppended;
    const second = database.db.transaction().execute(async (trx) => {
      await appendChangeEvents(trx, [event('second'), event('third')]);
      order.push('second appended');
    });

    const waiting = sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`;
    await expect.poll(async () => (await waiting.execute(database.db)).rows[0]?.n, { timeout: 10_000 }).toBe(1);
    // Had the waiting writer drawn its ids first, a writer after it could take its turn, and
    // commit, before it: a reader past the later ids would never see the earlier ones.
    const drawn = sql<{ last: string }>`select last_value::text as last from pg_sequences where sequencename = 'change_events_id_seq'`;
    expect((await drawn.execute(database.db)).rows[0]?.last).toBe('1');
    expect(order).toEqual([]);

    letFirstCommit();
    await Promise.all([first, second]);
    expect(order).toEqual(['first commits', 'second appended']);
    expect((await listChangeEventsAfter(database.db, 0, 10)).map((row) => [row.id, row.kind])).toEqual([
      [1, 'first'],
      [2, 'second'],
      [3, 'third'],
    ]);
  } finally {
    await database.close();
  }
});
