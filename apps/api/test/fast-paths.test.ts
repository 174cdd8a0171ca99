/**
 * FAST_PATHS picks the library's own code or this project's re-implementation of it (src/fastpath/):
 * the `stock` Vitest project runs every test with it off, and this file says which ran.
 */
import { compilesEachQuery } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/env';
import { createTestApp, stockLibraries, type TestApp } from './helpers';

const stock = stockLibraries();

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe(`FAST_PATHS in this run: ${stock ? 'off (stock libraries)' : 'on'}`, () => {
  it('registers the adapters of its mode: tRPC’s and trpc-to-openapi’s own, or the fast ones', () => {
    const plugins = t.app.printPlugins();
    if (stock) {
      expect(plugins).toContain('trpcStockRoutes');
      expect(plugins).toContain('openApiStockRoutes');
      expect(plugins).not.toMatch(/\btrpcRoutes\b/);
      expect(plugins).not.toMatch(/\brestBridge\b/);
    } else {
      expect(plugins).toMatch(/\btrpcRoutes\b/);
      expect(plugins).toMatch(/\brestBridge\b/);
      expect(plugins).not.toContain('StockRoutes');
    }
  });

  it('has the database compile each query with Kysely only in stock mode', () => {
    expect(compilesEachQuery(t.database.db)).toBe(stock);
  });
});

describe('FAST_PATHS setting', () => {
  const parse = (value: string) => loadConfig({ NODE_ENV: 'test', SECRET_KEY: 'x'.repeat(40), FAST_PATHS: value }).fastPaths;

  it('turns every fast path on or off, or names some', () => {
    expect(Object.values(parse('true')).every(Boolean)).toBe(true);
    expect(Object.values(parse('false')).some(Boolean)).toBe(false);
    expect(parse('trpc,rest')).toMatchObject({ trpc: true, rest: true, zod: false, statements: false });
    expect(parse('-zod')).toMatchObject({ trpc: true, zod: false, rest: true });
  });

  it('refuses a name it does not know, and a mix of added and taken names', () => {
    expect(() => parse('trpc,nope')).toThrow(/FAST_PATHS/);
    expect(() => parse('trpc,-zod')).toThrow(/FAST_PATHS/);
  });
});
