import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kysely, PGliteDialect } from 'kysely';
import { pgliteOptions } from './pglite';
import { migrateToLatest } from './migrate';
import type { Database } from './schema';

/**
 * A new embedded database with every migration applied, as the tar archive PGlite dumps (gzip
 * unless told otherwise). Creating a database from nothing runs PostgreSQL's initdb, which takes
 * seconds; unpacking this takes a fraction of that. Made once per test run for the test databases.
 */
export async function dumpMigratedPglite(compression: 'gzip' | 'none' = 'gzip'): Promise<Buffer> {
  return (await dumpPgliteDatabases(compression, { empty: false })).migrated;
}

/**
 * New embedded databases from one initdb, as PGlite dumps them: `migrated`, with every migration
 * applied (a server's first start), and when asked for, `empty`, as initdb leaves it (for the
 * commands that must find the schema as it is: db:migrate, db:restore).
 */
async function dumpPgliteDatabases(compression: 'gzip' | 'none', wanted: { empty: boolean }): Promise<{ empty?: Buffer; migrated: Buffer }> {
  const { PGlite, create } = await pgliteOptions();
  const pglite = await PGlite.create(create);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  // What a dump holds is then in the data files, not only in the write-ahead log.
  const dump = async () => {
    await pglite.exec('checkpoint');
    return Buffer.from(await (await pglite.dumpDataDir(compression)).arrayBuffer());
  };
  try {
    const empty = wanted.empty ? await dump() : undefined;
    await migrateToLatest(db);
    return { ...(empty ? { empty } : {}), migrated: await dump() };
  } finally {
    await db.destroy();
  }
}

/**
 * Writes the embedded database templates a new data dir starts from (see `dumpPgliteDatabases`),
 * each whole or not at all. Made at build time, beside the bundle.
 */
export async function writePgliteTemplates(files: { empty: string; migrated: string }): Promise<void> {
  const { empty, migrated } = await dumpPgliteDatabases('gzip', { empty: true });
  for (const [file, dump] of [
    [files.empty, empty],
    [files.migrated, migrated],
  ] as const) {
    if (!dump) throw new Error('no dump of the unmigrated database was made');
    await mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    await writeFile(partial, dump);
    await rename(partial, file);
  }
}

/**
 * Fills the embedded database's folder `target` from `template` when the folder does not exist
 * yet; returns whether it did. The archive is unpacked beside it and renamed into place, so an
 * interrupted first start leaves either no database folder or a whole one. A folder that exists,
 * in any state, is left to PGlite.
 */
export async function unpackPgliteTemplate(template: string, target: string): Promise<boolean> {
  if (existsSync(target) || !existsSync(template)) return false;
  const { extract } = await import('tar');
  const unpacking = `${target}.unpacking-${process.pid}`;
  await rm(unpacking, { recursive: true, force: true });
  // The folder's owner only, like PostgreSQL's own data directories.
  await mkdir(unpacking, { recursive: true, mode: 0o700 });
  try {
    // PGlite names entries from the root ("/PG_VERSION"); tar keeps them under `cwd` and says so
    // (TAR_ENTRY_INFO). Any other warning means the archive is not what it should be.
    const problems: string[] = [];
    // Synchronous: a thousand small files unpack in a third of the time, and nothing is being
    // served while the database starts.
    extract({
      file: template,
      cwd: unpacking,
      sync: true,
      preserveOwner: false,
      onwarn: (code, message) => {
        if (code !== 'TAR_ENTRY_INFO') problems.push(`${code}: ${message}`);
      },
    });
    if (problems.length > 0 || !existsSync(path.join(unpacking, 'PG_VERSION'))) {
      throw new Error(`The database template ${template} is damaged: ${problems[0] ?? 'no PG_VERSION'}`);
    }
    await rename(unpacking, target);
    return true;
  } catch (error) {
    await rm(unpacking, { recursive: true, force: true, maxRetries: 3 });
    throw error;
  }
}
