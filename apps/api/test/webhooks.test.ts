import { sql } from '@stm/db';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordChange } from '../src/services/events';
import { isPublicAddress } from '../src/services/webhook-http';
import { createTestApp, giveConfirmedEmail, json, rejection, rest, signUp, signUpAdmin, type TestApp } from './helpers';
import { type Received, type Receiver, startReceiver, verify } from './webhook-receiver';

describe('webhooks', () => {
  let t: TestApp;
  let receiver: Receiver;
  type Person = Awaited<ReturnType<typeof person>>;
  let owner: Person;
  let editor: Person;
  let outsider: Person;
  let projectId: number;

  async function person(name: string) {
    const signed = await signUp(t, name);
    return { id: signed.user.id, username: name, token: signed.accessToken, calls: t.caller(signed.accessToken) };
  }

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '1000' });
    receiver = await startReceiver();
    owner = await person('hook_owner');
    editor = await person('hook_editor');
    outsider = await person('hook_outsider');
    projectId = (await owner.calls.projects.create({ name: 'Hooked' })).id;
    await owner.calls.members.add({ projectId, username: editor.username, role: 'editor' });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.respond((_req, res) => res.writeHead(200).end('ok'));
  });

  describe('access control', () => {
    it("keeps a project's webhooks from anyone but its owners", async () => {
      const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.*'] });
      const ref = { projectId, id: created.id };
      // Not a member: the project does not exist for them, as a missing one does not.
      for (const call of [
        () => outsider.calls.webhooks.list({ projectId }),
        () => outsider.calls.webhooks.get(ref),
        () => outsider.calls.webhooks.update({ ...ref, active: false }),
        () => outsider.calls.webhooks.delete(ref),
        () => outsider.calls.webhooks.rotateSecret(ref),
        () => outsider.calls.webhooks.deliveries(ref),
        () => outsider.calls.webhooks.test(ref),
        () => outsider.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.*'] }),
      ]) {
        expect(await rejection(call())).toMatchObject({ code: 'NOT_FOUND' });
      }
      expect(await rejection(outsider.calls.webhooks.list({ projectId }))).toEqual(await rejection(outsider.calls.webhooks.list({ projectId: 2_000_000_000 })));
      expect((await rest(t.app, 'GET', `/api/projects/${projectId}/webhooks`, { token: outsider.token })).statusCode).toBe(404);
      // A member who is not an owner may not see them either.
      expect(await rejection(editor.calls.webhooks.list({ projectId }))).toMatchObject({ code: 'FORBIDDEN', reason: 'PROJECT_ROLE_TOO_LOW' });
      expect(await rejection(editor.calls.webhooks.deliveries(ref))).toMatchObject({ code: 'FORBIDDEN' });
      // Another project's id with this endpoint's id finds nothing.
      const other = (await outsider.calls.projects.create({ name: 'Elsewhere' })).id;
      expect(await rejection(outsider.calls.webhooks.get({ projectId: other, id: created.id }))).toMatchObject({ code: 'NOT_FOUND' });
      // Global webhooks are administrators' only.
      expect(await rejection(owner.calls.admin.webhooks.list())).toMatchObject({ code: 'FORBIDDEN' });
      expect((await rest(t.app, 'GET', '/api/admin/webhooks', { token: owner.token })).statusCode).toBe(403);
      await owner.calls.webhooks.delete(ref);
    });

    it('never shows the secret again after creating or rotating', async () => {
      const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
      expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const listed = await owner.calls.webhooks.list({ projectId });
      expect(JSON.stringify(listed)).not.toContain(created.secret);
      expect(JSON.stringify(json(await rest(t.app, 'GET', `/api/projects/${projectId}/webhooks/${created.id}`, { token: owner.token })))).not.toContain(
        'whsec_',
      );
      const audit = await t.database.db.selectFrom('audit_events').select(['action', 'details']).where('target_type', '=', 'webhook').execute();
      expect(audit.map((row) => row.action)).toContain('webhook.created');
      expect(JSON.stringify(audit)).not.toContain('whsec_');
      await owner.calls.webhooks.delete({ projectId, id: created.id });
    });
  });

  it('delivers committed changes in order, signed so that standardwebhooks verifies them, and never a rolled-back one', async () => {
    const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.*', 'comment.created'] });
    const first = await owner.calls.tasks.create({ projectId, title: 'One' });
    await owner.calls.tasks.update({ id: first.id, title: 'One, renamed', expectedVersion: first.version });
    await owner.calls.comments.create({ taskId: first.id, body: 'A comment' });
    await owner.calls.labels.create({ projectId, name: 'not subscribed', color: 'pink' });
    // A change whose transaction rolls back leaves no event, so nothing is ever sent for it.
    await expect(
      t.database.db.transaction().execute(async (trx) => {
        await recordChange(trx, { projectId, kind: 'task.created', entityId: 999_999, actorId: owner.id, payload: { rolledBack: true } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await owner.calls.tasks.create({ projectId, title: 'Two' });

    await t.app.services.webhooks.deliverDue();
    const types = receiver.received.map((message) => message.type);
    expect(types).toEqual(['task.created', 'task.updated', 'comment.created', 'task.created']);
    expect(receiver.received.some((message) => message.body.includes('rolledBack'))).toBe(false);
    for (const message of receiver.received) {
      expect(verify(created.secret, message)).toMatchObject({ type: message.type, data: { projectId } });
      expect(message.id).toMatch(/^msg_ch_\d+$/);
    }
    expect(() => verify('whsec_' + Buffer.alloc(24, 7).toString('base64'), receiver.received[0] as Received)).toThrow();
    const ids = receiver.received.map((message) => Number(message.id.slice('msg_ch_'.length)));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    // Delivered once: a second run has nothing to send.
    receiver.received.length = 0;
    expect(await t.app.services.webhooks.deliverDue()).toBe(0);
    expect(receiver.received).toHaveLength(0);

    const log = await owner.calls.webhooks.deliveries({ projectId, id: created.id });
    expect(log.items).toHaveLength(4);
    expect(log.items[0]).toMatchObject({ succeeded: true, httpStatus: 200, responseExcerpt: 'ok', attempt: 1, manual: false });
    await owner.calls.webhooks.delete({ projectId, id: created.id });
  });

  it('many endpoints with nothing to send are each looked at once a run, and those behind them are served', async () => {
    const busy = (await owner.calls.projects.create({ name: 'Many hooks' })).id;
    const idle = [];
    for (let n = 0; n < 12; n++)
      idle.push(await owner.calls.webhooks.create({ projectId: busy, url: receiver.url(`/idle-${n}`), eventTypes: ['comment.created'] }));
    const last = await owner.calls.webhooks.create({ projectId: busy, url: receiver.url('/last'), eventTypes: ['task.created'] });
    await owner.calls.tasks.create({ projectId: busy, title: 'For the last one' });
    // The run's clock is read once for each claim and each endpoint's turn: a run that claims the
    // idle ones again and again fails here instead of never ending.
    let reads = 0;
    const counted = () => {
      if (++reads > 200) throw new Error('the run does not end');
      return new Date();
    };
    expect(await t.app.services.webhooks.deliverDue(counted)).toBe(1);
    expect(receiver.received.map((message) => message.path)).toEqual(['/last']);
    reads = 0;
    expect(await t.app.services.webhooks.deliverDue(counted)).toBe(0);
    for (const endpoint of [...idle, last]) await owner.calls.webhooks.delete({ projectId: busy, id: endpoint.id });
  });

  it('rotates the secret with an overlap: both signatures, each verifies', async () => {
    const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
    const rotated = await owner.calls.webhooks.rotateSecret({ projectId, id: created.id, overlapHours: 1 });
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.previousSecretExpiresAt).not.toBeNull();
    const ping = await owner.calls.webhooks.test({ projectId, id: created.id });
    expect(ping).toMatchObject({ succeeded: true, eventType: 'webhook.ping', manual: true });
    const [message] = receiver.received;
    expect(message?.signature.split(' ')).toHaveLength(2);
    expect(verify(rotated.secret, message as Received)).toMatchObject({ type: 'webhook.ping' });
    expect(verify(created.secret, message as Received)).toMatchObject({ type: 'webhook.ping' });

    // Without an overlap, the old secret stops at once.
    receiver.received.length = 0;
    const again = await owner.calls.webhooks.rotateSecret({ projectId, id: created.id, overlapHours: 0 });
    await owner.calls.webhooks.test({ projectId, id: created.id });
    const [only] = receiver.received;
    expect(only?.signature.split(' ')).toHaveLength(1);
    expect(verify(again.secret, only as Received)).toBeTruthy();
    expect(() => verify(rotated.secret, only as Received)).toThrow();
    await owner.calls.webhooks.delete({ projectId, id: created.id });
  });

  it('does not follow a redirect', async () => {
    receiver.respond((req, res) => (req.url === '/hook' ? res.writeHead(302, { location: receiver.url('/elsewhere') }).end() : res.writeHead(200).end()));
    const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
    const ping = await owner.calls.webhooks.test({ projectId, id: created.id });
    expect(ping).toMatchObject({ succeeded: false, httpStatus: 302 });
    expect(receiver.received.map((message) => message.path)).toEqual(['/hook']);
    await owner.calls.webhooks.delete({ projectId, id: created.id });
  });

  it('retries with growing waits, keeps later events behind the failing one, then disables the endpoint and tells its owner', async () => {
    await giveConfirmedEmail(t, owner.id, 'owner@example.test');
    receiver.respond((_req, res) => res.writeHead(503).end('down for maintenance'));
    const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
    await owner.calls.tasks.create({ projectId, title: 'Failing one' });
    await owner.calls.tasks.create({ projectId, title: 'Waiting behind it' });
    const service = t.app.services.webhooks;
    const start = Date.now() + 60_000;
    const at = (ms: number) => () => new Date(start + ms);

    const endpointRow = () =>
      t.database.db
        .selectFrom('webhook_endpoints')
        .select(['attempts', 'next_attempt_at', 'active', 'disabled_reason', 'failing_since'])
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
    await service.deliverDue(at(0));
    expect(await endpointRow()).toMatchObject({ attempts: 1, active: true });
    expect((await endpointRow()).next_attempt_at.getTime()).toBe(start + 1_000);
    // Not due yet: nothing is tried.
    await service.deliverDue(at(500));
    expect(receiver.received).toHaveLength(1);
    await service.deliverDue(at(1_000));
    expect((await endpointRow()).next_attempt_at.getTime()).toBe(start + 1_000 + 2_000);
    await service.deliverDue(at(3_000));
    expect((await endpointRow()).next_attempt_at.getTime()).toBe(start + 3_000 + 4_000);
    // Every attempt was the first event, with the same id; the second waits behind it.
    expect(new Set(receiver.received.map((message) => message.id)).size).toBe(1);
    expect(receiver.received).toHaveLength(3);

    // A day later the endpoint is still failing: it is disabled, and its owner mailed.
    await service.deliverDue(at(24 * 3_600_000 + 1));
    expect(await endpointRow()).toMatchObject({ active: false, disabled_reason: 'failing' });
    const mail = await t.database.db.selectFrom('mail_outbox').select(['kind', 'to_address', 'text_body']).where('kind', '=', 'webhook-disabled').execute();
    expect(mail).toEqual([expect.objectContaining({ to_address: 'owner@example.test' })]);
    expect(mail[0]?.text_body).toContain(receiver.url());
    const view = await owner.calls.webhooks.get({ projectId, id: created.id });
    expect(view).toMatchObject({ active: false, disabledReason: 'failing' });
    const count = receiver.received.length;
    await service.deliverDue(at(48 * 3_600_000));
    expect(receiver.received).toHaveLength(count);

    // Enabled again, it resumes where it stopped: both events, in order.
    receiver.respond((_req, res) => res.writeHead(204).end());
    receiver.received.length = 0;
    await owner.calls.webhooks.update({ projectId, id: created.id, active: true });
    await service.deliverDue();
    expect(receiver.received.map((message) => JSON.parse(message.body).data.details.task.title)).toEqual(['Failing one', 'Waiting behind it']);

    // A manual redeliver sends the logged message again with its id, signed afresh.
    const log = await owner.calls.webhooks.deliveries({ projectId, id: created.id, limit: 100 });
    const failed = log.items.find((item) => !item.succeeded) as (typeof log.items)[number];
    expect(failed).toMatchObject({ httpStatus: 503, responseExcerpt: 'down for maintenance' });
    receiver.received.length = 0;
    const again = await owner.calls.webhooks.redeliver({ projectId, id: created.id, deliveryId: failed.id });
    expect(again).toMatchObject({ succeeded: true, manual: true, messageId: failed.messageId, httpStatus: 204 });
    expect(receiver.received.map((message) => message.id)).toEqual([failed.messageId]);
    const rest204 = await rest(t.app, 'POST', `/api/projects/${projectId}/webhooks/${created.id}/deliveries/${failed.id}/redeliver`, { token: owner.token });
    expect(rest204.statusCode).toBe(200);
    expect(await rejection(owner.calls.webhooks.redeliver({ projectId, id: created.id, deliveryId: 2_000_000_000 }))).toMatchObject({ code: 'NOT_FOUND' });
    await owner.calls.webhooks.delete({ projectId, id: created.id });
  });

  it('keeps the change log an active endpoint still needs', async () => {
    const created = await owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['task.created'] });
    receiver.respond((_req, res) => res.writeHead(500).end());
    await owner.calls.tasks.create({ projectId, title: 'Kept for the hook' });
    await owner.calls.tasks.create({ projectId, title: 'The newest' });
    await sql`update change_events set created_at = now() - interval '30 days'`.execute(t.database.db);
    await t.app.services.live.prune();
    receiver.respond((_req, res) => res.writeHead(200).end());
    await t.app.services.webhooks.deliverDue();
    expect(receiver.received.map((message) => JSON.parse(message.body).data.details.task.title)).toEqual(['Kept for the hook', 'The newest']);
    await owner.calls.webhooks.delete({ projectId, id: created.id });
  });

  it('global webhooks hear every project and account and security events', async () => {
    const admin = await signUpAdmin(t, 'hook_admin');
    const calls = t.caller(admin.accessToken);
    const created = await calls.admin.webhooks.create({ url: receiver.url('/global'), eventTypes: ['project.*', 'user.*', 'security.*'] });
    await owner.calls.projects.update({
      id: projectId,
      description: 'now watched',
      expectedVersion: (await owner.calls.projects.get({ id: projectId })).version,
    });
    await signUp(t, 'hook_newcomer');
    await rest(t.app, 'POST', '/api/auth/login', { body: { username: 'hook_newcomer', password: 'wrong password!!' } });
    // Audit events go out once every transaction older than theirs has ended, anywhere on the
    // database server (other test files' too): delivered by a later run if not by this one.
    await vi.waitFor(
      async () => {
        await t.app.services.webhooks.deliverDue();
        const types = receiver.received.map((message) => message.type);
        expect(types).toEqual(expect.arrayContaining(['project.updated', 'user.registered', 'security.auth.login_failed', 'security.auth.login_succeeded']));
      },
      { timeout: 20_000, interval: 100 },
    );
    for (const message of receiver.received) expect(verify(created.secret, message)).toBeTruthy();
    const failedLogin = receiver.received.find((message) => message.type === 'security.auth.login_failed') as Received;
    expect(failedLogin.id).toMatch(/^msg_au_\d+$/);
    // Project endpoints cannot ask for them.
    expect(await rejection(owner.calls.webhooks.create({ projectId, url: receiver.url(), eventTypes: ['security.*'] }))).toMatchObject({ code: 'BAD_REQUEST' });
    // REST, with the admin scopes.
    expect((await rest(t.app, 'GET', '/api/admin/webhooks', { token: admin.accessToken })).statusCode).toBe(200);
    await calls.admin.webhooks.delete({ id: created.id });
  });
});

