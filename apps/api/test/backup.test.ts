import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrateTo, migrateToLatest, migrationNames, sql } from '@stm/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectAppWorks, expectFilled, expectUntouched, type Filled, fill, picture, rewritePortable, tablesOf } from './backup-fixtures';
import { disposeAll, type Place, pglitePlace, postgresPlace, usingDatabase } from './places';

const driver = process.env.STM_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
const newPlace = driver === 'postgres' ? postgresPlace : pglitePlace;
/** The driver's default format first: it is asked for without --format. */
const formats = driver === 'postgres' ? ['pg_dump', 'portable'] : ['portable'];
const OTHER_SECRET = 'another-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

describe(`db:backup and db:restore on ${driver}`, { timeout: 400_000 }, () => {
  let folder: string;
  let source: Place;
  let filled: Filled;
  let before: Record<string, string[]>;
  /** Backups of the filled source made once: the driver's default format, and portable. */
  let defaultFile: string;
  let portableFile: string;
  const places: Place[] = [];
  const place = async () => {
    const created = await newPlace();
    places.push(created);
    return created;
  };
  const backup = async (file: string, args: string[] = []) => {
    const result = await cli(source, ['db:backup', file, ...args]);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    return result;
  };

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'stm-backups-'));
    source = await place();
    await usingDatabase(source, (database) => migrateToLatest(database.db));
    filled = await fill(source);
    before = await usingDatabase(source, picture);
    expectFilled(before);
    defaultFile = path.join(folder, 'default.backup');
    portableFile = path.join(folder, 'portable.backup');
    await backup(defaultFile);
    if (driver === 'postgres') await backup(portableFile, ['--format', 'portable']);
    else portableFile = defaultFile;
  }, 400_000);

  afterAll(async () => {
    await disposeAll(places);
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it.each(formats)('a %s backup restored into a new database holds every row of every table, and the app works on it', async (format) => {
    const file = path.join(folder, `whole-${format}.backup`);
    const made = await backup(file, format === formats[0] ? [] : ['--format', format]);
    expect(made.stdout).toMatch(new RegExp(`^Backed up .* to ${file} \\(${format}, `));
    // It holds password hashes and sealed keys: readable by its owner only.
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Making a backup changes nothing, not even the schema.
    expect(await usingDatabase(source, picture)).toEqual(before);

    const target = await place();
    const restored = await cli(target, ['db:restore', file]);
    expect(restored, restored.stderr).toMatchObject({ code: 0 });
    expect(restored.stdout).toMatch(new RegExp(`^Restored ${file} \\(${format} backup of`));
    expect(restored.stdout).toContain('The schema is up to date');
    expect(await usingDatabase(target, picture)).toEqual(before);
    await expectAppWorks(target, filled);
  });

  it('restore refuses a database that holds rows; --force replaces them, and a damaged file cannot cost them', async () => {
    const target = await place();
    expect((await cli(target, ['db:restore', defaultFile])).code).toBe(0);
    await usingDatabase(target, (database) => sql`update tasks set title = 'changed after the restore'`.execute(database.db));
    const changed = await usingDatabase(target, picture);

    const refused = await cli(target, ['db:restore', defaultFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/The target database is not empty \(.*tasks.*\).*--force/);
    expect(await usingDatabase(target, picture)).toEqual(changed);

    // A file that fails part-way (here: a row breaking a foreign key, near the end) changes nothing.
    const broken = path.join(folder, 'broken-row.backup');
    await rewritePortable(portableFile, broken, (lines) => {
      const last = lines.findLastIndex((line) => line.startsWith('{"id"') && line.includes('"created_by"'));
      lines[last] = (lines[last] as string).replace(/"created_by":\d+/, '"created_by":999999');
      return lines;
    });
    const failed = await cli(target, ['db:restore', broken, '--force']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/could not be loaded, and nothing was changed: .*foreign key/);
    expect(await usingDatabase(target, picture)).toEqual(changed);

    const cut = path.join(folder, 'cut.backup');
    await writeFile(cut, (await readFile(defaultFile)).subarray(0, Math.floor((await stat(defaultFile)).size * 0.6)));
    const damaged = await cli(target, ['db:restore', cut, '--force']);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/cut short/);
    expect(await usingDatabase(target, picture)).toEqual(changed);

    const forced = await cli(target, ['db:restore', defaultFile, '--force']);
    expect(forced, forced.stderr).toMatchObject({ code: 0 });
    expect(await usingDatabase(target, picture)).toEqual(before);
  });

  it('a restore that fails half-way into an empty database leaves it empty', async () => {
    const target = await place();
    const broken = path.join(folder, 'broken-sequence.backup');
    // The very last thing loaded, after every row: a sequence that does not exist.
    await rewritePortable(portableFile, broken, (lines) =>
      lines.map((line) => (line.startsWith('{"sequences"') ? line.replace('"tasks_id_seq"', '"no_such_seq"') : line)),
    );
    const failed = await cli(target, ['db:restore', broken]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/could not be loaded, and nothing was changed: .*no_such_seq/);
    expect(await usingDatabase(target, tablesOf)).toEqual([]);
  });

  it('a backup from an older version is migrated on to this one after the restore', async () => {
    const OLD_RELEASE = '2026_11_25_0002_settings_and_audit';
    const old = await place();
    await usingDatabase(old, async (database) => {
      await migrateTo(database.db, OLD_RELEASE);
      await sql`insert into users (username, password_hash, role) values ('from_the_past', 'hash', 'admin')`.execute(database.db);
    });
    const oldPicture = await usingDatabase(old, picture);
    expect(oldPicture.tasks).toBeUndefined();
    const file = path.join(folder, 'old.backup');
    const made = await cli(old, ['db:backup', file]);
    expect(made, made.stderr).toMatchObject({ code: 0 });

    const target = await place();
    const restored = await cli(target, ['db:restore', file]);
    expect(restored, restored.stderr).toMatchObject({ code: 0 });
    const later = migrationNames().filter((name) => name > OLD_RELEASE);
    expect(later[0]).toBe('2026_11_25_0003_tasks');
    expect(restored.stdout.split('\n')).toContain(`Migrated on: ${later.join(', ')}`);
    const now = await usingDatabase(target, picture);
    // The account as it was, followed by the columns later releases added (their defaults).
    const [oldUser] = oldPicture.users ?? [];
    expect(now.users).toHaveLength(1);
    expect(now.users?.[0]?.startsWith(`${oldUser?.slice(0, -1)},`), now.users?.[0]).toBe(true);
    expect(now.tasks).toEqual([]);
    // The account made before projects existed has its inbox, as every account does.
    expect(now.projects).toHaveLength(1);
    expect(now.projects?.[0]).toMatch(/,Inbox,/);
    expect(now.kysely_migration?.slice(0, 2)).toEqual(oldPicture.kysely_migration);
  });

  const damagedFiles: [string, (file: string) => Promise<void>, RegExp][] = [
    ['a portable backup cut short', async (file) => writeFile(file, (await readFile(portableFile)).subarray(0, 400)), /ends early|cut short/],
    ['a portable backup missing its last lines', (file) => rewritePortable(portableFile, file, (lines) => lines.slice(0, -4)), /ends early/],
    [
      'a portable backup with a row too many',
      (file) => rewritePortable(portableFile, file, (lines) => lines.flatMap((line, i) => (i === 5 ? [line, line] : [line]))),
      /damaged/,
    ],
    ['a file that is no backup', (file) => writeFile(file, 'name,title\nalice,hello\n'), /is not a backup made by db:backup/],
    ['gzipped JSON of something else', (file) => rewritePortable(portableFile, file, () => ['{"hello":"world"}']), /is not a backup made by db:backup/],
    [
      'a backup from a newer version',
      (file) =>
        rewritePortable(portableFile, file, ([header, ...rest]) => {
          const parsed = JSON.parse(header as string);
          parsed.migrations.push({ name: '2099_01_01_0001_future', timestamp: new Date().toISOString() });
          return [JSON.stringify(parsed), ...rest];
        }),
      /newer version of the application \(its migrations 2099_01_01_0001_future/,
    ],
    ['a file that does not exist', async () => {}, /does not exist/],
  ];
  if (driver === 'postgres') {
    damagedFiles.push([
      'a pg_dump archive cut short',
      async (file) => writeFile(file, (await readFile(defaultFile)).subarray(0, 4_000)),
      /pg_restore failed.*\n.*damaged or was cut short/,
    ]);
  }

  it.each(damagedFiles)('%s is refused with a clear message and exit code 1; the target is not touched', async (name, make, message) => {
    const file = path.join(folder, `damaged-${name.replaceAll(' ', '-')}`);
    await make(file);
    const target = await place();
    const result = await cli(target, ['db:restore', file]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    await expectUntouched(target);
  });

  it('a backup whose signing keys were sealed with another SECRET_KEY is refused before anything changes', async () => {
    const target = await place();
    for (const file of [defaultFile, portableFile]) {
      const result = await cli(target, ['db:restore', file], { SECRET_KEY: OTHER_SECRET });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/sealed with a different SECRET_KEY.*secret_key in its DATA_DIR.*Nothing was changed/);
    }
    await expectUntouched(target);
  });

  it.each([
    [['db:backup'], /Usage: pnpm ops db:backup <file>/],
    [['db:backup', 'x.backup', '--format', 'sql'], /--format must be one of: pg_dump, portable/],
    [['db:restore', 'a', 'b'], /Usage: pnpm ops db:restore <file> \[--force\]/],
  ])('%j is wrong usage (exit code 2)', async (args, message) => {
    const result = await cli(source, args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('a backup into a folder that does not exist fails, and leaves no file behind', async () => {
    const result = await cli(source, ['db:backup', path.join(folder, 'no-such-folder', 'x.backup')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/The folder .*no-such-folder does not exist/);
  });

  it.runIf(driver === 'pglite')('refuses while a server holds the embedded database', async () => {
    const holder = await source.open();
    try {
      for (const args of [
        ['db:backup', path.join(folder, 'held.backup')],
        ['db:restore', portableFile, '--force'],
      ]) {
        const result = await cli(source, args);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`is in use by process ${process.pid}`);
      }
    } finally {
      await holder.close();
    }
    await expect(access(path.join(folder, 'held.backup'))).rejects.toThrow();
    expect(await usingDatabase(source, picture)).toEqual(before);
  });

  it.runIf(driver === 'postgres')('the password reaches pg_dump and pg_restore in PGPASSWORD, never on their command line or in the output', async () => {
    const password = 'Pa55-never-in-argv';
    const wrappers = path.join(folder, 'wrapped-bin');
    await mkdir(wrappers);
    for (const tool of ['pg_dump', 'pg_restore']) {
      const script = path.join(wrappers, tool);
      // Records what the program was started with, then runs the real one.
      await writeFile(
        script,
        `#!/bin/sh\nprintf '%s\\n' "$@" >> "${wrappers}/argv"\nprintf '%s\\n' "$PGPASSWORD" >> "${wrappers}/pgpassword"\nexec ${await findOnPath(tool)} "$@"\n`,
      );
      await chmod(script, 0o755);
    }
    const withPassword = (url: string) => {
      const parsed = new URL(url);
      parsed.password = password;
      return parsed.toString();
    };
    const file = path.join(folder, 'password.backup');
    const made = await cli(source, ['db:backup', file], { DATABASE_URL: withPassword(source.env.DATABASE_URL as string), PG_BIN_DIR: wrappers });
    expect(made, made.stderr).toMatchObject({ code: 0 });
    const target = await place();
    const restored = await cli(target, ['db:restore', file], { DATABASE_URL: withPassword(target.env.DATABASE_URL as string), PG_BIN_DIR: wrappers });
    expect(restored, restored.stderr).toMatchObject({ code: 0 });
    expect(await usingDatabase(target, picture)).toEqual(before);

    const argv = await readFile(path.join(wrappers, 'argv'), 'utf8');
    expect(argv).toMatch(/^--dbname=postgres:\/\/postgres@127\.0\.0\.1:5432\/stm_test_/m);
    expect(argv).not.toContain(password);
    const passwords = (await readFile(path.join(wrappers, 'pgpassword'), 'utf8')).trim().split('\n');
    // pg_dump once; pg_restore to check the archive and then to restore it, with the password only when connecting.
    expect(passwords.filter((line) => line === password)).toHaveLength(2);
    expect(made.stdout + made.stderr + restored.stdout + restored.stderr).not.toContain(password);
  });

  it.runIf(driver === 'postgres')('without pg_dump a backup fails and says how to get it', async () => {
    const file = path.join(folder, 'no-tools.backup');
    const result = await cli(source, ['db:backup', file], { PG_BIN_DIR: path.join(folder, 'nowhere') });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/pg_dump was not found in PG_BIN_DIR .*apt-get install postgresql-client/);
    await expect(access(file)).rejects.toThrow();
    expect((await readFile(defaultFile)).subarray(0, 5).toString()).toBe('PGDMP');
  });
});

async function findOnPath(program: string): Promise<string> {
  for (const folder of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(folder, program);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  throw new Error(`${program} is not on PATH`);
}
