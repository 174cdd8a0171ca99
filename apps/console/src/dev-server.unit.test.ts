import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from 'vite';

const configFile = fileURLToPath(new URL('../vite.config.ts', import.meta.url));

async function devServer(environment: Record<string, string>) {
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  const config = await resolveConfig({ configFile, mode: 'development', logLevel: 'silent' }, 'serve');
  const proxy = config.server.proxy as Record<string, { target: string }>;
  return { port: config.server.port, target: proxy['/trpc']?.target, docsTarget: proxy['/docs']?.target };
}

describe('the console under `pnpm dev`', () => {
  afterEach(() => vi.unstubAllEnvs());

  it("proxies to the API's PORT and HOST, and listens on CONSOLE_PORT", async () => {
    expect(await devServer({ HOST: '127.0.0.2', PORT: '8100', CONSOLE_PORT: '5200' })).toEqual({
      port: 5200,
      target: 'http://127.0.0.2:8100',
      docsTarget: 'http://127.0.0.2:8100',
    });
  });

  it('reaches an API listening on every address through loopback', async () => {
    expect((await devServer({ HOST: '0.0.0.0', PORT: '8100' })).target).toBe('http://127.0.0.1:8100');
    expect((await devServer({ HOST: '::', PORT: '8100' })).target).toBe('http://[::1]:8100');
  });
});
