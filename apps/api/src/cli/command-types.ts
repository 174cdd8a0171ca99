import type { DatabaseHandle, DbDriver } from '@stm/db';
import type { AppConfig } from '../env';
import type { Services } from '../services';

// The shapes of operator commands, apart from the commands themselves so that
// the service commands and the database commands can both name them.

export interface CommandIo {
  out(line: string): void;
}

export type CommandArgs = { positionals: string[]; options: Record<string, string | boolean | (string | boolean)[] | undefined> };

interface CommandShape {
  usage: string;
  summary: string;
  /** Positional arguments it takes, for the usage check. */
  positionals: number;
  /** `multiple`: the option may be given more than once (its value is then a list). */
  options?: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  /**
   * Refuses arguments that are wrong in themselves (a CliError) before anything is opened: the
   * operator hears of a typo at once, even while a server holds the embedded database.
   */
  check?(args: CommandArgs): void;
}

/** Runs with the services, on a schema this version can use (brought up to date first when MIGRATE_ON_START is on). */
export interface ServiceCommand extends CommandShape {
  rawDatabase?: false;
  run(services: Services, args: CommandArgs, io: CommandIo): Promise<void>;
}

/** Runs on the database as it is: no migration first and no services, which would write to it. */
export interface DatabaseCommand extends CommandShape {
  rawDatabase: true;
  run(target: DatabaseCommandTarget, args: CommandArgs, io: CommandIo): Promise<void>;
}

export interface DatabaseCommandTarget {
  config: AppConfig;
  /** The driver the configuration names, known before the database is opened. */
  driver: DbDriver;
  /** Opens the database once (later calls return the same handle); the CLI closes it. */
  openDatabase(): Promise<DatabaseHandle>;
  /** What pg_dump and pg_restore start from: PATH, locale and libpq settings are passed on. */
  environment: Record<string, string | undefined>;
}

export type Command = ServiceCommand | DatabaseCommand;
