import { changeEvents, type DatabaseHandle } from '@stm/db';
import type { Logger } from '../logger';
import type { ChangeFeed } from './live-redis';

/** One change as subscribers receive it. */
export interface LiveEvent {
  id: number;
  kind: string;
  /** The task, comment, member (user id) or project the event is about. */
  entityId: number | null;
  projectId: number | null;
  actorId: number | null;
  payload: Record<string, unknown>;
  at: Date;
}

/**
 * Why a stream stopped sending changes, for the client to act on:
 * - `refetch`: some changes cannot be sent (`gap`: they were pruned or are too many to replay;
 *   `too_slow`: the client did not read fast enough and its buffer filled). Reload what is shown,
 *   then subscribe again from the id this message carries.
 * - `closed`: `signed_out` (the session, the account or the signing key is no longer good: renew
 *   the token or sign in), `token_expired` (renew the token and resume), `access_lost` (no longer
 *   a member, or the project is gone), `server_closing` (resume, perhaps on another instance).
 */
export type LiveMessage =
  | { type: 'event'; event: LiveEvent }
  | { type: 'ready'; id: number }
  | { type: 'refetch'; id: number; reason: 'gap' | 'too_slow' }
  | { type: 'closed'; reason: 'signed_out' | 'token_expired' | 'access_lost' | 'server_closing' };

type EventMessage = Extract<LiveMessage, { type: 'event' }>;

/**
 * How a stream's messages go out, each as its caller presents it (the router: in tRPC's envelope
 * with its id), made where the stream yields it: a generator of the caller's wrapped around the
 * stream would be one more pass per message for every open stream.
 */
export type Present<T> = (message: LiveMessage) => T;

export interface LiveOptions {
  /** Events a stream may hold unread before it is cut off (`too_slow`). */
  bufferSize: number;
  /** How often every open stream's session, account, key and membership are checked (ms). */
  checkIntervalMs: number;
  /** Missed events replayed on resume at most; a larger gap is a `refetch`. */
  maxReplay: number;
  /** How long events are kept (ms); a resume from before that is a `refetch`. */
  retentionMs: number;
}

export interface StreamOwner {
  userId: number;
  sessionId: string;
  signingKeyId: string;
  /** When the access token the stream was opened with expires (epoch seconds). */
  tokenExpiresAt: number;
}

/** How many rows one read of the log takes; a busier log is read in several. */
const READ_BATCH = 500;
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;
/**
 * Reads of the log are at least this far apart (the first after a quiet spell at once): under a
 * stream of writes each read carries several events, which every open stream then sends in one
 * write to its socket. One socket write per stream per event, with a few hundred streams, cost
 * more than the writes that made the events (bench `live`); this bounds them to 1000 / this per
 * stream per second, at the price of at most this much added delay.
 */
const READ_SPACING_MS = 50;
/**
 * Beyond that, reads are spaced so that handing their events to the streams takes at most
 * 1 / FAN_OUT_SHARE of the instance's time: the socket writes of a few hundred streams cost a
 * few milliseconds a batch however few events it carries, so the more streams (or the busier the
 * machine, which makes each of them slower), the more events each batch carries, and writes keep
 * the time they need. Never more than MAX_READ_SPACING_MS: a change someone else made should
 * appear within a glance, and on a saturated machine a longer ceiling made receipts slower than
 * the writes themselves (bench `live`, receipt p95 against write p95).
 */
const FAN_OUT_SHARE = 10;
const MAX_READ_SPACING_MS = 250;
/**
 * Streams handed a batch between two turns of the event loop: small enough that a request or a
 * query result waiting meanwhile is not held up for long, large enough that the turns between
 * slices cost little.
 */
const STREAMS_PER_SLICE = 25;
/** Checked when nothing was announced, in case an announcement was lost (a listener reconnecting). */
const FALLBACK_POLL_MS = 5_000;

