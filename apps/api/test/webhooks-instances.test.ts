import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordChange } from '../src/services/events';
import { WebhooksService } from '../src/services/webhooks';
import { createTestApp, signUp, type TestApp } from './helpers';
import { type Receiver, startReceiver, verify } from './webhook-receiver';

/**
 * Webhooks across instances over one database: an instance that goes away mid-delivery loses
 * nothing (the next one sends the interrupted message again, with the same id, and everything
 * after it in order), an endpoint is delivered to by one instance at a time, and a change wakes
 * only the workers that know of an active endpoint.
 */
describe('webhooks across instances', () => {
  const environment = { WEBHOOK_ALLOW_PRIVATE: 'true' };
  let b: TestApp;
  let a: TestApp | undefined;
  let receiver: Receiver;

  beforeAll(async () => {
    b = await createTestApp(environment);
    a = await createTestApp(environment, { database: b.database });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await receiver?.close();
  });

  it('an instance closed mid-delivery loses nothing: every committed change arrives, in order, with stable ids', async () => {
    const owner = await signUp(b, 'relay_owner');
    const calls = b.caller(owner.accessToken);
    const projectId = (await calls.projects.create({ name: 'Relayed' })).id;
    const endpoint = await calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });

    const titles: string[] = [];
    for (let n = 1; n <= 6; n += 1) {
      titles.push(`Task ${n}`);
      await calls.tasks.create({ projectId, title: `Task ${n}` });
      if (n === 2) {
        await expect(
          b.database.db.transaction().execute(async (trx) => {
            await recordChange(trx, {
              projectId,
              kind: 'task.created',
              entityId: 777_777,
              actorId: owner.user.id,
              payload: { task: { title: 'Rolled back' } },
            });
            throw new Error('rolled back');
          }),
        ).rejects.toThrow();
      }
    }

    // The third message gets no answer: instance A is closed while it waits for one.
    let hung: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      hung = resolve;
    });
    let held = false;
    receiver.respond((_req, res, body) => {
      if (!held && body.includes('"Task 3"')) {
        held = true;
        hung();
        return;
      }
      res.writeHead(200).end();
    });
    const instanceA = a as TestApp;
    const running = instanceA.app.services.webhooks.deliverDue();
    await waiting;
    await instanceA.close();
    a = undefined;
    await running;
    expect(receiver.received.map((message) => JSON.parse(message.body).data.details.task.title)).toEqual(['Task 1', 'Task 2', 'Task 3']);

    // Committed while A was away, delivered by B with the rest.
    titles.push('Task 7');
    await calls.tasks.create({ projectId, title: 'Task 7' });
    await b.app.services.webhooks.deliverDue();

    const received = receiver.received.map((message) => ({ id: message.id, title: JSON.parse(message.body).data.details.task.title as string, message }));
    // At least once: Task 3 came twice, with the same id and body; every title in commit order otherwise.
    expect(received.map((entry) => entry.title)).toEqual(['Task 1', 'Task 2', 'Task 3', 'Task 3', 'Task 4', 'Task 5', 'Task 6', 'Task 7']);
    const [first, again] = received.filter((entry) => entry.title === 'Task 3');
    expect(again?.id).toBe(first?.id);
    expect(again?.message.body).toBe(first?.message.body);
    const firstSeen = [...new Map(received.map((entry) => [entry.id, Number(entry.id.slice('msg_ch_'.length))])).values()];
    expect(firstSeen).toEqual([...firstSeen].sort((x, y) => x - y));
    expect(new Set(received.map((entry) => entry.title))).toEqual(new Set(titles));
    expect(received.some((entry) => entry.title === 'Rolled back')).toBe(false);
    for (const entry of received) expect(verify(endpoint.secret, entry.message)).toBeTruthy();
  });

  it('a change wakes the workers that know of an active endpoint, not every worker for every change', async () => {
    // Polls far apart: whatever is delivered in this test was woken by a change.
    const polling = { ...environment, WEBHOOK_POLL_MS: '600000' };
    const runs = vi.spyOn(WebhooksService.prototype, 'deliverDue');
    const maker = await createTestApp(polling);
    const other = await createTestApp(polling, { database: maker.database });
    const runsOn = (instance: TestApp) => runs.mock.contexts.filter((context) => context === instance.app.services.webhooks).length;
    try {
      receiver.received.length = 0;
      receiver.respond((_req, res) => res.writeHead(200).end());
      const owner = await signUp(maker, 'woken_owner');
      const onMaker = maker.caller(owner.accessToken);
      const onOther = other.caller(owner.accessToken);
      const projectId = (await onMaker.projects.create({ name: 'Woken' })).id;
      // No endpoint anywhere yet: changes wake no worker.
      await onOther.tasks.create({ projectId, title: 'Unheard' });
      runs.mockClear();
      await onMaker.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
      for (const title of ['One', 'Two', 'Three']) await onOther.tasks.create({ projectId, title });
      // The instance that made the endpoint delivers what the other one committed, at once.
      await expect
        .poll(() => receiver.received.map((message) => JSON.parse(message.body).data.details.task.title), { timeout: 10_000 })
        .toEqual(['One', 'Two', 'Three']);
      expect(runsOn(maker)).toBeGreaterThan(0);
      // The other one learns of the endpoint at its next poll; until then its changes' announcements
      // cost it nothing.
      expect(runsOn(other)).toBe(0);
    } finally {
      runs.mockRestore();
      await other.close();
      await maker.close();
    }
  });

  it('an endpoint held by an instance that died is taken over when its lease ends, not before', async () => {
    receiver.received.length = 0;
    receiver.respond((_req, res) => res.writeHead(200).end());
    const owner = await signUp(b, 'lease_owner');
    const calls = b.caller(owner.accessToken);
    const projectId = (await calls.projects.create({ name: 'Leased' })).id;
    const endpoint = await calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
    await calls.tasks.create({ projectId, title: 'Held' });
    // As a worker that claimed it and then died would leave it.
    const now = Date.now();
    await b.database.db
      .updateTable('webhook_endpoints')
      .set({ locked_until: new Date(now + 60_000), lease_token: randomUUID() })
      .where('id', '=', endpoint.id)
      .execute();
    await b.app.services.webhooks.deliverDue(() => new Date(now));
    expect(receiver.received).toHaveLength(0);
    await b.app.services.webhooks.deliverDue(() => new Date(now + 61_000));
    expect(receiver.received.map((message) => JSON.parse(message.body).data.details.task.title)).toEqual(['Held']);
  });
});
