import { randomBytes, randomUUID } from 'node:crypto';
import { openSecret, sealSecret } from '@stm/auth';
import { changeEvents, type Database, type DatabaseHandle, type Kysely, projects, webhooks } from '@stm/db';
import { AUDIT_ACTIONS, type CreateWebhookInput, type UpdateWebhookInput, WEBHOOK_PROJECT_EVENTS, type WebhookEventType } from '@stm/validators';
import { Webhook } from 'standardwebhooks';
import type { AppConfig } from '../env';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { authorize, type Caller } from './access';
import { type ClientInfo, recordAudit, SYSTEM_ACTOR } from './audit';
import { actorOf } from './auth';
import { recordUserEvent } from './events';
import { CoalescedRuns } from './coalesced-runs';
import type { MailService } from './mail';
import { factsOf, projectNotFound } from './projects';
import { DestinationRefused, postWebhook, type PostResult, resolveDestination } from './webhook-http';

/** A project's endpoints (its owners manage them), or the installation's (administrators). */
export type WebhookPlace = { projectId: number } | 'global';

type WebhookCaller = Caller & { username: string };

export interface WebhookEndpointView {
  id: number;
  projectId: number | null;
  url: string;
  description: string;
  eventTypes: WebhookEventType[];
  active: boolean;
  /** Why it is off: `failing` when the worker gave up on it; null when a person turned it off (or it is on). */
  disabledReason: string | null;
  /** Since when every attempt has failed; null while deliveries succeed. */
  failingSince: Date | null;
  /** Until when the secret before the last rotation still signs beside the current one. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDeliveryView {
  id: number;
  messageId: string;
  eventType: string;
  attempt: number;
  manual: boolean;
  succeeded: boolean;
  httpStatus: number | null;
  durationMs: number;
  responseExcerpt: string | null;
  error: string | null;
  createdAt: Date;
}

/** The most endpoints one project, or the installation, may have. */
export const MAX_ENDPOINTS = 20;
const CLAIM_BATCH = 10;
const SECRET_BYTES = 24;
const SECRET_CONTEXT = 'webhook-secret';
/** How long a check of a new URL may take to resolve its name before it is let through (the worker checks again anyway). */
const URL_CHECK_TIMEOUT_MS = 3_000;

/** Account events for administrators; every other audit action is a security event. */
const USER_ACTIONS = new Set<string>(['auth.registered', ...AUDIT_ACTIONS.filter((action) => action.startsWith('user.'))]);

/** The type a subscriber sees for an audit action: `user.…` or `security.<action>`. */
export function auditEventType(action: string): string {
  if (action === 'auth.registered') return 'user.registered';
  return USER_ACTIONS.has(action) ? action : `security.${action}`;
}

/** The change-log kinds an endpoint's event types name (a family names each of its events). */
export function changeKindsOf(types: readonly string[]): string[] {
  return WEBHOOK_PROJECT_EVENTS.filter((kind) => types.includes(kind) || types.includes(`${kind.split('.')[0]}.*`));
}

/** The audit actions an endpoint's event types name. */
export function auditActionsOf(types: readonly string[]): string[] {
  const users = types.includes('user.*');
  const security = types.includes('security.*');
  return AUDIT_ACTIONS.filter((action) => (USER_ACTIONS.has(action) ? users : security));
}

function webhookNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Webhook not found');
}

