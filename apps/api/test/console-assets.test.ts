import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers';

/** A console build as `vite build` leaves it: each asset beside its brotli and gzip copies. */
const SCRIPT = `export const greeting = ${JSON.stringify('hello '.repeat(2000))};\n`;
const STYLE = `body { color: black; }\n${'.row { margin: 0; }\n'.repeat(500)}`;

let t: TestApp;
let root: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'stm-console-'));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>');
  for (const [file, text] of [
    ['assets/index-abc123.js', SCRIPT],
    ['assets/index-def456.css', STYLE],
  ] as const) {
    writeFileSync(path.join(root, file), text);
    writeFileSync(path.join(root, `${file}.br`), brotliCompressSync(text));
    writeFileSync(path.join(root, `${file}.gz`), gzipSync(text));
  }
  t = await createTestApp({ CONSOLE_DIR: root });
});
afterAll(async () => {
  await t.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (url: string, acceptEncoding?: string) =>
  t.app.inject({ method: 'GET', url, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

describe('the console’s assets', () => {
  it('are served precompressed with brotli to a browser that takes it, saying so and varying on Accept-Encoding', async () => {
    const response = await get('/assets/index-abc123.js', 'gzip, deflate, br, zstd');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe('br');
    expect(response.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(String(response.headers.vary).toLowerCase()).toContain('accept-encoding');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(brotliDecompressSync(response.rawPayload).toString()).toBe(SCRIPT);
    expect(response.rawPayload.length).toBeLessThan(SCRIPT.length / 10);
  });

  it('fall back to gzip, then to the file itself, by what the client accepts', async () => {
    const gzip = await get('/assets/index-def456.css', 'gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.headers['content-type']).toMatch(/^text\/css/);
    expect(String(gzip.headers.vary).toLowerCase()).toContain('accept-encoding');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(STYLE);

    for (const acceptEncoding of [undefined, 'identity']) {
      const plain = await get('/assets/index-abc123.js', acceptEncoding);
      expect(plain.statusCode).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      // The uncompressed answer varies too, or a shared cache could hand it to a browser that takes brotli.
      expect(String(plain.headers.vary).toLowerCase()).toContain('accept-encoding');
      expect(plain.body).toBe(SCRIPT);
    }
  });

  it('still serve the app at client-side routes', async () => {
    const route = await get('/tasks?status=todo', 'br, gzip');
    expect(route.statusCode).toBe(200);
    expect(route.headers['content-type']).toMatch(/^text\/html/);
    expect(route.body).toContain('/assets/index-abc123.js');
  });

  it('are not what /metrics answers when metrics are not served on this port: a 404 problem, as for any API path', async () => {
    const metrics = await get('/metrics');
    const unknown = await get('/healthz/unknown');
    expect(metrics.statusCode).toBe(404);
    expect(metrics.headers['content-type']).toBe(unknown.headers['content-type']);
    expect(metrics.json()).toMatchObject({ ...unknown.json(), message: 'No route GET /metrics' });
  });
});
