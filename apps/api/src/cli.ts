/**
 * The operator's tool for a server without a console: `pnpm ops help`. It uses the same
 * configuration and services as the API, without HTTP. Exit codes: 0 done, 1 failed (with a
 * message), 2 wrong usage.
 */
import { parseArgs } from 'node:util';
import { createDb, type DatabaseHandle, DataDirInUseError, SHORT_LIVED_SHARED_BUFFERS } from '@stm/db';
import { BackupError } from '@stm/db/backup';
import type { Command, CommandArgs } from './cli/command-types';
import { commands, usageText } from './cli/commands';
import { CliError } from './cli/password-input';
import { ConfigError, loadConfig, loadDotEnv, readProcessEnvironment } from './env';
import { DomainError } from './errors';
import { prepareSchema, SchemaMismatchError } from './schema-check';
import { opsCommand } from './ops-command';

// A reader that stops early (`pnpm ops keys:list | head -1`) is not a failure: the rest of the
// output goes nowhere, and the command still ends as every command does, closing what it opened
// (exiting here could stop the hashing threads while they load bcrypt, which aborts the process).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const RAW_DATABASE_STATEMENT_TIMEOUT_MS = 60 * 60 * 1000;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usageText()}\n`);
    return 0;
  }
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    process.stderr.write(`${name === undefined ? 'No command given' : `Unknown command "${name}"`}\n\n${usageText()}\n`);
    return 2;
  }
  const args = parseCommandArgs(command, rest);
  if (!args) {
    process.stderr.write(`Usage: ${opsCommand()} ${command.usage}\n`);
    return 2;
  }
  command.check?.(args);

  loadDotEnv();
  const environment = readProcessEnvironment();
  const config = loadConfig(environment);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (command.rawDatabase) {
    let database: Promise<DatabaseHandle> | undefined;
    const openDatabase = () =>
      (database ??= createDb({
        databaseUrl: config.database.url,
        dataDir: config.database.dataDir,
        pgliteTemplate: config.database.pgliteEmptyTemplate,
        pgliteSharedBuffers: SHORT_LIVED_SHARED_BUFFERS,
        // A backup reads whole tables and a restore loads them: far longer than a request's statements.
        pool: { ...config.database.pool, max: 2, statementTimeoutMillis: RAW_DATABASE_STATEMENT_TIMEOUT_MS },
        applicationName: 'stm-cli',
      }));
    try {
      await command.run({ config, driver: config.database.url ? 'postgres' : 'pglite', openDatabase, environment }, args, { out });
    } finally {
      await (await database?.catch(() => undefined))?.close();
    }
    return 0;
  }

  // The services and the logger are loaded only here: a database command needs neither.
  const { createLogger } = await import('./logger');
  const [{ createServices }, { PasswordHasher }] = await Promise.all([import('./services'), import('@stm/auth')]);
  // Only errors: the command's own output is the answer, and stdout stays clean for scripts.
  const logger = await createLogger({ log: { ...config.log, level: 'error', pretty: false, dir: null } }, process.stderr);
  const database = await createDb({
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    pgliteTemplate: config.database.pgliteTemplate,
    pgliteSharedBuffers: SHORT_LIVED_SHARED_BUFFERS,
    pool: { ...config.database.pool, max: 2 },
    applicationName: 'stm-cli',
    fastPaths: { statements: config.fastPaths.statements },
  });
  try {
    await prepareSchema(database.db, { migrateOnStart: config.database.migrateOnStart, log: logger.logger, who: 'this version of the CLI' });
    // Most commands never hash: no hashing thread starts until one is needed.
    const hasher = new PasswordHasher({ ...config.bcrypt, threads: 'when-needed' });
    const services = await createServices(config, database, logger.logger, hasher);
    try {
      await command.run(services, args, { out });
    } finally {
      await services.stop();
    }
  } finally {
    await database.close();
    await logger.close();
  }
  return 0;
}

function parseCommandArgs(command: Command, rest: string[]): CommandArgs | undefined {
  try {
    const { values, positionals } = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
    if (positionals.length !== command.positionals) return undefined;
    return { positionals, options: values };
  } catch {
    return undefined;
  }
}

function describeFailure(error: unknown): { message: string; exitCode: number } | undefined {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof DomainError) return { message: error.message, exitCode: 1 };
  if (error instanceof ConfigError || error instanceof DataDirInUseError || error instanceof BackupError || error instanceof SchemaMismatchError) {
    return { message: error.message, exitCode: 1 };
  }
  return undefined;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const known = describeFailure(error);
  if (known) {
    process.stderr.write(`Error: ${known.message}\n`);
    process.exitCode = known.exitCode;
  } else {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
