import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { totpCodeAt } from '../../../packages/auth/src/totp';
import { buildStm, PASSWORD, startApi, type StmUser, stmUser, type TestApi } from './harness';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let secret: string;
let user: StmUser;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  let stm: string;
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('carol');
  const token = await api.signIn('carol');
  secret = (await api.caller(token).mfa.totpBegin()).secret;
  await api.caller(token).mfa.totpConfirm({ code: totpCodeAt(secret, Date.now()) });
  user = await stmUser(api, stm);
});

afterAll(async () => {
  await user?.dispose();
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe('stm login with a second factor', () => {
  it('without a terminal, asks for --code and saves nothing', async () => {
    const result = await user.run(['login', 'carol'], { stdin: `${PASSWORD}\n` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--code');
  });

  it('signs in with the password and the code of the authenticator app', async () => {
    const result = await user.run(['login', 'carol', '--code', totpCodeAt(secret, Date.now() + 30_000)], { stdin: `${PASSWORD}\n` });
    expect(result).toMatchObject({ code: 0, stdout: `Signed in as carol (user, id 1) at ${api.url}\n` });
    expect((await user.run(['whoami'])).code).toBe(0);
  });

  it('refuses a wrong code with its reason', async () => {
    const result = await user.run(['login', 'carol', '--code', '000000'], { stdin: `${PASSWORD}\n` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('MFA_CODE_INVALID');
  });
});