describe('webhooks: destinations that are not public', () => {
  let t: TestApp;
  let receiver: Receiver;
  let token: string;
  let projectId: number;

  beforeAll(async () => {
    // As in production: WEBHOOK_ALLOW_PRIVATE unset.
    t = await createTestApp();
    receiver = await startReceiver();
    const owner = await signUp(t, 'ssrf_owner');
    token = owner.accessToken;
    projectId = (await t.caller(token).projects.create({ name: 'Guarded' })).id;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it.each([
    `http://127.0.0.1:9/hook`,
    'http://10.1.2.3/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:8080/hook',
    'http://[fd00:ec2::254]/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/',
    'http://localhost:9/hook',
  ])('refuses %s', async (url) => {
    const refused = await rejection(t.caller(token).webhooks.create({ projectId, url, eventTypes: ['task.*'] }));
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', reason: 'WEBHOOK_URL_NOT_ALLOWED' });
    const overRest = await rest(t.app, 'POST', `/api/projects/${projectId}/webhooks`, { token, body: { url, eventTypes: ['task.*'] } });
    expect(overRest.statusCode).toBe(400);
  });

  it('refuses a name that does not resolve as it refuses one that resolves to a private address', async () => {
    const refusals = [];
    for (const url of ['http://localhost:9/hook', 'http://no-such-host.invalid/hook']) {
      refusals.push(await rejection(t.caller(token).webhooks.create({ projectId, url, eventTypes: ['task.*'] })));
    }
    expect(refusals[0]).toMatchObject({ reason: 'WEBHOOK_URL_NOT_ALLOWED', fieldErrors: { url: ['The host name does not resolve to a public address'] } });
    expect(refusals[1]).toEqual(refusals[0]);
  });

  it('refuses schemes other than http and https', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'gopher://example.com/']) {
      expect(await rejection(t.caller(token).webhooks.create({ projectId, url, eventTypes: ['task.*'] }))).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('checks again at delivery, so a name that now resolves to loopback is never reached', async () => {
    // As if the name had resolved elsewhere when the endpoint was made (DNS rebinding).
    const created = await t.caller(token).webhooks.create({ projectId, url: 'https://93.184.216.34/x', eventTypes: ['task.*'] });
    await t.database.db
      .updateTable('webhook_endpoints')
      .set({ url: `http://localhost:${receiver.port}/hook` })
      .where('id', '=', created.id)
      .execute();
    await t.caller(token).tasks.create({ projectId, title: 'Not for loopback' });
    await t.app.services.webhooks.deliverDue();
    const [attempt] = (await t.caller(token).webhooks.deliveries({ projectId, id: created.id })).items;
    expect(attempt).toMatchObject({ succeeded: false, httpStatus: null, error: 'The host name does not resolve to a public address' });
    expect(receiver.received).toHaveLength(0);
  });

  it('tells public addresses from the rest', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00:ec2::254',
      'fe80::1',
      'ff02::1',
      '::ffff:10.0.0.1',
      // IPv4-compatible, as URL parsing writes [::127.0.0.1], [::169.254.169.254], [::10.0.0.1], [::8.8.8.8].
      '::7f00:1',
      '::a9fe:a9fe',
      '::a00:1',
      '::808:808',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(address), address).toBe(true);
  });
});
