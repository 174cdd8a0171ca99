/** What each exit status means; scripts may rely on these. */
export const ExitCode = {
  ok: 0,
  /** The API refused the request (its reason is printed), or something else went wrong. */
  failed: 1,
  /**
   * Wrong usage: an unknown command or option, a value that is not valid, or a name that names
   * nothing (no such project, label or member). Nothing was changed.
   */
  usage: 2,
  /** Not signed in, or the session has ended: run `stm login`. */
  signedOut: 3,
  /** The API could not be reached. */
  unreachable: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the client explains itself, with the exit status it ends with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
    /** Field-by-field problems, printed under the message. */
    readonly fieldErrors?: Record<string, string[]>,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string, fieldErrors?: Record<string, string[]>): CliError {
  return new CliError(message, ExitCode.usage, fieldErrors);
}

/** Zod issues as `{ field: [messages] }`, the shape the API sends its field errors in. */
export function fieldErrorsOf(issues: readonly { path: readonly PropertyKey[]; message: string }[]): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of issues) {
    const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '_';
    (fields[key] ??= []).push(issue.message);
  }
  return fields;
}
