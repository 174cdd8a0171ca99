/**
 * The package as another team gets it: packed to a tarball, installed with npm from the public
 * registry into an app in a temporary folder outside this workspace (only the tarball and its
 * peer dependencies), type-checked there (a deliberate type error in a second file must fail the
 * check), and run against a live API with an API token, and with a username and password.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestApp, PASSWORD, type TestApp } from '@stm/api/testing';
import { builtAfter } from '@stm/api/testing/bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const workspaceDir = path.resolve(packageDir, '../..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** What the package's build reads: its own files, and the sources of the router whose types it spells out. */
const PACKAGE_SOURCES = ['src', 'scripts', 'build.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
const ROUTER_SOURCES = ['apps/api/src', 'packages/validators/src', 'packages/db/src', 'packages/auth/src', 'tooling/typescript'];
const peers = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')).peerDependencies as Record<string, string>;

const MAIN = `
import { createStmClient, reasonOf, type RouterInputs, type RouterOutputs } from '@stm/client';

// The app needs no Node type definitions for this one global.
declare const process: { env: Record<string, string | undefined> };

const url = process.env.STM_URL!;
const stm = createStmClient({ url, token: process.env.STM_TOKEN! });

const me: RouterOutputs['auth']['me'] = await stm.auth.me.query();
const input: RouterInputs['tasks']['create'] = { title: 'Written by another app', priority: 'high' };
const created = await stm.tasks.create.mutate(input);
const title: string = created.title;
const listed = await stm.tasks.list.query({ limit: 10 });
let adminRefusal: string | undefined;
try {
  await stm.admin.users.list.query({});
} catch (error) {
  adminRefusal = reasonOf(error);
}

const person = createStmClient({ url, username: process.env.STM_USERNAME!, password: process.env.STM_PASSWORD! });
const again = await person.auth.me.query();

console.log(JSON.stringify({ me: me.username, title, listed: listed.items.length, adminRefusal, signedIn: again.username }));
`;

const BAD = `
import { createStmClient } from '@stm/client';

const stm = createStmClient({ url: 'http://127.0.0.1:1', token: 'stm_pat_x' });
// A title is a string, and there is no such field as "colour": both must be type errors.
await stm.tasks.create.mutate({ title: 42, colour: 'red' });
`;

function tsconfig(files: string[], outDir?: string) {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'DOM'],
      types: [],
      strict: true,
      // @trpc/server's own declarations name Node modules this app has no types for; ours are
      // held to account by the second file, which fails only if the router's types are real.
      skipLibCheck: true,
      ...(outDir ? { outDir } : { noEmit: true }),
    },
    files,
  });
}

