/**
 * Reading what a person types at a terminal, or one line of a script's standard input. Secrets
 * never come from the command line: it sits in the shell history and in `ps` for everyone to read.
 */
import { createInterface } from 'node:readline';
import password from '@inquirer/password';

/** The person pressed Ctrl-C (or Ctrl-D on an empty line) instead of answering. */
export class PromptCancelledError extends Error {
  constructor() {
    super('Cancelled');
    this.name = 'PromptCancelledError';
  }
}

/** The first line of a stream that is not a terminal, or undefined when it ends before one. */
export async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  try {
    for await (const line of lines) return line;
    return undefined;
  } finally {
    lines.close();
  }
}

/** Asks a question at a terminal and reads the answer, echoed as it is typed (a username). */
export function promptVisible(question: string, input: NodeJS.ReadStream, prompts: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input, output: prompts, terminal: true });
    let answered = false;
    lines.once('SIGINT', () => lines.close());
    lines.once('close', () => {
      if (!answered) {
        prompts.write('\n');
        reject(new PromptCancelledError());
      }
    });
    lines.question(question, (answer) => {
      answered = true;
      lines.close();
      resolve(answer);
    });
  });
}

/**
 * Reads one line without echoing it, so a password never appears on screen. Inquirer's prompt
 * does the terminal's line editing (arrows, Home/End, deleting by character): a hand-made raw-mode
 * reader took an arrow key's escape sequence into the password.
 */
export async function promptHidden(question: string, input: NodeJS.ReadStream, prompts: NodeJS.WriteStream): Promise<string> {
  try {
    return await password({ message: question.trim(), mask: false, toggleMask: false }, { input, output: prompts, clearPromptOnDone: false });
  } catch (error) {
    // Ctrl-C, or Ctrl-D on an empty line.
    if (error instanceof Error && error.name === 'ExitPromptError') throw new PromptCancelledError();
    throw error;
  }
}
