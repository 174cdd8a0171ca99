import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordHasher } from './password';

const options = { cost: 4, concurrency: 2, maxQueue: 4 };

describe('the password hasher', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'stm-hasher-'));
  });
  afterAll(async () => {
    delete process.env.STM_TEST_LOADED_FILE;
    await rm(folder, { recursive: true, force: true });
  });

  it('hashes and verifies on its threads, then closes', async () => {
    const hasher = new PasswordHasher(options);
    try {
      const hash = await hasher.hash('a long enough passphrase');
      expect(await hasher.verify('a long enough passphrase', hash)).toBe(true);
      expect(await hasher.verify('another passphrase', hash)).toBe(false);
    } finally {
      await hasher.close();
    }
  });

  // A thread stopped while it loads bcrypt's native addon aborts the whole process ("terminate
  // called after throwing an instance of 'Napi::Error'"): the operator CLI did, exiting on an
  // error right after it started. However early it is closed, every thread loads first.
  it.each([1, 3])('closed right after start (%i calls at once), lets every thread load bcrypt before stopping it', async (closes) => {
    const loadedFile = path.join(folder, `loaded-${closes}`);
    // Threads copy the environment as they start.
    process.env.STM_TEST_LOADED_FILE = loadedFile;
    const hasher = new PasswordHasher({ ...options, workerFile: new URL('./fixtures/slow-password-worker.mjs', import.meta.url) });
    await Promise.all(Array.from({ length: closes }, () => hasher.close()));
    const threads = (await readFile(loadedFile, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    expect(new Set(threads).size, 'threads that loaded before they were stopped').toBe(options.concurrency);
  });
});