class Stream {
  readonly queue: LiveMessage[] = [];
  /** Set once the stream must end; the message says why and is its last. */
  final: LiveMessage | undefined;
  #wake: (() => void) | undefined;
  // One listener for the stream's life rather than one per wait: a few hundred streams each wake
  // for every batch of changes.
  readonly #onAbort = () => {
    this.#wakeUp();
  };

  constructor(
    readonly owner: StreamOwner,
    readonly projectId: number | null,
    private readonly bufferSize: number,
    readonly signal: AbortSignal,
    /** A user's stream that follows the projects they are a member of: which those are now. */
    readonly following: Set<number> | null = null,
  ) {
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  push(message: LiveMessage) {
    if (this.final) return;
    if (this.queue.length >= this.bufferSize) {
      // The buffer is given up whole: the client reloads instead of receiving a backlog.
      this.queue.length = 0;
      const id = message.type === 'event' ? message.event.id : 0;
      this.end({ type: 'refetch', id, reason: 'too_slow' });
      return;
    }
    this.queue.push(message);
    this.#wakeUp();
  }

  end(message: LiveMessage) {
    if (this.final) return;
    this.final = message;
    this.#wakeUp();
  }

  /** Resolves when there is something to send, or the stream's signal aborts. */
  waitFor(): Promise<void> {
    if (this.queue.length > 0 || this.final || this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Lets go of the stream's signal. */
  close() {
    this.signal.removeEventListener('abort', this.#onAbort);
  }

  #wakeUp() {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * Live changes on one instance. Every instance listens for the announcement of new events (NOTIFY,
 * sent at commit; with Redis, a publish after the commit as well), reads the new rows once, and hands each to the streams open on
 * it for that project or user: one read per batch, however many streams. Every
 * `checkIntervalMs` one statement checks every open stream's session, account, signing key and
 * membership, so a stream ends within about that long of any of them ending, on every instance.
 */
export class LiveHub {
  readonly #byProject = new Map<number, Set<Stream>>();
  readonly #byUser = new Map<number, Set<Stream>>();
  readonly #streams = new Set<Stream>();
  /** The newest event handed to this instance's streams. */
  #cursor = 0;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #lastReadAt = 0;
  /** How far apart reads are now: READ_SPACING_MS, or more when handing out a batch took long. */
  #spacingMs = READ_SPACING_MS;
  #spacing: NodeJS.Timeout | undefined;
  #listener: { close(): Promise<void> } | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #checking = false;
  #started: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly log: Logger,
    private readonly options: LiveOptions,
    /** Another way of hearing of new events (Redis pub/sub); NOTIFY is listened for either way. */
    private readonly feed?: ChangeFeed,
  ) {}

  get openStreams(): number {
    return this.#streams.size;
  }

  /** Starts listening (once); streams wait for it. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start() {
    this.#cursor = (await changeEvents.changeLogExtent(this.database.db)).newest;
    this.#listener = await this.database.listen(changeEvents.CHANGE_CHANNEL, () => this.#read());
    await this.feed?.start(() => this.#read());
    this.#timers.push(setInterval(() => void this.#check(), this.options.checkIntervalMs).unref());
    this.#timers.push(setInterval(() => this.#streams.size > 0 && this.#read(), FALLBACK_POLL_MS).unref());
    this.#timers.push(setInterval(() => void this.prune(), PRUNE_INTERVAL_MS).unref());
  }

  /**
   * Ends every stream (`server_closing`) and refuses new ones: before the server closes, which
   * waits for every open response to end.
   */
  closeStreams(): void {
    this.#stopped = true;
    for (const stream of this.#streams) stream.end({ type: 'closed', reason: 'server_closing' });
  }

  /** Ends every stream and stops listening. */
  async stop(): Promise<void> {
    this.closeStreams();
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    clearTimeout(this.#spacing);
    this.#spacing = undefined;
    await this.#started?.catch(() => {});
    await this.#listener?.close();
    await this.feed?.close();
    await this.#reading;
  }

  /** Removes events older than the retention; a stream resuming from before them is told to refetch. */
  async prune(): Promise<number> {
    try {
      const removed = await changeEvents.pruneChangeEvents(this.database.db, new Date(Date.now() - this.options.retentionMs));
      if (removed > 0) this.log.info({ removed }, 'old change events pruned');
      return removed;
    } catch (error) {
      this.log.warn({ err: error }, 'pruning change events failed');
      return 0;
    }
  }

  /**
   * The changes of one project from `lastEventId` on (or from now), until the stream ends or
   * `signal` aborts, each as `present` makes it. The caller was authorized to read the project
   * before this is called.
   */
  project<T>(owner: StreamOwner, projectId: number, lastEventId: number | null, signal: AbortSignal, present: Present<T>): AsyncGenerator<T> {
    return this.#stream(owner, projectId, lastEventId, signal, present);
  }

  /**
   * The events addressed to the owner alone; with `projects`, also the changes of every project
   * the owner is a member of, followed as memberships come and go (being added, creating one,
   * leaving, being removed, a project deleted), so a view across projects stays current.
   */
  user<T>(owner: StreamOwner, lastEventId: number | null, signal: AbortSignal, present: Present<T>, options: { projects?: boolean } = {}): AsyncGenerator<T> {
    return this.#stream(owner, null, lastEventId, signal, present, options.projects === true);
  }

  async *#stream<T>(
    owner: StreamOwner,
    projectId: number | null,
    lastEventId: number | null,
    signal: AbortSignal,
    present: Present<T>,
    followProjects = false,
  ): AsyncGenerator<T> {
    if (this.#stopped) {
      yield present({ type: 'closed', reason: 'server_closing' });
      return;
    }
    await this.start();
    const stream = new Stream(owner, projectId, this.options.bufferSize, signal, followProjects ? new Set() : null);
    this.#add(stream);
    // Where a fresh stream starts, taken before its projects are read: the changes of a project
    // joined meanwhile are then read below rather than lost between the two.
    const from = lastEventId ?? this.#cursor;
    const expiry = setTimeout(() => stream.end({ type: 'closed', reason: 'token_expired' }), Math.max(0, owner.tokenExpiresAt * 1000 - Date.now()));
    try {
      if (stream.following) for (const id of await changeEvents.memberProjectIds(this.database.db, owner.userId)) this.#follow(stream, id);
      // Registered before the backlog is read: what commits meanwhile is both read and pushed,
      // and the copy at or below what was already sent is skipped.
      let sent = from;
      if (lastEventId === null) yield present({ type: 'ready', id: sent });
      if (lastEventId !== null || stream.following) {
        const scope = projectId !== null ? { projectId } : { userId: owner.userId, ...(stream.following ? { projectIds: [...stream.following] } : {}) };
        const backlog = await this.#backlog(scope, sent);
        if (backlog === 'gap') {
          const { newest } = await changeEvents.changeLogExtent(this.database.db);
          yield present({ type: 'refetch', id: Math.max(newest, this.#cursor), reason: 'gap' });
          return;
        }
        for (const event of backlog) {
          yield present({ type: 'event', event });
          sent = event.id;
        }
      }
      while (!signal.aborted) {
        await stream.waitFor();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal may abort while waiting, which TypeScript's narrowing does not follow
        if (signal.aborted) return;
        let message: LiveMessage | undefined;
        while ((message = stream.queue.shift())) {
          if (message.type === 'event' && message.event.id <= sent) continue;
          if (message.type === 'event') sent = message.event.id;
          yield present(message);
        }
        if (stream.final) {
          yield present(stream.final);
          return;
        }
      }
    } finally {
      clearTimeout(expiry);
      stream.close();
      this.#remove(stream);
    }
  }

  /** The events after `afterId` for a project (or a user), or `gap` if some are gone or too many. */
  async #backlog(scope: changeEvents.ChangeEventScope, afterId: number): Promise<LiveEvent[] | 'gap'> {
    const { db } = this.database;
    const { newest, prunedThrough } = await changeEvents.changeLogExtent(db);
    // Past the newest event (a cursor from another deployment, or from before a restore): what
    // comes next would be skipped as already sent, so the client starts over.
    if (afterId < prunedThrough || afterId > newest) return 'gap';
    const limit = this.options.maxReplay + 1;
    const rows = await changeEvents.listChangeEventsAfter(db, afterId, limit, scope);
    if (rows.length > this.options.maxReplay) return 'gap';
    return rows.map(toLiveEvent);
  }

  /**
   * A page of a project's events after `afterId`, for clients that poll: `refetch` when some may be
   * gone (or `afterId` is past the newest event: a cursor this log never gave), and `lastId` to ask after next time (the newest event anywhere when there are no more,
   * so an idle project's position keeps up with the log and is not pruned away from under it).
   * Without `afterId`, no events: only where the log stands now.
   */
  async projectEventsAfter(
    projectId: number,
    afterId: number | undefined,
    limit: number,
  ): Promise<{ events: LiveEvent[]; lastId: number; refetch: boolean; more: boolean }> {
    const { db } = this.database;
    const extent = await changeEvents.changeLogExtent(db);
    if (afterId === undefined) return { events: [], lastId: extent.newest, refetch: false, more: false };
    if (afterId < extent.prunedThrough || afterId > extent.newest) return { events: [], lastId: extent.newest, refetch: true, more: false };
    const rows = await changeEvents.listChangeEventsAfter(db, afterId, limit + 1, { projectId });
    const more = rows.length > limit;
    const events = rows.slice(0, limit).map(toLiveEvent);
    const lastId = more ? (events.at(-1)?.id ?? afterId) : Math.max(afterId, extent.newest, events.at(-1)?.id ?? 0);
    return { events, lastId, refetch: false, more };
  }

  #add(stream: Stream) {
    this.#streams.add(stream);
    if (stream.projectId === null) indexIn(this.#byUser, stream.owner.userId, stream);
    else indexIn(this.#byProject, stream.projectId, stream);
  }

  #remove(stream: Stream) {
    if (!this.#streams.delete(stream)) return;
    if (stream.projectId === null) unindexIn(this.#byUser, stream.owner.userId, stream);
    else unindexIn(this.#byProject, stream.projectId, stream);
    for (const projectId of stream.following ?? []) unindexIn(this.#byProject, projectId, stream);
  }

  /** A user's stream starts (or stops) receiving a project's changes. */
  #follow(stream: Stream, projectId: number) {
    if (!stream.following || stream.following.has(projectId)) return;
    stream.following.add(projectId);
    indexIn(this.#byProject, projectId, stream);
  }

  #unfollow(stream: Stream, projectId: number) {
    if (!stream.following?.delete(projectId)) return;
    unindexIn(this.#byProject, projectId, stream);
  }

  /** Reads what is new, once however many announcements arrive meanwhile. */
  #read() {
    if (this.#reading || this.#spacing) {
      this.#readAgain = true;
      return;
    }
    const wait = this.#lastReadAt + this.#spacingMs - Date.now();
    if (wait > 0) {
      this.#spacing = setTimeout(() => {
        this.#spacing = undefined;
        this.#read();
      }, wait);
      return;
    }
    this.#lastReadAt = Date.now();
    this.#reading = this.#readAll()
      .catch((error: unknown) => this.log.warn({ err: error }, 'reading change events failed'))
      .finally(() => {
        this.#reading = undefined;
        if (this.#readAgain && !this.#stopped && !this.#spacing) {
          this.#readAgain = false;
          this.#read();
        }
      });
  }

  async #readAll() {
    for (;;) {
      const rows = await changeEvents.listChangeEventsAfter(this.database.db, this.#cursor, READ_BATCH);
      const last = rows.at(-1);
      if (last) this.#cursor = last.id;
      const batches = this.#recipients(rows);
      if (batches.size > 0) this.#spacingMs = spacingFor(await this.#handOut(batches));
      if (rows.length < READ_BATCH) return;
    }
  }

  /** Each open stream the rows concern, with its messages in the log's order. */
  #recipients(rows: changeEvents.ChangeEventRow[]): Map<Stream, EventMessage[]> {
    const batches = new Map<Stream, EventMessage[]>();
    for (const row of rows) {
      const event = toLiveEvent(row);
      const { projectId } = event;
      // Someone who joins a project: their streams that follow their projects follow this one
      // from this event on (in the log's order, so nothing of the project after it is missed).
      if (projectId !== null && event.kind === 'member.added' && event.entityId !== null) {
        for (const stream of this.#byUser.get(event.entityId) ?? []) this.#follow(stream, projectId);
      }
      const indexed = projectId !== null ? this.#byProject.get(projectId) : row.user_id !== null ? this.#byUser.get(row.user_id) : undefined;
      if (!indexed) continue;
      const streams = [...indexed];
      // One object for every stream: the router makes its outgoing form once per event.
      const message: EventMessage = { type: 'event', event };
      for (const stream of streams) {
        let messages = batches.get(stream);
        if (!messages) batches.set(stream, (messages = []));
        messages.push(message);
      }
      // Leaving a project (or its deletion) is the last of its changes such a stream receives.
      if (projectId !== null && (event.kind === 'project.deleted' || event.kind === 'member.removed')) {
        for (const stream of streams) {
          if (stream.following && (event.kind === 'project.deleted' || event.entityId === stream.owner.userId)) this.#unfollow(stream, projectId);
        }
      }
    }
    return batches;
  }

  /**
   * Hands each stream its messages, STREAMS_PER_SLICE streams at a time with a turn of the event
   * loop between: the requests and query results that arrived meanwhile are served between slices
   * rather than after the whole batch, so a write in progress waits for one slice, not for every
   * stream. Each stream still receives its messages in order, and the next read waits for the last
   * slice. Returns what the slices cost (`sliceCost`), in ms.
   */
  async #handOut(batches: Map<Stream, EventMessage[]>): Promise<number> {
    const entries = [...batches];
    let cost = 0;
    for (let from = 0; from < entries.length; from += STREAMS_PER_SLICE) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      for (const [stream, messages] of entries.slice(from, from + STREAMS_PER_SLICE)) {
        for (const message of messages) {
          stream.push(message);
          // A change of access ends a project's stream at once rather than at the next check.
          const { event } = message;
          if (stream.projectId === null) continue;
          if (event.kind === 'project.deleted' || (event.kind === 'member.removed' && event.entityId === stream.owner.userId)) {
            stream.end({ type: 'closed', reason: 'access_lost' });
          }
        }
      }
      cost += await sliceCost(started);
    }
    return cost;
  }

  /** Ends the streams whose caller no longer stands: one statement for all of them. */
  async #check() {
    if (this.#checking || this.#streams.size === 0) return;
    this.#checking = true;
    try {
      const streams = [...this.#streams];
      // Streams of one session on one project (a person's tabs) stand or fall together: checked once.
      const keyOf = (s: Stream) => `${s.owner.sessionId} ${s.owner.userId} ${s.owner.signingKeyId} ${s.projectId ?? ''}`;
      const distinct = new Map<string, Stream>();
      for (const stream of streams) if (!distinct.has(keyOf(stream))) distinct.set(keyOf(stream), stream);
      const checked = [...distinct.values()];
      const standing = await changeEvents.checkStreams(
        this.database.db,
        checked.map((s) => ({ sessionId: s.owner.sessionId, userId: s.owner.userId, kid: s.owner.signingKeyId, projectId: s.projectId })),
      );
      const byKey = new Map(checked.map((stream, n) => [keyOf(stream), standing[n]]));
      streams.forEach((stream) => {
        const now = byKey.get(keyOf(stream));
        if (!now?.signedIn) stream.end({ type: 'closed', reason: 'signed_out' });
        else if (!now.canRead) stream.end({ type: 'closed', reason: 'access_lost' });
      });
    } catch (error) {
      this.log.warn({ err: error }, 'checking live streams failed');
    } finally {
      this.#checking = false;
    }
  }
}

/**
 * The streams send what they were handed in the microtasks that follow (their generators and the
 * server-sent event writer's loops), and their sockets are written in the ticks those queue
 * (Node's http uncorks a response in a tick). A tick queued now runs once the microtasks have
 * drained, and one it queues runs after the sockets' ticks: the time since `started` then is what
 * handing out the slice cost, and nothing else the event loop had waiting (timing to a later phase
 * of the loop would also count the requests and query results that arrived meanwhile).
 */
function sliceCost(started: number): Promise<number> {
  return new Promise((resolve) => {
    process.nextTick(() => {
      process.nextTick(() => {
        resolve(performance.now() - started);
      });
    });
  });
}

/** The spacing of reads after a batch that cost `cost` ms to hand out (see READ_SPACING_MS). */
function spacingFor(cost: number): number {
  return Math.min(MAX_READ_SPACING_MS, Math.max(READ_SPACING_MS, Math.round(cost * FAN_OUT_SHARE)));
}

function indexIn(index: Map<number, Set<Stream>>, key: number, stream: Stream) {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(stream);
}

function unindexIn(index: Map<number, Set<Stream>>, key: number, stream: Stream) {
  const set = index.get(key);
  set?.delete(stream);
  if (set?.size === 0) index.delete(key);
}

function toLiveEvent(row: changeEvents.ChangeEventRow): LiveEvent {
  return {
    id: row.id,
    kind: row.kind,
    entityId: row.entity_id,
    projectId: row.project_id,
    actorId: row.actor_id,
    payload: row.payload,
    at: row.created_at,
  };
}
