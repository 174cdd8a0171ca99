import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness';

const DIST = path.join(REPO_ROOT, 'apps/console/dist');
/** The performance budget: JavaScript a first visit downloads, gzipped. */
const FIRST_LOAD_BUDGET = 200 * 1024;

function read(file: string): string {
  return readFileSync(path.join(DIST, file), 'utf8');
}

describe('the production build', () => {
  const html = existsSync(path.join(DIST, 'index.html')) ? read('index.html') : '';

  it('exists (the test command builds it first)', () => {
    expect(html).not.toBe('');
  });

  it('has nothing inline that the API’s CSP (script-src/style-src self) would block', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((match) => match[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const attributes of scripts) expect(attributes).toMatch(/\bsrc="/);
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/);
  });

  it(`loads under ${FIRST_LOAD_BUDGET / 1024} kB of gzipped JavaScript first, without the admin area`, () => {
    const firstLoad = [
      ...[...html.matchAll(/<script\b[^>]*\bsrc="\/([^"]+)"/g)].map((match) => match[1] ?? ''),
      ...[...html.matchAll(/<link\b[^>]*rel="modulepreload"[^>]*href="\/([^"]+)"/g)].map((match) => match[1] ?? ''),
    ];
    const sizes = firstLoad.map((file) => ({ file, gzip: gzipSync(readFileSync(path.join(DIST, file))).length }));
    const total = sizes.reduce((sum, { gzip }) => sum + gzip, 0);
    console.info(`console first load: ${(total / 1024).toFixed(1)} kB gzip (${sizes.map((s) => `${s.file} ${(s.gzip / 1024).toFixed(1)} kB`).join(', ')})`);
    expect(total).toBeLessThan(FIRST_LOAD_BUDGET);
    expect(firstLoad.some((file) => file.includes('AdminArea'))).toBe(false);
    // The admin area exists, as a chunk of its own.
    expect(readdirSync(path.join(DIST, 'assets')).some((file) => /^AdminArea-.+\.js$/.test(file))).toBe(true);
  });

  it('holds a brotli and a gzip copy of every script and stylesheet, each the same file once unpacked', () => {
    const assets = readdirSync(path.join(DIST, 'assets')).filter((file) => /\.(js|css)$/.test(file));
    expect(assets.length).toBeGreaterThan(0);
    for (const file of assets) {
      const original = readFileSync(path.join(DIST, 'assets', file));
      if (original.length < 1024) continue;
      const br = readFileSync(path.join(DIST, 'assets', `${file}.br`));
      const gz = readFileSync(path.join(DIST, 'assets', `${file}.gz`));
      expect(brotliDecompressSync(br).equals(original), file).toBe(true);
      expect(gunzipSync(gz).equals(original), file).toBe(true);
      expect(br.length).toBeLessThan(original.length);
    }
  });
});
