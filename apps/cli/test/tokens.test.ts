import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildStm, runStm, startApi, type StmUser, stmUser, type TestApi } from './harness';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let api: TestApi;
let buildDir: string;
let stm: string;
let user: StmUser;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-build-'));
  [api, stm] = await Promise.all([startApi(), buildStm(buildDir)]);
  await api.register('tokens_cli');
  user = await stmUser(api, stm);
  expect((await user.login('tokens_cli')).code).toBe(0);
});

afterAll(async () => {
  await user?.dispose();
  await api?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** `stm` with STM_TOKEN and no session of its own (a fresh config folder), as a CI job runs it. */
async function withToken(token: string, args: string[]) {
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'stm-cli-token-'));
  try {
    return await runStm(args, { entry: stm, apiUrl: api.url, configDir, env: { STM_TOKEN: token } });
  } finally {
    await rm(configDir, { recursive: true, force: true });
  }
}

describe('stm tokens', () => {
  it('creates a token shown once, which scripts use as STM_TOKEN within its scopes, lists it, and revokes it', async () => {
    const created = await user.run(['tokens', 'create', 'ci job', '--scope', 'tasks:read', '--days', '7', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; token: string; scopes: string[] };
    expect(token.token).toMatch(/^stm_pat_/);
    expect(token.scopes).toEqual(['tasks:read']);

    const whoami = await withToken(token.token, ['whoami', '--json']);
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout).username).toBe('tokens_cli');
    expect((await withToken(token.token, ['tasks', 'ls'])).code).toBe(0);

    const write = await withToken(token.token, ['tasks', 'add', 'Not allowed', '--json']);
    expect(write.code).toBe(1);
    expect(JSON.parse(write.stderr).error).toMatchObject({ reason: 'TOKEN_SCOPE_MISSING' });

    const listed = await user.run(['tokens', 'ls']);
    expect(listed.stdout).toContain('ci job');
    expect(listed.stdout).not.toContain(token.token);

    // A token cannot make tokens, whatever it may do.
    const nested = await withToken(token.token, ['tokens', 'create', 'nested', '--scope', 'tasks:read', '--days', '1', '--json']);
    expect(JSON.parse(nested.stderr).error).toMatchObject({ reason: 'TOKEN_NOT_ALLOWED' });

    expect((await user.run(['tokens', 'revoke', token.id])).code).toBe(0);
    const refused = await withToken(token.token, ['whoami']);
    expect(refused.code).toBe(3);
  });

  it('refuses a token without an expiry or scope before sending anything', async () => {
    const missing = await user.run(['tokens', 'create', 'no expiry', '--scope', 'tasks:read']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('expiresInDays');
  });
});
