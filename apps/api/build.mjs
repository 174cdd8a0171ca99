// Bundles the server and the CLI with the workspace packages inlined (they ship TypeScript
// source) and every npm dependency left external, to be resolved from node_modules at run time.
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
