/**
 * PostgreSQL's own pg_dump and pg_restore, run as child processes. The connection goes in as a
 * URL without its password; the password travels in PGPASSWORD, so neither the process list nor
 * an error message ever shows it.
 */
import { spawn } from 'node:child_process';
import { devNull } from 'node:os';
import path from 'node:path';
import { BackupError } from './errors';

export interface PgToolsOptions {
  /** Folder holding pg_dump and pg_restore; they are looked up on PATH when absent. */
  binDir?: string | undefined;
  /** The environment the programs start from; only PATH, locale and libpq's PG* settings are passed on. */
  environment: Record<string, string | undefined>;
}

type Tool = 'pg_dump' | 'pg_restore';

const PASSED_ON = /^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TZ|TMPDIR|PG[A-Z_]+)$/;

/**
 * Stands in for an empty host while the URL is read: libpq takes `postgres://user@/db?host=/socket`
 * (PostgreSQL's Unix socket), which WHATWG URLs refuse. Put back before libpq sees it.
 */
const NO_HOST = 'stm-no-host.invalid';
const HOSTLESS = /^(postgres(?:ql)?:\/\/(?:[^@/?#]*@)?)(?=[/?#]|$)/i;

/** The URL for `--dbname` and the environment that carries what must not be in it. */
export function libpqConnection(databaseUrl: string): { dbname: string; env: Record<string, string> } {
  const hostless = HOSTLESS.test(databaseUrl);
  const url = new URL(hostless ? databaseUrl.replace(HOSTLESS, `$1${NO_HOST}`) : databaseUrl);
  const env: Record<string, string> = { PGAPPNAME: 'stm-backup' };
  if (url.password) {
    env.PGPASSWORD = decodeURIComponent(url.password);
    url.password = '';
  }
  const inQuery = url.searchParams.get('password');
  if (inQuery !== null) {
    env.PGPASSWORD = inQuery;
    url.searchParams.delete('password');
  }
  const dbname = url.toString();
  return { dbname: hostless ? dbname.replace(`@${NO_HOST}`, '@').replace(`//${NO_HOST}`, '//') : dbname, env };
}

/** A custom-format archive (`pg_dump -Fc`) of the whole database, written to `file`. */
export async function dumpDatabase(databaseUrl: string, file: string, options: PgToolsOptions): Promise<void> {
  const { dbname, env } = libpqConnection(databaseUrl);
  // To a file rather than a pipe: a seekable archive records where each table's data starts,
  // which pg_restore needs to read one table alone (the restore's checks do).
  await runTool('pg_dump', ['--format=custom', '--no-password', '--lock-wait-timeout=60000', `--file=${file}`, `--dbname=${dbname}`], options, env);
}

/** The archive's table of contents; fails for a file pg_restore cannot read. */
export async function listArchive(file: string, options: PgToolsOptions): Promise<string> {
  return runTool('pg_restore', ['--list', file], options, {});
}

/** The rows of some tables of the archive, as text (COPY's own format, decoded). */
export async function readArchiveRows(file: string, tables: string[], options: PgToolsOptions): Promise<Map<string, Record<string, string | null>[]>> {
  const script = await runTool('pg_restore', ['--data-only', '--schema=public', ...tables.map((table) => `--table=${table}`), '--file=-', file], options, {});
  return parseCopyData(script);
}

/** Reads the whole archive, every table's data included, without restoring it anywhere. */
export async function verifyArchive(file: string, options: PgToolsOptions): Promise<void> {
  await runTool('pg_restore', [`--file=${devNull}`, file], options, {});
}

/** Restores the archive into the database in one transaction: all of it, or nothing. */
export async function restoreArchive(databaseUrl: string, file: string, options: PgToolsOptions): Promise<void> {
  const { dbname, env } = libpqConnection(databaseUrl);
  // Owners and grants of the old server's roles mean nothing on this one: what is restored
  // belongs to the user of DATABASE_URL, as everything the application creates does.
  await runTool(
    'pg_restore',
    ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', '--no-password', `--dbname=${dbname}`, file],
    options,
    env,
  );
}

function runTool(tool: Tool, args: string[], options: PgToolsOptions, connectionEnv: Record<string, string>): Promise<string> {
  const program = options.binDir ? path.join(options.binDir, tool) : tool;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.environment)) {
    if (value !== undefined && PASSED_ON.test(name)) env[name] = value;
  }
  Object.assign(env, connectionEnv);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-8_000)));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? missingTool(tool, options.binDir) : error);
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      reject(new BackupError(`${tool} failed (${signal ?? `exit code ${code}`}): ${stderr.trim() || 'no message'}${hint(stderr)}`));
    });
  });
}

function missingTool(tool: Tool, binDir: string | undefined): BackupError {
  return new BackupError(
    `${tool} was not found ${binDir ? `in PG_BIN_DIR (${binDir})` : 'on PATH'}. Install the PostgreSQL client programs ` +
      "(Debian and Ubuntu: apt-get install postgresql-client) of the server's major version or newer, " +
      'or set PG_BIN_DIR to the folder that holds them (e.g. /usr/lib/postgresql/16/bin)',
  );
}

function hint(stderr: string): string {
  if (/server version mismatch/.test(stderr)) {
    return "\nThis pg_dump is older than the server: set PG_BIN_DIR to the client programs of the server's major version or newer";
  }
  const version = /unsupported version \((\d+)\.\d+\) in file header/.exec(stderr);
  if (version) {
    return version[1] === '1'
      ? '\nThe archive was written by a newer pg_dump: set PG_BIN_DIR to the client programs of that version or newer'
      : '\nThe file is damaged, or is not a pg_dump archive';
  }
  if (/end of file|could not read from input file|did not find magic string/.test(stderr)) {
    return '\nThe archive is damaged or was cut short (an interrupted copy?)';
  }
  return '';
}

/** The `COPY … FROM stdin` blocks of a pg_restore script, by table name. */
export function parseCopyData(script: string): Map<string, Record<string, string | null>[]> {
  const tables = new Map<string, Record<string, string | null>[]>();
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const copy = /^COPY (\S+) \((.*)\) FROM stdin;$/.exec(lines[i] as string);
    if (!copy) continue;
    const table = unquote((copy[1] as string).split('.').pop() as string);
    const columns = (copy[2] as string).split(', ').map(unquote);
    const rows: Record<string, string | null>[] = [];
    for (i += 1; i < lines.length && lines[i] !== '\\.'; i++) {
      const fields = (lines[i] as string).split('\t');
      rows.push(Object.fromEntries(columns.map((column, index) => [column, decodeCopyField(fields[index] ?? '\\N')])));
    }
    tables.set(table, rows);
  }
  return tables;
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function decodeCopyField(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))/g, (_, octal?: string, hex?: string, char?: string) => {
    if (octal) return String.fromCharCode(Number.parseInt(octal, 8));
    if (hex) return String.fromCharCode(Number.parseInt(hex, 16));
    return ESCAPES[char as string] ?? (char as string);
  });
}
