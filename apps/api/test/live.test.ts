/**
 * Live changes over server-sent events: two API instances on one database (on PostgreSQL each
 * with its own connections and LISTEN session, as two processes would be), a subscriber on one
 * and a writer on the other, through real HTTP and tRPC's own `httpSubscriptionLink`.
 */
import { createDb } from '@stm/db';
import type { TestDatabase } from '@stm/db/testing';
import { createTRPCClient, httpSubscriptionLink, type TRPCClientError } from '@trpc/client';
import type { Unsubscribable } from '@trpc/server/observable';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveChange } from '../src/routers/live';
import type { AppRouter } from '../src/routers';
import { createTestApp, PASSWORD, rejection, signUp, signUpAdmin, startTestApp, type TestApp } from './helpers';

const LIVE = { LIVE_CHECK_INTERVAL_MS: '200', LIVE_BUFFER_EVENTS: '5' };

/** A stream as a client sees it: every message, how it ended, and a wait for one that matches. */
interface Subscription {
  messages: LiveChange[];
  ended: Promise<{ error?: TRPCClientError<AppRouter> }>;
  next(match: (message: LiveChange) => boolean, ms?: number): Promise<LiveChange>;
  stop(): void;
}

function subscribe(
  baseUrl: string,
  token: string,
  open: (
    client: ReturnType<typeof createTRPCClient<AppRouter>>,
    handlers: { onData(data: unknown): void; onError(error: TRPCClientError<AppRouter>): void; onComplete(): void },
  ) => Unsubscribable,
): Subscription {
  const client = createTRPCClient<AppRouter>({
    links: [
      httpSubscriptionLink({
        url: `${baseUrl}/trpc`,
        EventSource,
        eventSourceOptions: () => ({
          fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
        }),
      }),
    ],
  });
  const messages: LiveChange[] = [];
  const waiters = new Set<() => void>();
  let finish!: (outcome: { error?: TRPCClientError<AppRouter> }) => void;
  const ended = new Promise<{ error?: TRPCClientError<AppRouter> }>((resolve) => (finish = resolve));
  const subscription = open(client, {
    onData(data: unknown) {
      // A tracked message arrives as `{ id, data }`.
      const sent = data as LiveChange | { id: string; data: LiveChange };
      messages.push('data' in sent && 'id' in sent ? sent.data : sent);
      for (const wake of waiters) wake();
    },
    onError(error) {
      finish({ error });
    },
    onComplete() {
      finish({});
    },
  });
  return {
    messages,
    ended,
    async next(match, ms = 5_000) {
      const deadline = Date.now() + ms;
      let seen = 0;
      for (;;) {
        const found = messages.slice(seen).find(match);
        if (found) return found;
        seen = messages.length;
        if (Date.now() > deadline) throw new Error(`no matching message within ${ms} ms; got ${JSON.stringify(messages)}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
    },
    stop: () => subscription.unsubscribe(),
  };
}

/** A message as a server-side caller gets it: tracked ones in tRPC's envelope, `[id, data]`. */
function messageOf(value: unknown): LiveChange {
  return (Array.isArray(value) ? value[1] : value) as LiveChange;
}

const isEvent = (kind: string, entityId?: number) => (message: LiveChange) =>
  message.type === 'event' && message.event.kind === kind && (entityId === undefined || message.event.entityId === entityId);

/** Resolves with how long the stream took to end; fails past `ms`. */
async function endsWithin(subscription: Subscription, ms: number) {
  const started = Date.now();
  await Promise.race([subscription.ended, new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms))]);
  return Date.now() - started;
}

describe('live changes across two API instances on one database', () => {
  let a: TestApp;
  let b: TestApp;
  let urlA: string;
  let urlB: string;
  let owner: Awaited<ReturnType<typeof signUp>>;
  let member: Awaited<ReturnType<typeof signUp>>;
  let projectId: number;

  beforeAll(async () => {
    a = await createTestApp(LIVE);
    // On PostgreSQL the second instance has a pool and a listening session of its own.
    const second: TestDatabase = a.database.url
      ? { ...(await createDb({ databaseUrl: a.database.url, pool: { max: 4 } })), url: a.database.url }
      : { ...a.database, close: async () => {} };
    b = await startTestApp(second, LIVE);
    urlA = await a.app.listen({ host: '127.0.0.1', port: 0 });
    urlB = await b.app.listen({ host: '127.0.0.1', port: 0 });
    owner = await signUp(a, 'live_owner');
    member = await signUp(a, 'live_member');
    const project = await a.caller(owner.accessToken).projects.create({ name: 'Live', description: '', color: 'blue' });
    projectId = project.id;
    await a.caller(owner.accessToken).members.add({ projectId, username: 'live_member', role: 'editor' });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a task created through one instance reaches a subscriber on the other, after its commit', async () => {
    const watch = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    await watch.next((m) => m.type === 'ready');
    const task = await b.caller(owner.accessToken).tasks.create({ projectId, title: 'Seen live' });
    const arrived = await watch.next(isEvent('task.created', task.id));
    expect(arrived).toMatchObject({
      type: 'event',
      event: { projectId, actorId: owner.user.id, payload: { task: { id: task.id, title: 'Seen live', version: task.version } } },
    });
    await b.caller(owner.accessToken).tasks.update({ id: task.id, status: 'in_progress' });
    const updated = await watch.next(isEvent('task.updated', task.id));
    expect(updated).toMatchObject({ event: { payload: { task: { status: 'in_progress' } } } });
    watch.stop();
  });

  it("a user's stream with projects follows every project they are a member of, as they join and leave, and resumes", async () => {
    const follow = subscribe(urlA, member.accessToken, (client, handlers) => client.live.mine.subscribe({ projects: true }, handlers));
    await follow.next((m) => m.type === 'ready');
    const ownerTasks = b.caller(owner.accessToken).tasks;
    const inShared = await ownerTasks.create({ projectId, title: 'In the shared project' });
    await follow.next(isEvent('task.created', inShared.id));

    // A project of someone else's: nothing of it, until the member is added; then all of it.
    const other = await b.caller(owner.accessToken).projects.create({ name: 'Joined later', description: '', color: 'green' });
    const before = await ownerTasks.create({ projectId: other.id, title: 'Before joining' });
    await b.caller(owner.accessToken).members.add({ projectId: other.id, username: 'live_member', role: 'viewer' });
    await follow.next(isEvent('member.added', member.user.id));
    const joined = await ownerTasks.create({ projectId: other.id, title: 'After joining' });
    await follow.next(isEvent('task.created', joined.id));
    expect(follow.messages.some(isEvent('task.created', before.id))).toBe(false);

    // Removed: the removal is the last of that project's changes it sends; the stream goes on.
    await b.caller(owner.accessToken).members.remove({ projectId: other.id, userId: member.user.id });
    await follow.next(isEvent('member.removed', member.user.id));
    const afterLeaving = await ownerTasks.create({ projectId: other.id, title: 'After leaving' });
    const marker = await ownerTasks.create({ projectId, title: 'Marker' });
    await follow.next(isEvent('task.created', marker.id));
    expect(follow.messages.some(isEvent('task.created', afterLeaving.id))).toBe(false);

    // A project the member makes (on the other instance) is followed from its first change.
    const own = await b.caller(member.accessToken).projects.create({ name: 'My own', description: '', color: 'teal' });
    const ownTask = await b.caller(member.accessToken).tasks.create({ projectId: own.id, title: 'Mine' });
    await follow.next(isEvent('task.created', ownTask.id));
    const lastEventId = String(follow.messages.flatMap((m) => (m.type === 'event' ? [m.event.id] : [])).at(-1));
    follow.stop();

    // Resumed on the other instance: exactly what was missed in the projects it follows.
    const missed = [
      await ownerTasks.create({ projectId, title: 'Missed 1' }),
      await b.caller(member.accessToken).tasks.create({ projectId: own.id, title: 'Missed 2' }),
    ];
    await ownerTasks.create({ projectId: other.id, title: 'Not followed' });
    const resumed = subscribe(urlB, member.accessToken, (client, handlers) => client.live.mine.subscribe({ projects: true, lastEventId }, handlers));
    await resumed.next(isEvent('task.created', missed[1]?.id));
    const created = resumed.messages.filter(isEvent('task.created')).map((m) => (m.type === 'event' ? m.event.entityId : null));
    expect(created).toEqual(missed.map((task) => task.id));
    resumed.stop();

    // Instance A has read all of the above before the next test opens its streams there (a
    // stream's `ready` is where A's reading stands, and what comes after it is sent).
    const settle = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    await settle.next((m) => m.type === 'ready');
    const settled = await ownerTasks.create({ projectId, title: 'Settled' });
    await settle.next(isEvent('task.created', settled.id));
    settle.stop();
  });

  it('a write that rolls back announces nothing', async () => {
    const watch = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    await watch.next((m) => m.type === 'ready');
    // A title that is fine and an assignee who is no member: the insert happens, then the transaction fails.
    const refused = await rejection(b.caller(owner.accessToken).tasks.create({ projectId, title: 'Never', assigneeId: 999_999 }));
    expect(refused.code).not.toBe('INTERNAL_SERVER_ERROR');
    const after = await b.caller(owner.accessToken).tasks.create({ projectId, title: 'After the failure' });
    await watch.next(isEvent('task.created', after.id));
    const created = watch.messages.filter(isEvent('task.created'));
    expect(created.map((m) => (m.type === 'event' ? (m.event.payload.task as { title: string }).title : ''))).toEqual(['After the failure']);
    watch.stop();
  });

  it('a reconnect with the last event id receives exactly the missed events, in order; from before the log, a refetch', async () => {
    const tasks = b.caller(owner.accessToken).tasks;
    const first = await tasks.create({ projectId, title: 'first' });
    const watch = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    const ready = await watch.next((m) => m.type === 'ready');
    watch.stop();
    const missed = [];
    for (const title of ['m1', 'm2', 'm3']) missed.push(await tasks.create({ projectId, title }));
    await tasks.update({ id: first.id, title: 'first, renamed' });
    const lastEventId = String((ready as { id: number }).id);
    const resumed = subscribe(urlB, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId, lastEventId }, handlers));
    await resumed.next(isEvent('task.updated', first.id));
    const events = resumed.messages.filter((m) => m.type === 'event').map((m) => (m.type === 'event' ? `${m.event.kind}:${m.event.entityId}` : ''));
    // Exactly the log after that id: the missed changes last. (`ready` names the last event the
    // stream had read, which may come before `first`'s creation when the two were close.)
    const logged = await a.database.db
      .selectFrom('change_events')
      .select(['kind', 'entity_id'])
      .where('project_id', '=', projectId)
      .where('id', '>', Number(lastEventId))
      .orderBy('id')
      .execute();
    expect(events).toEqual(logged.map((row) => `${row.kind}:${row.entity_id}`));
    expect(events.slice(-4)).toEqual([...missed.map((t) => `task.created:${t.id}`), `task.updated:${first.id}`]);
    const ids = resumed.messages.flatMap((m) => (m.type === 'event' ? [m.event.id] : []));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    resumed.stop();

    // Pruned: everything older than now is gone but the newest, so a resume from before it cannot be served.
    await a.database.db
      .deleteFrom('change_events')
      .where('id', '<', ids.at(-1) as number)
      .execute();
    const stale = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId, lastEventId }, handlers));
    const refetch = await stale.next((m) => m.type === 'refetch');
    expect(refetch).toMatchObject({ type: 'refetch', reason: 'gap' });
    stale.stop();

    // Past the newest event (a cursor this log never gave): a refetch too, not a stream that
    // would skip what comes next as already sent.
    const ahead = String((ids.at(-1) as number) + 1_000);
    const future = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId, lastEventId: ahead }, handlers));
    expect(await future.next((m) => m.type === 'refetch')).toMatchObject({ type: 'refetch', reason: 'gap', id: ids.at(-1) });
    future.stop();
  });

  it('a hundred streams on one instance each receive every change of a burst once, in order', async () => {
    // More streams than the hub hands a batch in one turn of the event loop, so a batch reaches
    // them in several slices with other work in between; each must still see the log's order.
    const streams = await Promise.all(Array.from({ length: 100 }, () => a.caller(member.accessToken).live.project({ projectId })));
    const iterators = streams.map((stream) => stream[Symbol.asyncIterator]());
    const firsts = await Promise.all(iterators.map((iterator) => iterator.next()));
    for (const first of firsts) expect(messageOf(first.value)).toMatchObject({ type: 'ready' });
    const tasks = b.caller(owner.accessToken).tasks;
    // Fewer than the buffer holds (LIVE_BUFFER_EVENTS), written at once so one read carries several.
    const created = await Promise.all(['b1', 'b2', 'b3', 'b4'].map((title) => tasks.create({ projectId, title })));
    const expected = created.map((task) => task.id).sort((x, y) => x - y);
    const received = await Promise.all(
      iterators.map(async (iterator) => {
        const events: { id: number; entityId: number | null }[] = [];
        while (events.length < expected.length) {
          const message = messageOf((await iterator.next()).value);
          if (message.type === 'event' && message.event.kind === 'task.created') events.push(message.event);
          else if (message.type !== 'event') throw new Error(`unexpected ${JSON.stringify(message)}`);
        }
        await iterator.return?.(undefined);
        return events;
      }),
    );
    for (const events of received) {
      // Log order is id order; the tasks were created concurrently, so their ids decide.
      expect(events.map((event) => event.id)).toEqual([...events.map((event) => event.id)].sort((x, y) => x - y));
      expect(events.map((event) => event.entityId).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(expected);
    }
  });

  it('REST clients poll the same events after an id', async () => {
    const start = await a.app.inject({ method: 'GET', url: `/api/projects/${projectId}/events`, headers: { authorization: `Bearer ${member.accessToken}` } });
    expect(start.statusCode).toBe(200);
    const { lastId } = start.json<{ lastId: number }>();
    const task = await b.caller(owner.accessToken).tasks.create({ projectId, title: 'polled' });
    const page = await a.app.inject({
      method: 'GET',
      url: `/api/projects/${projectId}/events?after=${lastId}`,
      headers: { authorization: `Bearer ${member.accessToken}` },
    });
    expect(page.json()).toMatchObject({ events: [{ kind: 'task.created', entityId: task.id }], more: false, refetch: false });
    // A cursor past the newest event is told to start over from where the log stands.
    const { lastId: newest } = page.json<{ lastId: number }>();
    const ahead = await a.app.inject({
      method: 'GET',
      url: `/api/projects/${projectId}/events?after=${newest + 1_000_000}`,
      headers: { authorization: `Bearer ${member.accessToken}` },
    });
    expect(ahead.json()).toEqual({ events: [], lastId: newest, more: false, refetch: true });
    const stranger = await signUp(a, 'live_stranger');
    const refused = await a.app.inject({
      method: 'GET',
      url: `/api/projects/${projectId}/events`,
      headers: { authorization: `Bearer ${stranger.accessToken}` },
    });
    expect(refused.statusCode).toBe(404);
  });

  it("keeps no words a comment's author took back: an edit or a deletion takes the text out of its earlier events", async () => {
    const poll = async (after: number) =>
      (
        await a.app.inject({
          method: 'GET',
          url: `/api/projects/${projectId}/events?after=${after}&limit=100`,
          headers: { authorization: `Bearer ${member.accessToken}` },
        })
      ).json<{ events: { kind: string; entityId: number; payload: Record<string, unknown> }[]; lastId: number }>();
    const where = await a.app.inject({ method: 'GET', url: `/api/projects/${projectId}/events`, headers: { authorization: `Bearer ${member.accessToken}` } });
    const { lastId } = where.json<{ lastId: number }>();
    const calls = a.caller(owner.accessToken);
    const task = await calls.tasks.create({ projectId, title: 'commented on' });
    const edited = await calls.comments.create({ taskId: task.id, body: 'my password is hunter2 oops' });
    await calls.comments.update({ id: edited.id, body: 'nothing to see' });
    const deleted = await calls.comments.create({ taskId: task.id, body: 'said in haste' });
    await calls.comments.delete({ id: deleted.id });
    const kept = await calls.comments.create({ taskId: task.id, body: 'stands as written' });
    const { events } = await poll(lastId);
    const text = JSON.stringify(events);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('said in haste');
    const of = (id: number) => events.filter((event) => event.entityId === id && event.kind.startsWith('comment.')).map((event) => [event.kind, event.payload]);
    expect(of(edited.id)).toEqual([
      ['comment.created', { taskId: task.id, redacted: true }],
      ['comment.updated', { taskId: task.id, comment: expect.objectContaining({ body: 'nothing to see' }) }],
    ]);
    expect(of(deleted.id)).toEqual([
      ['comment.created', { taskId: task.id, redacted: true }],
      ['comment.deleted', { taskId: task.id }],
    ]);
    expect(of(kept.id)).toEqual([['comment.created', { taskId: task.id, comment: expect.objectContaining({ body: 'stands as written' }) }]]);
  });

  it('is refused without a token, and to someone who is not a member', async () => {
    const stranger = await signUp(a, 'live_outsider');
    const outsider = subscribe(urlA, stranger.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    const { error } = await outsider.ended;
    expect(error?.data?.code).toBe('NOT_FOUND');
    const anonymous = subscribe(urlA, 'not-a-token', (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    expect((await anonymous.ended).error?.data?.code).toBe('UNAUTHORIZED');
  });

  it('closes within a second when the member is removed, through the other instance', async () => {
    const leaver = await signUp(a, 'live_leaver');
    await a.caller(owner.accessToken).members.add({ projectId, username: 'live_leaver', role: 'viewer' });
    const watch = subscribe(urlA, leaver.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    await watch.next((m) => m.type === 'ready');
    await b.caller(owner.accessToken).members.remove({ projectId, userId: leaver.user.id });
    expect(await endsWithin(watch, 1_000)).toBeLessThan(1_000);
    expect(watch.messages.at(-1)).toEqual({ type: 'closed', reason: 'access_lost' });
  });

  it('closes within a second when the session signs out, on the other instance', async () => {
    const watch = subscribe(urlA, member.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    await watch.next((m) => m.type === 'ready');
    const other = await a.caller().auth.login({ username: 'live_member', password: PASSWORD });
    // Another session's sign-out leaves this one open.
    await b.caller(other.access_token).auth.logout();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(watch.messages.some((m) => m.type === 'closed')).toBe(false);
    await b.caller(member.accessToken).auth.logout();
    expect(await endsWithin(watch, 1_000)).toBeLessThan(1_000);
    expect(watch.messages.at(-1)).toEqual({ type: 'closed', reason: 'signed_out' });
  });

  it('closes within a second when the account is deactivated or the signing key revoked', async () => {
    const admin = await signUpAdmin(a, 'live_admin');
    const victim = await signUp(a, 'live_victim');
    const mine = subscribe(urlA, victim.accessToken, (client, handlers) => client.live.mine.subscribe({}, handlers));
    await mine.next((m) => m.type === 'ready');
    await b.caller(admin.accessToken).admin.users.update({ id: victim.user.id, isActive: false });
    expect(await endsWithin(mine, 1_000)).toBeLessThan(1_000);
    expect(mine.messages.at(-1)).toEqual({ type: 'closed', reason: 'signed_out' });

    const watch = subscribe(urlA, owner.accessToken, (client, handlers) => client.live.project.subscribe({ projectId }, handlers));
    await watch.next((m) => m.type === 'ready');
    const { items } = await b.caller(admin.accessToken).admin.keys.list();
    const current = items.find((key) => key.status === 'current');
    await b.caller(admin.accessToken).admin.keys.revoke({ kid: (current as { kid: string }).kid });
    expect(await endsWithin(watch, 1_000)).toBeLessThan(1_000);
    expect(watch.messages.at(-1)).toEqual({ type: 'closed', reason: 'signed_out' });
  });
});

describe('a slow client', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(LIVE);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('is cut off with a refetch once its buffer is full, rather than growing the server', async () => {
    const writer = await signUp(t, 'slow_writer');
    const project = await t.caller(writer.accessToken).projects.create({ name: 'Busy', description: '', color: 'red' });
    // A reader that takes one message and then stops reading, as a stalled connection would.
    const stream = await t.caller(writer.accessToken).live.project({ projectId: project.id });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(messageOf(first.value)).toMatchObject({ type: 'ready' });
    for (let n = 0; n < 8; n++) await t.caller(writer.accessToken).tasks.create({ projectId: project.id, title: `task ${n}` });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Whatever was buffered goes, and the only thing left to read is the instruction to reload.
    const next = await iterator.next();
    expect(messageOf(next.value)).toMatchObject({ type: 'refetch', reason: 'too_slow' });
    expect((await iterator.next()).done).toBe(true);
  });
});
