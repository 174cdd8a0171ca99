// Packs what `pnpm build` made into one folder and tarball that runs with `node server.js` on a
// machine with only Node.js: the bundled server and CLI, the built console, the migrated template
// of the embedded database, and node_modules holding only the packages the bundle leaves external
// (a native addon, WebAssembly, worker scripts), at the versions the workspace pins.
//
//   node apps/api/release.mjs [--out <folder>]      (after the API and console builds; `pnpm release` does both)
//
// The folder mirrors the repository's layout (apps/api/dist, apps/console/dist), so the server
// finds the console and its defaults (.data, logs) relative to the folder, as it does in a checkout.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const API_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(API_DIR, '../..');
const NAME = 'secure-task-manager';

/** What the bundle and the password worker import at run time (see build.mjs's EXTERNAL). */
const RUNTIME_PACKAGES = [
  'bcrypt',
  '@electric-sql/pglite',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'ioredis',
  'pino',
  'pino-pretty',
  'pino-roll',
  'piscina',
  'tar',
  '@zxcvbn-ts/core',
  '@zxcvbn-ts/language-common',
  '@zxcvbn-ts/language-en',
  '@zxcvbn-ts/language-es-es',
  // Tracing (loaded only when an OTLP endpoint is set); prom-client needs the API too.
  '@fastify/otel',
  '@opentelemetry/api',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/instrumentation-ioredis',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/semantic-conventions',
];

const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(ROOT, 'release') } } });
const outDir = path.resolve(values.out);
const version = JSON.parse(readFileSync(path.join(API_DIR, 'package.json'), 'utf8')).version;
const folder = path.join(outDir, NAME);

for (const built of [
  'apps/api/dist/server.js',
  'apps/api/dist/cli.js',
  'apps/api/dist/pglite-template.tar.gz',
  'apps/api/dist/pglite-empty-template.tar.gz',
  'apps/console/dist/index.html',
]) {
  if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run \`pnpm release\`, which builds first`);
}

/** The workspace's pinned versions (pnpm-workspace.yaml's catalog). */
function catalogVersions() {
  const text = readFileSync(path.join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
  const section = text.slice(text.indexOf('\ncatalog:'));
  const versions = {};
  for (const match of section.matchAll(/^ {2}"?([^":\s]+)"?:\s*([^\s#]+)/gm)) versions[match[1]] = match[2];
  return versions;
}

const pinned = catalogVersions();
const dependencies = Object.fromEntries(
  RUNTIME_PACKAGES.map((name) => {
    if (!pinned[name]) throw new Error(`${name} has no version in pnpm-workspace.yaml's catalog`);
    return [name, pinned[name]];
  }),
);

rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
cpSync(path.join(API_DIR, 'dist'), path.join(folder, 'apps/api/dist'), { recursive: true });
cpSync(path.join(ROOT, 'apps/console/dist'), path.join(folder, 'apps/console/dist'), { recursive: true });
cpSync(path.join(ROOT, '.env.example'), path.join(folder, '.env.example'));
writeFileSync(path.join(folder, 'server.js'), "import './apps/api/dist/server.js';\n");
writeFileSync(path.join(folder, 'cli.js'), "import './apps/api/dist/cli.js';\n");
writeFileSync(
  path.join(folder, 'package.json'),
  `${JSON.stringify(
    {
      name: NAME,
      version,
      private: true,
      type: 'module',
      engines: { node: '>=20.19' },
      scripts: { start: 'node server.js', cli: 'node cli.js' },
      dependencies,
      // As the workspace does: one copy of the OpenTelemetry API, whose globals are per copy.
      overrides: { '@opentelemetry/api': pinned['@opentelemetry/api'] },
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  path.join(folder, 'README.txt'),
  `${NAME} ${version}

Run:      node server.js          (API and console on http://127.0.0.1:8000; HOST=0.0.0.0 to listen beyond this machine)
Operate:  node cli.js help        (users, signing keys, db:migrate, db:backup, db:restore)
Configure with environment variables or a .env file here: see .env.example.
Without DATABASE_URL the embedded database lives in DATA_DIR (./.data by default).
`,
);

// npm, which comes with Node.js, fetches exactly these packages for this platform (bcrypt's
// addon included); the lockfile it writes records what the release holds.
const npm = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: folder, stdio: 'inherit' });
if (npm.status !== 0) throw new Error('npm install failed in the release folder');

const tarball = path.join(outDir, `${NAME}-${version}.tar.gz`);
const tar = spawnSync('tar', ['-czf', tarball, '-C', outDir, NAME], { stdio: 'inherit' });
if (tar.status !== 0) throw new Error('tar failed');
process.stdout.write(`Release: ${folder}\n         ${tarball}\n`);
