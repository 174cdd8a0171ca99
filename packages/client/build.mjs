/**
 * The package as it is packed: `dist/index.js` (the client, ESM; @trpc/* stay imports, as peer
 * dependencies), `dist/index.d.ts`, and `dist/router.d.ts`, the router's type spelled out with
 * nothing of the server (scripts/router-types.mjs). Within the workspace nobody needs this:
 * `src/` is imported directly.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: [path.join(here, 'src/index.ts')],
  outfile: path.join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['@trpc/client', '@trpc/server', '@trpc/server/*', 'eventsource'],
  logLevel: 'warning',
});

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
// Node's resolution (`nodenext`) needs the extension; bundlers take it too.
const index = path.join(dist, 'index.d.ts');
writeFileSync(index, readFileSync(index, 'utf8').replaceAll(`from './router'`, `from './router.js'`));
execFileSync(process.execPath, [path.join(here, 'scripts/router-types.mjs'), path.join(dist, 'router.d.ts')], { stdio: 'inherit' });
