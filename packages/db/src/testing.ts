/**
 * Fresh databases for tests: one per test file, cloned from a template that is migrated once per
 * run, so files run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type DatabaseHandle, type DbConfig } from './client';
import type { DbFastPaths } from './fastpath/switch';
import { migrateToLatest } from './migrate';
import { SHORT_LIVED_SHARED_BUFFERS } from './pglite';
import { dumpMigratedPglite } from './pglite-template';
import { isProcessAlive } from './process';

export type TestTemplate = ({ driver: 'pglite'; dumpPath: string } | { driver: 'postgres'; adminUrl: string; templateName: string }) & {
  /** False: the databases cloned from it run the library's own way, none of `src/fastpath/` (the `stock` project). */
  fastPaths?: boolean;
};

const STOCK: DbFastPaths = { statements: false };

export interface TestDatabase extends DatabaseHandle {
  /** postgres:// URL of this database, for tests that start separate processes. */
  url: string | undefined;
}

const RUN_PREFIX = 'stm_test_';

/** Migrates a template of the chosen driver; returns it and a function that removes it. */
export async function prepareTestTemplate(driver: 'pglite' | 'postgres', adminUrl?: string): Promise<{ template: TestTemplate; dispose: () => Promise<void> }> {
  if (driver === 'pglite') {
    // Uncompressed: every test file loads it, and gunzip would cost each of them.
    const dump = await dumpMigratedPglite('none');
    const dumpPath = path.join(os.tmpdir(), `stm-pglite-template-${process.pid}-${randomBytes(4).toString('hex')}.tar`);
    await writeFile(dumpPath, dump);
    return { template: { driver, dumpPath }, dispose: () => rm(dumpPath, { force: true }) };
  }
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is required for PostgreSQL tests');
  const templateName = `${RUN_PREFIX}template_${process.pid}_${randomBytes(3).toString('hex')}`;
  await dropStaleTestDatabases(adminUrl);
  await adminQuery(adminUrl, `create database ${templateName}`);
  const handle = await createDb({ databaseUrl: withDatabase(adminUrl, templateName), pool: { max: 2 } });
  try {
    await migrateToLatest(handle.db);
  } finally {
    await handle.close();
  }
  return {
    template: { driver, adminUrl, templateName },
    dispose: async () => {
      await adminQuery(adminUrl, `drop database if exists ${templateName} with (force)`);
    },
  };
}

/**
 * The template's dump, read once per process: PGlite only reads the Blob it starts from, and
 * reading the file again (tens of megabytes) cost each new database a good part of its start.
 */
const pgliteDumps = new Map<string, Promise<Blob>>();
function pgliteDump(dumpPath: string): Promise<Blob> {
  let dump = pgliteDumps.get(dumpPath);
  if (!dump) {
    dump = readFile(dumpPath).then((bytes) => new Blob([bytes]));
    // A failed read is not kept: the next database tries again.
    dump.catch(() => pgliteDumps.delete(dumpPath));
    pgliteDumps.set(dumpPath, dump);
  }
  return dump;
}

export async function createTestDatabase(template: TestTemplate, given: Pick<DbConfig, 'observeQuery' | 'fastPaths'> = {}): Promise<TestDatabase> {
  const options = template.fastPaths === false && given.fastPaths === undefined ? { ...given, fastPaths: STOCK } : given;
  if (template.driver === 'pglite') {
    const dump = await pgliteDump(template.dumpPath);
    const handle = await createDb({ pgliteLoadDataDir: dump, pgliteSharedBuffers: SHORT_LIVED_SHARED_BUFFERS, ...options });
    return { ...handle, url: undefined };
  }
  const name = `${RUN_PREFIX}${process.pid}_${randomBytes(6).toString('hex')}`;
  // Cloning needs the template to have no other session; clones started at the same moment can
  // collide on that check, so they retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(template.adminUrl, `create database ${name} template ${template.templateName}`);
      break;
    } catch (error) {
      if (attempt >= 20 || !/being accessed by other users/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
  const url = withDatabase(template.adminUrl, name);
  const handle = await createDb({ databaseUrl: url, pool: { max: 10 }, ...options });
  return {
    ...handle,
    url,
    async close() {
      await handle.close();
      await adminQuery(template.adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(adminUrl: string, statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Databases left by runs that were killed before they could clean up (their process is gone). */
async function dropStaleTestDatabases(adminUrl: string): Promise<void> {
  const { rows } = await adminQuery(adminUrl, `select datname from pg_database where datname like '${RUN_PREFIX}%'`);
  for (const { datname } of rows as { datname: string }[]) {
    const pid = Number(/^stm_test_(?:template_)?(\d+)_/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && !isProcessAlive(pid)) {
      await adminQuery(adminUrl, `drop database if exists ${datname} with (force)`).catch(() => {});
    }
  }
}