describe('the packed @stm/client in an app outside the workspace', () => {
  let appDir: string;
  let t: TestApp;
  let url: string;
  let token: string;

  beforeAll(async () => {
    appDir = mkdtempSync(path.join(tmpdir(), 'stm-client-app-'));
    expect(path.relative(workspaceDir, appDir).startsWith('..')).toBe(true);
    // Packing builds the package first (prepack), unless a build (`pnpm build`) left dist newer than its sources.
    const built = builtAfter(
      ['index.js', 'index.d.ts', 'router.d.ts'].map((file) => path.join(packageDir, 'dist', file)),
      [...PACKAGE_SOURCES.map((source) => path.join(packageDir, source)), ...ROUTER_SOURCES.map((source) => path.join(workspaceDir, source))],
    );
    await run('pnpm', ['--filter', '@stm/client', 'pack', '--pack-destination', appDir, ...(built ? ['--config.ignore-scripts=true'] : [])], {
      cwd: workspaceDir,
    });
    const tarball = readdirSync(appDir).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('pnpm pack made no tarball');
    writeFileSync(
      path.join(appDir, 'package.json'),
      JSON.stringify({ name: 'throwaway-app', private: true, type: 'module', dependencies: { '@stm/client': `file:./${tarball}`, ...peers } }),
    );
    // Only the tarball and its peer dependencies, from the public registry.
    await run('npm', ['install', '--no-audit', '--no-fund', '--registry=https://registry.npmjs.org/'], { cwd: appDir, timeout: 180_000 });

    t = await createTestApp();
    url = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
    await t.caller().auth.register({ username: 'outside_app', password: PASSWORD });
    const signedIn = await t.caller().auth.login({ username: 'outside_app', password: PASSWORD });
    const created = await t.caller(signedIn.access_token).tokens.create({ name: 'outside app', scopes: ['tasks:read', 'tasks:write'], expiresInDays: 1 });
    token = created.token;
  }, 300_000);

  afterAll(async () => {
    await t?.close();
    if (appDir) rmSync(appDir, { recursive: true, force: true });
  });

  it('depends on an EventSource that can send a bearer token and nothing else, @trpc as peers, and ships nothing of the server', () => {
    const installed = path.join(appDir, 'node_modules/@stm/client');
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['eventsource']);
    expect(manifest.dependencies.eventsource).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.devDependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['@trpc/client', '@trpc/server']);
    expect(readdirSync(path.join(installed, 'dist')).sort()).toEqual(['index.d.ts', 'index.js', 'router.d.ts']);
    for (const file of readdirSync(path.join(installed, 'dist'))) {
      const text = readFileSync(path.join(installed, 'dist', file), 'utf8');
      for (const word of ['@stm/api', '@stm/db', '@stm/auth', 'kysely', 'fastify', 'pglite', 'bcrypt', 'ioredis']) {
        expect(text.includes(word), `${file} mentions ${word}`).toBe(false);
      }
    }
    // npm installs peers of peers too: @trpc/server asks for a TypeScript (types only).
    const trpcPeers = ['client', 'server'].flatMap((name) =>
      Object.keys(JSON.parse(readFileSync(path.join(appDir, 'node_modules/@trpc', name, 'package.json'), 'utf8')).peerDependencies ?? {}),
    );
    const modules = readdirSync(path.join(appDir, 'node_modules')).filter((name) => !name.startsWith('.'));
    const unexpected = modules.filter(
      (name) => !['@stm', '@trpc', '@typescript', 'eventsource', 'eventsource-parser'].includes(name) && !trpcPeers.includes(name),
    );
    expect(unexpected).toEqual([]);
    expect(readdirSync(path.join(appDir, 'node_modules/@stm'))).toEqual(['client']);
  });

  it('type-checks a program that uses it, reading no declaration of the server', async () => {
    writeFileSync(path.join(appDir, 'main.ts'), MAIN);
    writeFileSync(path.join(appDir, 'tsconfig.json'), tsconfig(['main.ts'], 'out'));
    const { stdout } = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--listFiles'], { cwd: appDir }).catch((error: unknown) => {
      throw new Error(`The program does not type-check:\n${(error as { stdout: string }).stdout}`);
    });
    const read = stdout.split('\n').filter((line) => line.endsWith('.d.ts'));
    expect(read.some((file) => file.endsWith('@stm/client/dist/router.d.ts'))).toBe(true);
    const foreign = read.filter(
      (file) => !file.includes('/typescript/lib/') && !file.includes('/node_modules/@trpc/') && !file.includes('/node_modules/@stm/client/'),
    );
    expect(foreign).toEqual([]);
    expect(read.some((file) => file.startsWith(workspaceDir) && !file.includes('/typescript/lib/'))).toBe(false);
  });

  it('a type error in a second file fails the check, naming it', async () => {
    writeFileSync(path.join(appDir, 'bad.ts'), BAD);
    writeFileSync(path.join(appDir, 'tsconfig.bad.json'), tsconfig(['bad.ts']));
    const failed = await run(process.execPath, [tsc, '-p', 'tsconfig.bad.json'], { cwd: appDir }).then(
      () => undefined,
      (error: unknown) => (error as { stdout: string }).stdout,
    );
    expect(failed).toBeDefined();
    expect(failed).toMatch(/bad\.ts\(\d+,\d+\): error TS2322/);
  });

  it('runs against a live API with an API token, and with a username and password', async () => {
    const { stdout } = await run(process.execPath, ['out/main.js'], {
      cwd: appDir,
      env: { ...process.env, STM_URL: url, STM_TOKEN: token, STM_USERNAME: 'outside_app', STM_PASSWORD: PASSWORD },
    });
    expect(JSON.parse(stdout.trim())).toEqual({
      me: 'outside_app',
      title: 'Written by another app',
      listed: 1,
      adminRefusal: 'TOKEN_SCOPE_MISSING',
      signedIn: 'outside_app',
    });
  });
});
