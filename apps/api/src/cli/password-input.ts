import { PromptCancelledError, promptHidden, readFirstLine } from '@stm/prompt';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * A new password, never from the command line (it would sit in the shell history and in `ps`):
 * typed twice without echo at a terminal, or one line of standard input for scripts.
 */
export async function readNewPassword(input: NodeJS.ReadStream = process.stdin, prompts: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (input.isTTY) {
    const first = await hidden('New password: ', input, prompts);
    const second = await hidden('Repeat the password: ', input, prompts);
    if (first !== second) throw new CliError('The two passwords differ; nothing was changed');
    return first;
  }
  const line = await readFirstLine(input);
  if (line === undefined || line.length === 0) {
    throw new CliError('Expected the password on standard input (one line), or run this in a terminal to be asked for it');
  }
  return line;
}

async function hidden(question: string, input: NodeJS.ReadStream, prompts: NodeJS.WriteStream): Promise<string> {
  try {
    return await promptHidden(question, input, prompts);
  } catch (error) {
    if (error instanceof PromptCancelledError) throw new CliError('Cancelled; nothing was changed');
    throw error;
  }
}