function toView(row: webhooks.EndpointRow, now: Date): WebhookEndpointView {
  return {
    id: row.id,
    projectId: row.project_id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types as WebhookEventType[],
    active: row.active,
    disabledReason: row.disabled_reason,
    failingSince: row.failing_since,
    previousSecretExpiresAt:
      row.previous_secret_sealed && row.previous_secret_expires_at && row.previous_secret_expires_at > now ? row.previous_secret_expires_at : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toDeliveryView(row: webhooks.DeliveryRow): WebhookDeliveryView {
  return {
    id: row.id,
    messageId: row.message_id,
    eventType: row.event_type,
    attempt: row.attempt,
    manual: row.manual,
    succeeded: row.succeeded,
    httpStatus: row.http_status,
    durationMs: row.duration_ms,
    responseExcerpt: row.response_excerpt,
    error: row.error,
    createdAt: row.created_at,
  };
}

/** A message ready to send, and where the endpoint's cursors go once it is delivered. */
interface Message {
  id: string;
  type: string;
  body: string;
  advance: { change?: number; audit?: { tx: number; id: number } };
}

type Next = { message: Message } | { skipTo: { change?: number; audit?: { tx: number; id: number } } } | null;

export interface WebhooksOptions {
  database: DatabaseHandle;
  config: AppConfig['webhooks'];
  /** Seals signing secrets at rest. */
  secretKey: Buffer;
  mail: MailService;
  log: Logger;
  /** Where people reach the console, for the link in a "disabled" mail. */
  publicUrl: string | undefined;
  /** The clock of scheduling (retries, giving up); tests pass their own. */
  now?: () => Date;
}

/**
 * Webhooks: endpoints, their signing secrets (Standard Webhooks: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`), and their delivery from the transactional outboxes.
 *
 * Sources. Project events come from the change log (`change_events`, written in each change's
 * transaction; ids follow commit order). Account and security events, for global endpoints,
 * come from the audit log (written in the transaction of what it records); its ids do not follow
 * commit order, so it is read in transaction order up to the oldest running transaction (see
 * `webhooks.nextAudit`). Either way an event exists exactly when its change committed.
 *
 * Delivery. Each endpoint keeps its cursors into both logs. A worker on every instance claims
 * due endpoints (`FOR UPDATE SKIP LOCKED` and a lease), so one instance at a time delivers to an
 * endpoint, one message at a time, in order, and moves the cursor only once the receiver said
 * 2xx: at least once, with the same `webhook-id` on every attempt. A failure waits (doubling from
 * `retryBaseMs`, at most `retryMaxMs`) and blocks the endpoint's later messages; an endpoint
 * failing for `giveUpMs` is disabled and its keepers are mailed. Changes to the log's retention
 * keep what an active endpoint still needs (`pruneChangeEvents`); an endpoint enabled again after
 * its events were pruned is sent one `webhook.events_lost` message naming the ids it missed.
 */
export class WebhooksService {
  readonly #db: Kysely<Database>;
  readonly #clock: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #listener: Promise<{ close(): Promise<void> } | undefined> | undefined;
  /**
   * Whether an active endpoint may exist. A change announced wakes the worker only then: with
   * none, every instance would run a claim for every committed change, for nothing. Learned at
   * each poll; set at once when this instance makes one active. An endpoint made active on another
   * instance is served by that instance's worker until this one's next poll learns of it.
   */
  #endpointsActive = true;
  /** Counts this instance's activations, so that a poll's answer read before one cannot undo it. */
  #activations = 0;
  /** The poll's look for active endpoints while it runs, waited for by `stop`. */
  #looking: Promise<void> | undefined;
  readonly #runs = new CoalescedRuns(
    () => this.deliverDue(),
    (error) => this.options.log.warn({ err: error }, 'webhook delivery run failed'),
  );
  readonly #abort = new AbortController();

  constructor(private readonly options: WebhooksOptions) {
    this.#db = options.database.db;
    this.#clock = options.now ?? (() => new Date());
  }

  // ---- Management -------------------------------------------------------------------------

  async list(caller: WebhookCaller, place: WebhookPlace): Promise<WebhookEndpointView[]> {
    await this.#authorize(this.#db, caller, place, false);
    const now = this.#clock();
    return (await webhooks.listEndpoints(this.#db, projectOf(place))).map((row) => toView(row, now));
  }

  async get(caller: WebhookCaller, place: WebhookPlace, id: number): Promise<WebhookEndpointView> {
    return toView(await this.#endpoint(caller, place, id, false), this.#clock());
  }

  /** A new endpoint and its secret, shown this once. */
  async create(
    caller: WebhookCaller,
    place: WebhookPlace,
    input: CreateWebhookInput,
    client: ClientInfo | null,
  ): Promise<WebhookEndpointView & { secret: string }> {
    this.#checkTypes(place, input.eventTypes);
    await this.#checkUrl(input.url);
    const secret = newSecret();
    const now = this.#clock();
    const row = await this.#db.transaction().execute(async (trx) => {
      await this.#authorize(trx, caller, place, true, { lock: true });
      if ((await webhooks.countEndpoints(trx, projectOf(place))) >= MAX_ENDPOINTS) {
        throw new DomainError('QUOTA_EXCEEDED', `At most ${MAX_ENDPOINTS} webhooks`, { details: { quota: 'webhooks', limit: MAX_ENDPOINTS } });
      }
      const created = await webhooks.insertEndpoint(trx, {
        projectId: projectOf(place),
        url: input.url,
        description: input.description,
        eventTypes: input.eventTypes,
        active: input.active,
        secretSealed: this.#seal(secret),
        createdBy: caller.id,
      });
      await this.#audit(trx, 'webhook.created', caller, created, client, { eventTypes: created.event_types, active: created.active });
      return created;
    });
    if (row.active) this.#activated();
    return { ...toView(row, now), secret };
  }

  async update(
    caller: WebhookCaller,
    place: WebhookPlace,
    id: number,
    input: Omit<UpdateWebhookInput, 'id'>,
    client: ClientInfo | null,
  ): Promise<WebhookEndpointView> {
    if (input.eventTypes) this.#checkTypes(place, input.eventTypes);
    if (input.url !== undefined) await this.#checkUrl(input.url);
    const now = this.#clock();
    const row = await this.#db.transaction().execute(async (trx) => {
      await this.#authorize(trx, caller, place, true);
      const before = await webhooks.findEndpoint(trx, projectOf(place), id, { lock: true });
      if (!before) throw webhookNotFound();
      const after = await webhooks.updateEndpoint(trx, id, input, now);
      await this.#audit(trx, 'webhook.updated', caller, after, client, {
        changed: Object.keys(input).filter((key) => (input as Record<string, unknown>)[key] !== undefined),
        active: after.active,
        eventTypes: after.event_types,
      });
      return after;
    });
    if (row.active) this.#activated();
    return toView(row, now);
  }

  async delete(caller: WebhookCaller, place: WebhookPlace, id: number, client: ClientInfo | null): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await this.#authorize(trx, caller, place, true);
      const row = await webhooks.findEndpoint(trx, projectOf(place), id, { lock: true });
      if (!row) throw webhookNotFound();
      await webhooks.deleteEndpoint(trx, id);
      await this.#audit(trx, 'webhook.deleted', caller, row, client, {});
    });
  }

  /**
   * A new secret, shown this once; the one it replaces keeps signing beside it (both signatures
   * in `webhook-signature`) for `overlapHours`, so a receiver can switch without refusing a
   * message. A rotation during an overlap ends the older one.
   */
  async rotateSecret(
    caller: WebhookCaller,
    place: WebhookPlace,
    id: number,
    overlapHours: number,
    client: ClientInfo | null,
  ): Promise<WebhookEndpointView & { secret: string }> {
    const secret = newSecret();
    const now = this.#clock();
    const row = await this.#db.transaction().execute(async (trx) => {
      await this.#authorize(trx, caller, place, true);
      const before = await webhooks.findEndpoint(trx, projectOf(place), id, { lock: true });
      if (!before) throw webhookNotFound();
      const until = overlapHours > 0 ? new Date(now.getTime() + overlapHours * 3_600_000) : null;
      await webhooks.setSecret(trx, id, { sealed: this.#seal(secret), previousSealed: until ? before.secret_sealed : null, previousExpiresAt: until }, now);
      await this.#audit(trx, 'webhook.secret_rotated', caller, before, client, { overlapHours });
      return (await webhooks.findEndpoint(trx, projectOf(place), id)) as webhooks.EndpointRow;
    });
    return { ...toView(row, now), secret };
  }

  async deliveries(caller: WebhookCaller, place: WebhookPlace, id: number, page: { limit: number; before?: number | undefined }) {
    await this.#endpoint(caller, place, id, false);
    const rows = await webhooks.listDeliveries(this.#db, id, page.limit + 1, page.before);
    const items = rows.slice(0, page.limit).map(toDeliveryView);
    return { items, nextBefore: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
  }

  /**
   * Sends a logged message again, now, with its `webhook-id` (the receiver can tell it from a new
   * one) and a fresh timestamp and signature. Out of the endpoint's order, by a person's choice;
   * the endpoint's own delivery and cursor are untouched.
   */
  async redeliver(caller: WebhookCaller, place: WebhookPlace, id: number, deliveryId: number, client: ClientInfo | null): Promise<WebhookDeliveryView> {
    const endpoint = await this.#endpoint(caller, place, id, true);
    const original = await webhooks.findDelivery(this.#db, id, deliveryId);
    if (!original) throw new DomainError('NOT_FOUND', 'Delivery not found');
    const delivery = await this.#attempt(endpoint, { id: original.message_id, type: original.event_type, body: original.body }, { manual: true });
    await recordAudit(this.#db, {
      action: 'webhook.redelivered',
      actor: actorOf(caller),
      client,
      target: { type: 'webhook', id: endpoint.id, label: endpoint.url },
      details: { projectId: endpoint.project_id, messageId: original.message_id, succeeded: delivery.succeeded },
    });
    return toDeliveryView(delivery);
  }

  /** Sends a `webhook.ping` now, signed like every message, and logs it. */
  async ping(caller: WebhookCaller, place: WebhookPlace, id: number): Promise<WebhookDeliveryView> {
    const endpoint = await this.#endpoint(caller, place, id, true);
    const now = this.#clock();
    const message = {
      id: `msg_ping_${randomUUID()}`,
      type: 'webhook.ping',
      body: JSON.stringify({ type: 'webhook.ping', timestamp: now.toISOString(), data: { endpointId: endpoint.id } }),
    };
    return toDeliveryView(await this.#attempt(endpoint, message, { manual: true }));
  }

  // ---- Delivery ----------------------------------------------------------------------------

  /**
   * Delivers what is due at the clock's time, on every endpoint this instance can claim, until
   * nothing is; returns how many messages were delivered. Failures are logged and rescheduled,
   * never thrown. `clock` stands in for the service's own (tests step through retries with it).
   */
  async deliverDue(clock: () => Date = this.#clock): Promise<number> {
    let delivered = 0;
    for (;;) {
      // Each endpoint once a pass: one with nothing to send stays due (its cursor says where it
      // is), so claiming anew every time would take the same idle ones again and again, for ever
      // once a batch's worth of them came first, and never reach the ones behind them.
      const seen: number[] = [];
      let unfinished = false;
      for (;;) {
        if (this.#runs.stopped) return delivered;
        const token = randomUUID();
        const claimed = await webhooks.claimDueEndpoints(this.#db, clock(), this.options.config.leaseMs, token, CLAIM_BATCH, seen);
        for (const outcome of await Promise.all(claimed.map((endpoint) => this.#deliverTo(endpoint, token, clock)))) {
          delivered += outcome.delivered;
          unfinished ||= outcome.unfinished;
        }
        seen.push(...claimed.map((endpoint) => endpoint.id));
        if (claimed.length < CLAIM_BATCH) break;
      }
      // Another pass only for endpoints whose turn ended with more to send.
      if (!unfinished) return delivered;
    }
  }

  /**
   * Sends an endpoint what it is due, in order, for at most half the lease. `unfinished`: its
   * turn ran out while it was still getting through its backlog.
   */
  async #deliverTo(endpoint: webhooks.EndpointRow, token: string, clock: () => Date): Promise<{ delivered: number; unfinished: boolean }> {
    // Half the lease: the message in flight then ends (within its timeout) well before the lease.
    const deadline = clock().getTime() + this.options.config.leaseMs / 2;
    let delivered = 0;
    let unfinished = false;
    try {
      let gapChecked = false;
      for (;;) {
        if (this.#runs.stopped) break;
        if (clock().getTime() >= deadline) {
          unfinished = true;
          break;
        }
        const next = gapChecked ? await this.#next(endpoint) : await this.#gapOrNext(endpoint);
        gapChecked = true;
        if (next === null) break;
        if ('skipTo' in next) {
          if (!(await webhooks.advanceCursor(this.#db, endpoint.id, token, next.skipTo))) break;
          applyCursor(endpoint, next.skipTo);
          continue;
        }
        const delivery = await this.#attempt(endpoint, next.message, { manual: false, attempt: endpoint.attempts + 1 });
        if (delivery === undefined) break; // interrupted by shutdown: another instance sends it again
        if (delivery.succeeded) {
          if (!(await webhooks.advanceCursor(this.#db, endpoint.id, token, next.message.advance))) break;
          applyCursor(endpoint, next.message.advance);
          endpoint.attempts = 0;
          endpoint.failing_since = null;
          delivered += 1;
          continue;
        }
        await this.#failed(endpoint, token, clock(), delivery);
        break;
      }
    } catch (error) {
      this.options.log.warn({ err: error, webhookId: endpoint.id }, 'webhook delivery run failed');
    } finally {
      await webhooks.releaseEndpoint(this.#db, endpoint.id, token).catch(() => {});
    }
    return { delivered, unfinished };
  }

  /** After a failed attempt: wait, or give up and tell the endpoint's keepers. */
  async #failed(endpoint: webhooks.EndpointRow, token: string, now: Date, delivery: webhooks.DeliveryRow): Promise<void> {
    const { retryBaseMs, retryMaxMs, giveUpMs } = this.options.config;
    const failingSince = endpoint.failing_since ?? now;
    const attempts = endpoint.attempts + 1;
    const wait = Math.min(retryBaseMs * 2 ** (attempts - 1), retryMaxMs);
    const givingUp = now.getTime() - failingSince.getTime() >= giveUpMs;
    if (!givingUp) {
      await webhooks.recordFailure(this.#db, endpoint.id, token, { nextAttemptAt: new Date(now.getTime() + wait), failingSince, disable: null });
      this.options.log.warn({ webhookId: endpoint.id, attempts, retryInMs: wait, status: delivery.http_status }, 'webhook not delivered; will retry');
      return;
    }
    await this.#db.transaction().execute(async (trx) => {
      if (!(await webhooks.recordFailure(trx, endpoint.id, token, { nextAttemptAt: now, failingSince, disable: 'failing' }))) return;
      await recordAudit(trx, {
        action: 'webhook.disabled',
        actor: SYSTEM_ACTOR,
        client: null,
        target: { type: 'webhook', id: endpoint.id, label: endpoint.url },
        details: { projectId: endpoint.project_id, failingSince: failingSince.toISOString(), attempts, lastError: delivery.error },
      });
      const projectName = endpoint.project_id === null ? null : ((await projects.findProjectAccess(trx, endpoint.project_id, 0))?.name ?? null);
      const base = this.options.publicUrl;
      const link = base ? (endpoint.project_id === null ? `${base}/admin/webhooks` : `${base}/projects/${endpoint.project_id}/settings`) : null;
      const keepers = await webhooks.findEndpointKeepers(trx, endpoint.project_id);
      for (const keeper of keepers) {
        if (keeper.email === null) continue;
        await this.options.mail.enqueueTemplate(trx, {
          kind: 'webhook-disabled',
          to: keeper.email,
          userId: keeper.id,
          language: keeper.language ?? (await this.options.mail.languageOf(trx, keeper.id)),
          params: { username: keeper.username, url: endpoint.url, project: projectName, failingSince, lastError: delivery.error, link },
        });
      }
      // Their consoles hear of it at once on their own live streams, last in the transaction as change events must be.
      for (const keeper of keepers) await recordUserEvent(trx, { userId: keeper.id, kind: 'webhook.disabled', entityId: endpoint.id, actorId: null });
    });
    this.options.mail.kick();
    this.options.log.error({ webhookId: endpoint.id, attempts, failingSince }, 'webhook disabled after failing too long');
  }

  /** The next message, after telling an endpoint enabled again of events pruned while it was off. */
  async #gapOrNext(endpoint: webhooks.EndpointRow): Promise<Next> {
    const { prunedThrough } = await changeEvents.changeLogExtent(this.#db);
    if (endpoint.change_cursor >= prunedThrough) return this.#next(endpoint);
    const message = {
      id: `msg_gap_${endpoint.id}_${endpoint.change_cursor}`,
      type: 'webhook.events_lost',
      body: JSON.stringify({
        type: 'webhook.events_lost',
        timestamp: this.#clock().toISOString(),
        data: { afterEventId: endpoint.change_cursor, throughEventId: prunedThrough, reason: 'The change log was pruned while this endpoint was disabled' },
      }),
      advance: { change: prunedThrough },
    };
    return { message };
  }

  async #next(endpoint: webhooks.EndpointRow): Promise<Next> {
    const kinds = changeKindsOf(endpoint.event_types);
    const { change, newest } = await webhooks.nextChange(this.#db, endpoint.change_cursor, kinds, endpoint.project_id);
    let audit: webhooks.PendingAudit | undefined;
    let horizon: { tx: number; id: number } | undefined;
    if (endpoint.project_id === null) {
      const actions = auditActionsOf(endpoint.event_types);
      ({ audit, last: horizon } = await webhooks.nextAudit(this.#db, { tx: endpoint.audit_cursor_tx, id: endpoint.audit_cursor_id }, actions));
    }
    // Both logs have something: the older first (each log stays in its own order either way).
    if (change && (!audit || change.created_at <= audit.occurred_at)) return { message: changeMessage(change) };
    if (audit) return { message: auditMessage(audit) };
    const skipTo: { change?: number; audit?: { tx: number; id: number } } = {};
    if (newest > endpoint.change_cursor) skipTo.change = newest;
    if (horizon && (horizon.tx > endpoint.audit_cursor_tx || (horizon.tx === endpoint.audit_cursor_tx && horizon.id > endpoint.audit_cursor_id)))
      skipTo.audit = horizon;
    return Object.keys(skipTo).length > 0 ? { skipTo } : null;
  }

  /** Signs and sends one message and logs the attempt; undefined when shutdown interrupted it. */
  async #attempt(endpoint: webhooks.EndpointRow, message: Omit<Message, 'advance'>, how: { manual: true }): Promise<webhooks.DeliveryRow>;
  async #attempt(
    endpoint: webhooks.EndpointRow,
    message: Omit<Message, 'advance'>,
    how: { manual: boolean; attempt?: number },
  ): Promise<webhooks.DeliveryRow | undefined>;
  async #attempt(
    endpoint: webhooks.EndpointRow,
    message: Omit<Message, 'advance'>,
    how: { manual: boolean; attempt?: number },
  ): Promise<webhooks.DeliveryRow | undefined> {
    const sentAt = new Date();
    const headers = {
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': this.#signatures(endpoint, message.id, sentAt, message.body),
      'user-agent': 'SecureTaskManager-Webhooks/1',
    };
    const result: PostResult = await postWebhook(
      endpoint.url,
      { headers, body: message.body },
      {
        allowPrivate: this.options.config.allowPrivate,
        timeoutMs: this.options.config.timeoutMs,
        signal: how.manual ? undefined : this.#abort.signal,
      },
    );
    if (!how.manual && this.#abort.signal.aborted) return undefined;
    const attempt = how.attempt ?? (await this.#manualAttemptNumber(endpoint.id, message.id));
    return webhooks.insertDelivery(this.#db, {
      endpoint_id: endpoint.id,
      message_id: message.id,
      event_type: message.type,
      body: message.body,
      attempt,
      manual: how.manual,
      succeeded: result.status !== null && result.status >= 200 && result.status < 300,
      http_status: result.status,
      duration_ms: result.durationMs,
      response_excerpt: result.excerpt,
      error: result.error,
    });
  }

  async #manualAttemptNumber(endpointId: number, messageId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('endpoint_id', '=', endpointId)
      .where('message_id', '=', messageId)
      .executeTakeFirstOrThrow();
    return row.n + 1;
  }

  /** One signature per live secret: the current one, and the one before it during its overlap. */
  #signatures(endpoint: webhooks.EndpointRow, id: string, at: Date, body: string): string {
    const secrets = [this.#open(endpoint.secret_sealed)];
    if (endpoint.previous_secret_sealed && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > this.#clock()) {
      secrets.push(this.#open(endpoint.previous_secret_sealed));
    }
    return secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(' ');
  }

  #seal(secret: string): string {
    return sealSecret(secret, SECRET_CONTEXT, this.options.secretKey);
  }

  #open(sealed: string): string {
    return openSecret(sealed, SECRET_CONTEXT, this.options.secretKey);
  }

  // ---- Rules -------------------------------------------------------------------------------

  /** A project's endpoints are its owners' (administrators may act too); global ones administrators'. */
  async #authorize(db: Kysely<Database>, caller: WebhookCaller, place: WebhookPlace, write: boolean, options: { lock?: boolean } = {}): Promise<void> {
    if (place === 'global') {
      if (caller.role !== 'admin') throw new DomainError('FORBIDDEN', 'Administrators only');
      return;
    }
    const row = await projects.findProjectAccess(db, place.projectId, caller.id, { lock: options.lock ?? false });
    authorize(caller, row && factsOf(row), 'manage', projectNotFound, { allowArchived: !write });
  }

  async #endpoint(caller: WebhookCaller, place: WebhookPlace, id: number, write: boolean): Promise<webhooks.EndpointRow> {
    await this.#authorize(this.#db, caller, place, write);
    const row = await webhooks.findEndpoint(this.#db, projectOf(place), id);
    if (!row) throw webhookNotFound();
    return row;
  }

  #checkTypes(place: WebhookPlace, types: readonly string[]): void {
    if (place !== 'global' && types.some((type) => type === 'user.*' || type === 'security.*')) {
      throw new DomainError('VALIDATION_FAILED', 'Account and security events are for global webhooks only', { field: 'eventTypes' });
    }
  }

  /**
   * Refuses at once a URL the worker would refuse (scheme, an address that is not public, a name
   * that does not resolve to one); it is checked again at every delivery. A lookup that takes too
   * long is let through, to be judged then.
   */
  async #checkUrl(url: string): Promise<void> {
    try {
      await resolveDestination(url, this.options.config.allowPrivate, AbortSignal.timeout(URL_CHECK_TIMEOUT_MS));
    } catch (error) {
      if (error instanceof DestinationRefused) throw new DomainError('WEBHOOK_URL_NOT_ALLOWED', error.message, { field: 'url' });
    }
  }

  async #audit(
    trx: Kysely<Database>,
    action: 'webhook.created' | 'webhook.updated' | 'webhook.deleted' | 'webhook.secret_rotated',
    caller: WebhookCaller,
    endpoint: webhooks.EndpointRow,
    client: ClientInfo | null,
    details: Record<string, unknown>,
  ) {
    await recordAudit(trx, {
      action,
      actor: actorOf(caller),
      client,
      target: { type: 'webhook', id: endpoint.id, label: endpoint.url },
      details: { projectId: endpoint.project_id, ...details },
    });
  }

  // ---- Running ---------------------------------------------------------------------------

  /** Delivers soon, without waiting for the poll. */
  kick(): void {
    if (this.options.config.pollMs === undefined) return;
    this.#runs.request();
  }

  /** An endpoint was made active here: changes wake the worker from now on. */
  #activated(): void {
    this.#activations++;
    this.#endpointsActive = true;
    this.kick();
  }

  /** Learns whether any endpoint is active (`#endpointsActive`), then delivers what is due. */
  #poll(): void {
    const activations = this.#activations;
    this.#looking ??= webhooks
      .anyActiveEndpoint(this.#db)
      .then(
        (active) => {
          if (activations === this.#activations) this.#endpointsActive = active;
        },
        // Not knowing, wake on every change, as if there were one.
        () => {
          this.#endpointsActive = true;
        },
      )
      .finally(() => {
        this.#looking = undefined;
      });
    this.#runs.request();
  }

  /** Polls, and wakes when the change log announces an event (audit events wait for the poll). */
  start(): void {
    const pollMs = this.options.config.pollMs;
    if (this.#timer || pollMs === undefined || this.#runs.stopped) return;
    this.#timer = setInterval(() => this.#poll(), pollMs).unref();
    this.#listener = this.options.database
      .listen(changeEvents.CHANGE_CHANNEL, () => {
        if (this.#endpointsActive) this.kick();
      })
      .catch((error: unknown) => {
        this.options.log.warn({ err: error }, 'webhooks could not listen for changes; polling only');
        return undefined;
      });
    this.#poll();
  }

  /**
   * Stops: no new claims, the message in flight is abandoned (not logged, the cursor not moved:
   * whoever claims the endpoint next sends it again, with the same id) and the endpoint released.
   */
  async stop(): Promise<void> {
    const runs = this.#runs.stop();
    this.#abort.abort();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await (await this.#listener)?.close();
    await this.#looking;
    await runs;
  }

  /** Drops log entries older than the retention. */
  async prune(): Promise<number> {
    return webhooks.pruneDeliveries(this.#db, new Date(Date.now() - this.options.config.logRetentionMs));
  }
}

function projectOf(place: WebhookPlace): number | null {
  return place === 'global' ? null : place.projectId;
}

function newSecret(): string {
  return `whsec_${randomBytes(SECRET_BYTES).toString('base64')}`;
}

function applyCursor(endpoint: webhooks.EndpointRow, cursor: { change?: number; audit?: { tx: number; id: number } }): void {
  if (cursor.change !== undefined) endpoint.change_cursor = cursor.change;
  if (cursor.audit !== undefined) {
    endpoint.audit_cursor_tx = cursor.audit.tx;
    endpoint.audit_cursor_id = cursor.audit.id;
  }
}

function changeMessage(change: webhooks.PendingChange): Message {
  const body = JSON.stringify({
    type: change.kind,
    timestamp: change.created_at.toISOString(),
    data: { eventId: change.id, projectId: change.project_id, entityId: change.entity_id, actorId: change.actor_id, details: change.payload },
  });
  return { id: `msg_ch_${change.id}`, type: change.kind, body, advance: { change: change.id } };
}

function auditMessage(audit: webhooks.PendingAudit): Message {
  const type = auditEventType(audit.action);
  const body = JSON.stringify({
    type,
    timestamp: audit.occurred_at.toISOString(),
    data: {
      auditId: audit.id,
      action: audit.action,
      actor: { id: audit.actor_id, username: audit.actor_username },
      target: audit.target_type === null ? null : { type: audit.target_type, id: audit.target_id, label: audit.target_label },
      ip: audit.ip,
      details: audit.details,
    },
  });
  return { id: `msg_au_${audit.id}`, type, body, advance: { audit: { tx: audit.tx, id: audit.id } } };
}
