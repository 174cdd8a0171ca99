import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv, type Plugin } from 'vite';

/** Where the API reads its `.env` (apps/api/src/env.ts), so both sides agree on its address. */
const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url));
// Everything the API answers itself; the rest is the app (client-side routes).
const API_PATHS = ['/trpc', '/api', '/docs', '/openapi.json', '/.well-known', '/healthz', '/readyz'];

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);
/** Text worth compressing; images other than SVG, and fonts, are compressed already. */
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map)$/;
/** Below this a compressed copy saves less than its headers cost. */
const MIN_BYTES = 1024;

/**
 * Writes `name.br` and `name.gz` beside each text file of the build, at the highest levels:
 * compressed once here, the server sends the copy a browser accepts (never compressing per
 * request).
 */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'stm-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    async writeBundle(_options, bundle) {
      const files = Object.values(bundle)
        .map((output) => ({ name: output.fileName, data: output.type === 'chunk' ? output.code : output.source }))
        .filter(({ name, data }) => COMPRESSIBLE.test(name) && Buffer.byteLength(data) >= MIN_BYTES);
      await Promise.all(
        files.map(async ({ name, data }) => {
          const file = path.join(outDir, name);
          const input = Buffer.from(data);
          const [br, gz] = await Promise.all([
            brotli(input, {
              params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: input.length },
            }),
            gzipped(input, { level: constants.Z_BEST_COMPRESSION }),
          ]);
          await Promise.all([writeFile(`${file}.br`, br), writeFile(`${file}.gz`, gz)]);
        }),
      );
    },
  };
}

/**
 * The API as `pnpm dev` starts it: its HOST and PORT (the environment, then the root `.env`, as
 * the API reads them). A wildcard listen address is reached on loopback.
 */
function apiOrigin(env: Record<string, string>): string {
  const host = env.HOST || '127.0.0.1';
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${env.PORT || '8000'}`;
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, ROOT_DIR, ['HOST', 'PORT', 'CONSOLE_PORT']);
  const target = apiOrigin(env);
  const proxy = Object.fromEntries(API_PATHS.map((path) => [path, { target, changeOrigin: false }]));
  // strictPort: a console moved to another port silently would not be where the developer looks.
  const port = Number(env.CONSOLE_PORT || 5173);
  return {
    plugins: [react(), precompress()],
    server: { host: '127.0.0.1', port, strictPort: true, proxy },
    preview: { host: '127.0.0.1', port: 4173, strictPort: true, proxy },
    build: {
      target: 'es2022',
      // The API serves this build under `script-src 'self'; style-src 'self'`: no inline preload
      // polyfill script, no assets inlined as data: URLs.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
    },
  };
});
