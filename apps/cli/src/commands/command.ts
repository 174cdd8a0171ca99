import type { z } from 'zod';
import type { ApiClient } from '../api';
import { fieldErrorsOf, usageError } from '../errors';
import type { Output } from '../output';
import type { SessionFile } from '../session-file';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once. */
  multiple?: boolean;
  short?: string;
  /** How the value is shown in help, e.g. `<status>`. */
  value?: string;
  help: string;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandArgs {
  positionals: string[];
  values: OptionValues;
}

export interface CommandContext {
  out: Output;
  /** The API this invocation talks to: `--api`, else STM_API_URL, else the signed-in one, else the default. */
  apiUrl: string;
  sessionFile: SessionFile;
  /** Calls without a session (signing in), to `apiUrl` unless told otherwise. */
  publicClient(apiUrl?: string): ApiClient;
  /**
   * Calls made with STM_TOKEN when it is set, else signed with the saved session, renewed as
   * needed; fails when not signed in at `apiUrl`.
   */
  signedInClient(): Promise<ApiClient>;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}

export interface Command {
  /** As typed: `whoami`, `tasks ls`. */
  name: string;
  /** What follows the name in the usage line. */
  arguments: string;
  summary: string;
  /** Longer help, shown by `stm help <command>`. */
  details?: string[];
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number };
  run(context: CommandContext, args: CommandArgs): Promise<void>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable option, each also split at commas (`--status todo,done`). */
export function listOption(values: OptionValues, name: string): string[] | undefined {
  const value = values[name];
  if (!Array.isArray(value)) return undefined;
  const items = value
    .flatMap((item) => String(item).split(','))
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/** Input checked with the shared schema before anything is sent; its messages are the ones the API would send. */
export function checked<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw usageError(`Invalid ${what}`, fieldErrorsOf(result.error.issues));
  return result.data;
}
