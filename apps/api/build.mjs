// Bundles the server and the CLI with the workspace packages and most npm dependencies inlined:
// one file to read instead of resolving and loading a few hundred modules through pnpm's
// symlinked node_modules, which took about a third of a second of every start. These stay
// external, resolved from node_modules at run time: they load files beside their own code (a
// native addon, WebAssembly and data files, static assets, worker scripts, their package.json),
// or are optional.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const EXTERNAL = [
  'bcrypt',
  // Tracing, loaded only when an OTLP endpoint is set; as packages of their own, so that a server
  // without one never loads them (and ioredis's instrumentation can patch it as it loads).
  '@fastify/otel',
  '@opentelemetry/*',
  '@electric-sql/pglite',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'ioredis',
  'pg-native',
  'pino',
  'pino-pretty',
  'pino-roll',
  'piscina',
  'tar',
];

// Chunks are named by their content, so a build leaves the earlier builds' chunks behind unless the
// folder starts empty, and the release (which copies dist/) would ship them all.
rmSync('dist', { recursive: true, force: true });

await build({
  entryPoints: ['src/server.ts', 'src/cli.ts'].filter((entry) => existsSync(entry)),
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // A dynamic import() of our own code (tracing) becomes a file loaded when called, not at start.
  splitting: true,
  sourcemap: true,
  logLevel: 'warning',
  external: EXTERNAL,
  // CommonJS dependencies inlined into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __stmCreateRequire } from 'node:module'; const require = __stmCreateRequire(import.meta.url);" },
});

// The password hasher starts its threads on this file, found beside the module that names it: in
// the bundle, that is dist/.
copyFileSync('../../packages/auth/src/password-worker.mjs', 'dist/password-worker.mjs');

// Embedded databases to start a new data dir from, migrated (the server) and as initdb leaves it
// (the operator's database commands): unpacking one costs a fraction of PGlite's initdb. Made
// with the PGlite the server will run, so the two always match.
const template = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--input-type=module',
    '--eval',
    "import { writePgliteTemplates } from '@stm/db'; await writePgliteTemplates({ migrated: 'dist/pglite-template.tar.gz', empty: 'dist/pglite-empty-template.tar.gz' });",
  ],
  { stdio: 'inherit' },
);
if (template.status !== 0) throw new Error('Could not make the embedded database templates in dist/');
