import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mailOutbox } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMail } from '../src/services/mail-templates';
import { createTestApp, giveConfirmedEmail, signUp, type TestApp } from './helpers';
import { headerOf, readableText, startSmtpServer, type TestSmtpServer } from './smtp';

const MINUTE = 60_000;

async function person(t: TestApp, name: string, email: string | null, language: 'en' | 'es' | null = null) {
  const signed = await signUp(t, name);
  const calls = t.caller(signed.accessToken);
  await giveConfirmedEmail(t, signed.user.id, email);
  const defaults = await calls.notifications.preferences();
  await calls.notifications.updatePreferences({ ...defaults, language });
  return { id: signed.user.id, username: name, calls };
}

/**
 * Mail: notification digests written to the outbox with the change, delivered by a worker to a
 * real SMTP server (started here, on a loopback port) with retries and backoff, or written as
 * `.eml` files when no SMTP server is configured; at most one digest per person per window.
 */
describe('mail over SMTP', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      SMTP_URL: smtp.url,
      MAIL_RETRY_BASE_MS: '2000',
      MAIL_DIGEST_MINUTES: '60',
      MAIL_FROM: 'Tasks <tasks@example.test>',
      PUBLIC_URL: 'https://tasks.example.test/',
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('delivers a digest to a real SMTP server, retrying with growing waits after it first refuses', async () => {
    const ana = await person(t, 'ana_mail', 'ana@example.test');
    const ben = await person(t, 'ben_mail', null);
    const project = await ana.calls.projects.create({ name: 'Mailed' });
    await ana.calls.members.add({ projectId: project.id, username: ben.username, role: 'editor' });
    const task = await ben.calls.tasks.create({ projectId: project.id, title: 'Review <the> plan', assigneeId: ana.id });
    // Nothing is sent by the request itself.
    expect(await mailOutbox.listMail(t.database.db)).toEqual([]);

    expect(await t.app.services.notificationScheduler.tick(new Date())).toMatchObject({ digests: 1 });
    const now = new Date();
    const [queued] = await mailOutbox.listMail(t.database.db, { userId: ana.id });
    expect(queued).toMatchObject({ kind: 'notification-digest', to_address: 'ana@example.test', sent_at: null });

    smtp.refuseNext(2);
    const mail = t.app.services.mail;
    expect(await mail.deliverDue(() => now)).toBe(0);
    let [row] = await mailOutbox.listMail(t.database.db, { userId: ana.id });
    expect(row).toMatchObject({ attempts: 1, sent_at: null, failed_at: null });
    expect(row!.last_error).toMatch(/451/);
    expect(row!.next_attempt_at.getTime() - now.getTime()).toBe(2_000);

    // Not due yet: no attempt is made.
    expect(await mail.deliverDue(() => new Date(now.getTime() + 1_000))).toBe(0);
    expect(smtp.refused).toBe(1);

    const second = new Date(now.getTime() + 2_000);
    expect(await mail.deliverDue(() => second)).toBe(0);
    [row] = await mailOutbox.listMail(t.database.db, { userId: ana.id });
    expect(row).toMatchObject({ attempts: 2 });
    expect(row!.next_attempt_at.getTime() - second.getTime()).toBe(4_000);

    expect(await mail.deliverDue(() => new Date(second.getTime() + 4_000))).toBe(1);
    [row] = await mailOutbox.listMail(t.database.db, { userId: ana.id });
    expect(row).toMatchObject({ attempts: 3, last_error: null });
    expect(row!.sent_at).not.toBeNull();

    expect(smtp.received).toHaveLength(1);
    const received = smtp.received[0]!;
    expect(received.to).toEqual(['ana@example.test']);
    expect(received.from).toBe('tasks@example.test');
    expect(headerOf(received.raw, 'Subject')).toBe('Secure Task Manager: 1 new notification');
    const text = readableText(received.raw);
    expect(text).toContain('ben_mail assigned you “Review <the> plan”');
    expect(text).toContain(`https://tasks.example.test/projects/${project.id}?task=${task.id}`);
    // In the HTML part a title is text, never markup.
    expect(text).toContain('Review &lt;the&gt; plan');
    expect(await mail.deliverDue()).toBe(0);
  });

  it('sends at most one digest per person per MAIL_DIGEST_MINUTES, gathering what happened meanwhile, in their language', async () => {
    const cy = await person(t, 'cy_mail', 'cy@example.test', 'es');
    const dee = await person(t, 'dee_mail', null);
    const project = await cy.calls.projects.create({ name: 'Digest' });
    await cy.calls.members.add({ projectId: project.id, username: dee.username, role: 'editor' });
    const start = new Date(Date.now() + 10 * MINUTE);
    const mailOf = async () => mailOutbox.listMail(t.database.db, { userId: cy.id });

    await dee.calls.tasks.create({ projectId: project.id, title: 'Uno', assigneeId: cy.id });
    await dee.calls.tasks.create({ projectId: project.id, title: 'Dos', assigneeId: cy.id });
    await t.app.services.notificationScheduler.tick(start);
    expect(await mailOf()).toHaveLength(1);
    expect((await mailOf())[0]!.subject).toBe('Secure Task Manager: 2 notificaciones nuevas');
    expect((await mailOf())[0]!.text_body).toContain('dee_mail te asignó «Uno»');

    await dee.calls.tasks.create({ projectId: project.id, title: 'Tres', assigneeId: cy.id });
    await t.app.services.notificationScheduler.tick(new Date(start.getTime() + 10 * MINUTE));
    await t.app.services.notificationScheduler.tick(new Date(start.getTime() + 59 * MINUTE));
    expect(await mailOf()).toHaveLength(1);
    await dee.calls.tasks.create({ projectId: project.id, title: 'Cuatro', assigneeId: cy.id });

    await t.app.services.notificationScheduler.tick(new Date(start.getTime() + 60 * MINUTE));
    const digests = await mailOf();
    expect(digests).toHaveLength(2);
    expect(digests[1]!.subject).toBe('Secure Task Manager: 2 notificaciones nuevas');
    expect(digests[1]!.text_body).toContain('«Tres»');
    expect(digests[1]!.text_body).toContain('«Cuatro»');
    expect(digests[1]!.text_body).not.toContain('«Uno»');

    // Nothing new: no digest, however much time passes.
    await t.app.services.notificationScheduler.tick(new Date(start.getTime() + 300 * MINUTE));
    expect(await mailOf()).toHaveLength(2);
  });

  it('mails only the kinds a person wants by mail, and nothing to someone without an address', async () => {
    const eve = await person(t, 'eve_mail', 'eve@example.test');
    const fay = await person(t, 'fay_mail', null);
    const project = await eve.calls.projects.create({ name: 'Quiet' });
    await eve.calls.members.add({ projectId: project.id, username: fay.username, role: 'editor' });
    const prefs = await eve.calls.notifications.preferences();
    await eve.calls.notifications.updatePreferences({ ...prefs, kinds: { ...prefs.kinds, assigned: { inApp: true, mail: false } } });
    const task = await fay.calls.tasks.create({ projectId: project.id, title: 'Shown, not mailed', assigneeId: eve.id });
    await eve.calls.tasks.update({ id: task.id, assigneeId: fay.id });
    await t.app.services.notificationScheduler.tick(new Date(Date.now() + 500 * MINUTE));
    expect(await mailOutbox.listMail(t.database.db, { userId: eve.id })).toEqual([]);
    expect(await mailOutbox.listMail(t.database.db, { userId: fay.id })).toEqual([]);
    expect((await eve.calls.notifications.list({})).items.map((n) => n.kind)).toEqual(['assigned']);
  });

  it('lets several instances deliver at once, each message exactly once', async () => {
    const others = [
      await createTestApp({ SMTP_URL: smtp.url }, { database: t.database }),
      await createTestApp({ SMTP_URL: smtp.url }, { database: t.database }),
    ];
    try {
      await t.app.services.mail.deliverDue();
      const before = smtp.received.length;
      await t.database.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 12; i += 1)
          await t.app.services.mail.enqueue(trx, { kind: 'test', to: `many${i}@example.test`, subject: `Message ${i}`, text: 'Hello' });
      });
      const sent = await Promise.all([t, ...others].map((instance) => instance.app.services.mail.deliverDue()));
      expect(sent.reduce((a, b) => a + b, 0)).toBe(12);
      const subjects = smtp.received.slice(before).map((m) => headerOf(m.raw, 'Subject'));
      expect(subjects.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `Message ${i}`).sort());
    } finally {
      for (const other of others) await other.close();
    }
  });

  it('gives a message up after MAIL_MAX_ATTEMPTS, keeping why', async () => {
    const strict = await createTestApp({ SMTP_URL: smtp.url, MAIL_MAX_ATTEMPTS: '2', MAIL_RETRY_BASE_MS: '1000' }, { database: t.database });
    try {
      const id = await t.database.db
        .transaction()
        .execute((trx) => strict.app.services.mail.enqueue(trx, { kind: 'test', to: 'never@example.test', subject: 'Refused', text: 'x' }));
      smtp.refuseNext(5);
      const now = Date.now();
      await strict.app.services.mail.deliverDue(() => new Date(now));
      await strict.app.services.mail.deliverDue(() => new Date(now + 1_000));
      await strict.app.services.mail.deliverDue(() => new Date(now + 100_000));
      const row = (await mailOutbox.listMail(t.database.db, { kind: 'test' })).find((m) => m.id === id);
      expect(row).toMatchObject({ attempts: 2, sent_at: null });
      expect(row!.failed_at).not.toBeNull();
      expect(row!.last_error).toMatch(/451/);
    } finally {
      smtp.refuseNext(0);
      await strict.close();
    }
  });
});

