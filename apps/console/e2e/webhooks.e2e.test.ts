import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import { api, apiLogin, browserAvailable, heading, PASSWORD, registerUser, screenshot, signIn, stageForTests, uniqueName, waitForPath } from './harness';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Another system's endpoint on loopback: records each message and answers 200. */
async function startReceiver() {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Whether a message carries a Standard Webhooks signature by this secret (HMAC-SHA256 of "id.timestamp.body"). */
function signedBy(secret: string, message: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${message.headers['webhook-id']}.${message.headers['webhook-timestamp']}.${message.body}`)
    .digest('base64');
  return (message.headers['webhook-signature'] ?? '').split(' ').includes(`v1,${expected}`);
}

describe.skipIf(!browserAvailable())('webhooks in Chromium', () => {
  // Deliveries go to a receiver on loopback, which only this switch allows.
  const stage = stageForTests({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '200' });
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('an owner adds a webhook, copies its secret, and the signed deliveries show in its log; in Spanish too', async () => {
    const username = uniqueName('hooker');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    const project = await api<{ id: number }>(stage.baseUrl, token, 'POST', '/projects', { name: 'Hooked' });

    const { page } = await stage.newContext();
    await page.goto('/sign-in');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');
    await page.goto(`/projects/${project.id}`);
    await heading(page, 'Hooked');
    await page.getByRole('button', { name: 'Webhooks' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('No webhooks yet.').waitFor();

    await dialog.getByLabel('URL').fill(receiver.url('/stm'));
    await dialog.getByLabel('Description').fill('Build server');
    await dialog.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await dialog.getByTestId('new-token').inputValue();
    expect(secret).toMatch(/^whsec_/);
    await expectAccessible(page, 'a new webhook and its secret');
    await dialog.getByRole('button', { name: 'I have copied it' }).click();

    // A change in the project reaches the receiver, signed with that secret.
    await api(stage.baseUrl, token, 'POST', '/tasks', { title: 'Ship it', projectId: project.id });
    await expect.poll(() => receiver.received.filter((message) => message.path === '/stm').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    const delivered = receiver.received.find((message) => message.path === '/stm')!;
    expect(JSON.parse(delivered.body)).toMatchObject({ type: 'task.created' });
    expect(signedBy(secret, delivered)).toBe(true);
    expect(signedBy('whsec_' + Buffer.from('another secret').toString('base64'), delivered)).toBe(false);

    await dialog.getByRole('button', { name: 'Send test' }).click();
    await page.getByText('Delivered.').waitFor();
    await dialog.getByRole('button', { name: 'Delivery log' }).click();
    const log = dialog.getByRole('table', { name: 'Delivery log' });
    await log.getByText('task.created').waitFor();
    await log.getByText('webhook.ping').waitFor();
    await screenshot(page, 'webhooks-project');
    await expectAccessible(page, 'the delivery log');

    await dialog.getByRole('button', { name: 'Disable' }).click();
    await dialog.getByText('Disabled', { exact: true }).waitFor();
    await page.getByLabel('Language').selectOption('es');
    await dialog.getByRole('button', { name: 'Activar' }).waitFor();
    await expectAccessible(page, 'webhooks in Spanish');
  });
});
