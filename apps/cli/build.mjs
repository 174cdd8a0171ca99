// Bundles the client and everything it imports into one file: Node 20 runs it anywhere with
// nothing installed beside it, and it starts several times faster than compiling the source on
// the way in (bin/stm.js, for working in this repository). `node build.mjs [outfile]`.
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.resolve(process.argv[2] ?? path.join(here, 'dist/stm.js'));

await build({
  entryPoints: [path.join(here, 'src/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // The prompt library's CommonJS dependencies require Node's modules, which an ES module bundle
  // can only do through a `require` of its own.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __stmCreateRequire } from 'node:module'; const require = __stmCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