describe('mail without SMTP', () => {
  let t: TestApp;
  let outbox: string;

  beforeAll(async () => {
    outbox = path.join(await mkdtemp(path.join(tmpdir(), 'stm-outbox-')), 'mail');
    t = await createTestApp({ MAIL_OUTBOX_DIR: outbox });
  });
  afterAll(async () => {
    await t?.close();
    await rm(path.dirname(outbox), { recursive: true, force: true });
  });

  it('writes each message as an .eml file in the outbox folder, readable by the server only', async () => {
    const mail = t.app.services.mail;
    await t.database.db.transaction().execute((trx) =>
      mail.enqueueTemplate(trx, {
        kind: 'notification-digest',
        to: 'gus@example.test',
        language: 'en',
        params: {
          username: 'gus',
          items: [{ kind: 'overdue', taskId: 7, taskTitle: 'File taxes', actor: null, dueAt: new Date('2026-04-30T12:00:00Z'), link: null }],
          more: 0,
          settingsLink: null,
        },
      }),
    );
    expect(await mail.deliverDue()).toBe(1);
    const files = (await readdir(outbox)).filter((name) => name.endsWith('.eml'));
    expect(files).toHaveLength(1);
    const file = path.join(outbox, files[0]!);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const raw = await readFile(file, 'utf8');
    expect(headerOf(raw, 'To')).toBe('gus@example.test');
    expect(headerOf(raw, 'Subject')).toBe('Secure Task Manager: 1 new notification');
    expect(readableText(raw)).toContain('“File taxes” is overdue (was due 30 Apr 2026, 12:00 UTC)');
    expect(await readdir(outbox)).toEqual(files);
  });

  it('sends nothing for a transaction that rolled back', async () => {
    const before = (await mailOutbox.listMail(t.database.db)).length;
    await expect(
      t.database.db.transaction().execute(async (trx) => {
        await t.app.services.mail.enqueue(trx, { kind: 'test', to: 'rolled@example.test', subject: 'Never', text: 'x' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await mailOutbox.listMail(t.database.db)).toHaveLength(before);
    expect(await t.app.services.mail.deliverDue()).toBe(0);
  });
});

describe('an address confirmation or password reset mail', () => {
  const token = 'x'.repeat(43);
  const kinds = [
    ['email-verification', { username: 'ana', address: 'ana@example.test', token, hours: 24 }],
    ['password-reset', { username: 'ana', token, minutes: 60 }],
  ] as const;

  it.each(kinds)('%s speaks of the code without PUBLIC_URL, and of the link with it, in each language', (kind, params) => {
    const words = {
      en: { link: 'The link works once', code: 'The code works once' },
      es: { link: 'El enlace sirve una vez', code: 'El código sirve una vez' },
    };
    for (const language of ['en', 'es'] as const) {
      const withoutLink = renderMail(kind, language, { ...params, link: null });
      expect(withoutLink.text).toContain(words[language].code);
      expect(withoutLink.text).not.toContain(words[language].link);
      const withLink = renderMail(kind, language, { ...params, link: `https://tasks.example.test/page#token=${token}` });
      expect(withLink.text).toContain(words[language].link);
      expect(withLink.text).not.toContain(words[language].code);
    }
  });
});
