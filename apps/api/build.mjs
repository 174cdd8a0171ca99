// Bundles the server and the CLI with the workspace packages inlined (they ship TypeScript
// source) and every npm dependency left external, to be resolved from node_modules at run time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['src/server.ts', 'src/cli.ts'].filter((entry) => existsSync(entry)),
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-npm-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.kind === 'entry-point' || args.path.startsWith('@stm/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});

// A migrated embedded database to start a new data dir from: PGlite's initdb takes ~5 s, unpacking
// this ~0.4 s. Made with the PGlite the server will run, so the two always match.
const template = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--input-type=module', '--eval', "import { writePgliteTemplate } from '@stm/db'; await writePgliteTemplate('dist/pglite-template.tar.gz');"],
  { stdio: 'inherit' },
);
if (template.status !== 0) throw new Error('Could not make dist/pglite-template.tar.gz');
