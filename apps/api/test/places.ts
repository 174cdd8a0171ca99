/**
 * Empty places for a database, as an operator would point a process at one: a new PostgreSQL
 * database, or an empty DATA_DIR for the embedded one (which only one process may open at a time).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, type DatabaseHandle, SHORT_LIVED_SHARED_BUFFERS, sql } from '@stm/db';
import { type TestDatabase, withDatabase } from '@stm/db/testing';
import { inject } from 'vitest';
import { BUILT_EMPTY_TEMPLATE } from './bundle';

/** Where a database can live: the CLI reaches it through `env`, the test through `open()`. */
export interface Place {
  driver: 'postgres' | 'pglite';
  env: Record<string, string>;
  open(): Promise<TestDatabase>;
  dispose(): Promise<void>;
}

/** A new, empty PostgreSQL database, named so a killed run's leftovers are dropped by the next one. */
export async function postgresPlace(): Promise<Place> {
  const template = inject('dbTemplate');
  if (template.driver !== 'postgres') throw new Error('expected a PostgreSQL template');
  const name = `stm_test_${process.pid}_place_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    // Creating and dropping databases waits for a checkpoint: slow on a busy server.
    const server = await createDb({ databaseUrl: template.adminUrl, pool: { max: 1, statementTimeoutMillis: 120_000 } });
    try {
      await sql.raw(statement).execute(server.db);
    } finally {
      await server.close();
    }
  };
  await admin(`create database ${name}`);
  const url = withDatabase(template.adminUrl, name);
  return {
    driver: 'postgres',
    env: { DATABASE_URL: url },
    open: async () => ({ ...(await createDb({ databaseUrl: url, pool: { max: 2 } })), url }),
    dispose: () => admin(`drop database if exists ${name} with (force)`),
  };
}

/**
 * A new, empty folder for the embedded database. Opened first by the test, it is started as the
 * operator's commands start one: from the build's unmigrated template when there is one, else
 * by initdb.
 */
export async function pglitePlace(): Promise<Place> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stm-test-place-'));
  return {
    driver: 'pglite',
    env: { DATA_DIR: dataDir },
    open: async () => ({
      ...(await createDb({ dataDir, pgliteTemplate: BUILT_EMPTY_TEMPLATE, pgliteSharedBuffers: SHORT_LIVED_SHARED_BUFFERS })),
      url: undefined,
    }),
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
}

/** Disposes every place, each even when another fails; then reports the first failure. */
export async function disposeAll(places: Place[]): Promise<void> {
  let firstFailure: unknown;
  for (const place of places) {
    await place.dispose().catch((error: unknown) => {
      firstFailure ??= error;
    });
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- the first failure goes on as it was thrown
  if (firstFailure) throw firstFailure;
}

/** The place's database, open for `work` and closed after it. */
export async function usingDatabase<T>(place: Place, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const database = await place.open();
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}
