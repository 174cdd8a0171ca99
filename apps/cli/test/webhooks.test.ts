import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Receiver, startReceiver, verify } from '@stm/api/testing';
import { buildStm, startApi, type StmUser, stmUser, type TestApi } from './harness';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let stm: string;
let user: StmUser;
let receiver: Receiver;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  // The receiver listens on loopback, which only WEBHOOK_ALLOW_PRIVATE lets webhooks reach.
  [api, stm, receiver] = await Promise.all([startApi({ WEBHOOK_ALLOW_PRIVATE: 'true' }), buildStm(buildDir), startReceiver()]);
  await api.register('hooks_cli');
  user = await stmUser(api, stm);
  expect((await user.login('hooks_cli')).code).toBe(0);
});

afterAll(async () => {
  await user?.dispose();
  await api?.close();
  await receiver?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe('stm webhooks', () => {
  it("adds a project's webhook, tests it, shows its log, rotates its secret and deletes it", async () => {
    const project = await api.caller(await api.signIn('hooks_cli')).projects.create({ name: 'CLI hooks' });
    const place = ['--project', String(project.id)];
    const added = await user.run(['webhooks', 'add', receiver.url(), ...place, '--event', 'task.*,comment.created', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const endpoint = JSON.parse(added.stdout) as { id: number; secret: string; eventTypes: string[] };
    expect(endpoint.eventTypes).toEqual(['task.*', 'comment.created']);

    const tested = await user.run(['webhooks', 'test', String(endpoint.id), ...place]);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toContain('delivered 200 webhook.ping');
    expect(verify(endpoint.secret, receiver.received[0] as never)).toMatchObject({ type: 'webhook.ping' });

    const listed = await user.run(['webhooks', 'ls', ...place]);
    expect(listed.stdout).toContain(receiver.url());
    expect(listed.stdout).not.toContain(endpoint.secret);
    expect((await user.run(['webhooks', 'log', String(endpoint.id), ...place])).stdout).toContain('webhook.ping');

    const rotated = await user.run(['webhooks', 'rotate', String(endpoint.id), ...place, '--overlap-hours', '0', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout).secret).not.toBe(endpoint.secret);

    // Whose webhooks must be said; global ones are administrators'.
    expect((await user.run(['webhooks', 'ls'])).code).not.toBe(0);
    expect((await user.run(['webhooks', 'ls', '--global'])).code).not.toBe(0);

    expect((await user.run(['webhooks', 'rm', String(endpoint.id), ...place])).code).toBe(0);
    expect((await user.run(['webhooks', 'ls', ...place])).stdout).toContain('No webhooks');
  });
});
