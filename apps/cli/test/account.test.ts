import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildStm, startApi, type StmUser, stmUser, type TestApi } from './harness';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let rita: StmUser;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  let stm: string;
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('rita');
  rita = await stmUser(api, stm);
  expect((await rita.login('rita')).code).toBe(0);
});

afterAll(async () => {
  await rita?.dispose();
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** The code of the newest mail of `kind` to `to`: without PUBLIC_URL the mail gives the token itself. */
async function codeMailedTo(to: string, kind: string): Promise<string> {
  await api.app.services.passwordResets.idle();
  const mail = await api.database.db
    .selectFrom('mail_outbox')
    .select('text_body')
    .where('kind', '=', kind)
    .where('to_address', '=', to)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  const code = /enter this code:\n\n([A-Za-z0-9_-]{43})/.exec(mail?.text_body ?? '')?.[1];
  if (!code) throw new Error(`no ${kind} code mailed to ${to}`);
  return code;
}

describe('stm account email and forgot-password', () => {
  it('sets an address, confirms it with the mailed code, and asks for a reset link', async () => {
    expect(await rita.run(['account', 'email'])).toMatchObject({ code: 0, stdout: 'Confirmed address: none\n' });
    expect((await rita.run(['account', 'email', 'set', 'not an address'])).code).toBe(2);
    const set = await rita.run(['account', 'email', 'set', 'rita@example.test']);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toContain('Waiting for confirmation: rita@example.test');

    const code = await codeMailedTo('rita@example.test', 'email-verification');
    // A code can begin with "-" (one in 64 does): after --, it is never read as an option.
    expect(await rita.run(['account', 'email', 'verify', '--', code])).toMatchObject({ code: 0, stdout: 'Confirmed: rita@example.test\n' });
    expect((await rita.run(['account', 'email', 'verify', '--', code])).code).toBe(1);
    expect(await rita.run(['account', 'email'])).toMatchObject({ code: 0, stdout: 'Confirmed address: rita@example.test\n' });

    for (const who of ['rita', 'nobody_at_all']) {
      expect(await rita.run(['forgot-password', who])).toMatchObject({
        code: 0,
        stdout: 'If an account matches and has a confirmed email address, a reset link is on its way\n',
      });
    }
    expect(await codeMailedTo('rita@example.test', 'password-reset')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
