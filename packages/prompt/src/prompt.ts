/**
 * Reading what a person types at a terminal, or one line of a script's standard input. Secrets
 * never come from the command line: it sits in the shell history and in `ps` for everyone to read.
 */
import { createInterface } from 'node:readline';

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

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/** Reads one line in raw mode, echoing nothing, so a password never appears on screen. */
export function promptHidden(question: string, input: NodeJS.ReadStream, prompts: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      prompts.write('\n');
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (ENTER.has(char)) {
          finish();
          resolve(value);
          return;
        }
        if (char === CTRL_C || (char === CTRL_D && value === '')) {
          finish();
          reject(new PromptCancelledError());
          return;
        }
        if (BACKSPACE.has(char)) value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    prompts.write(question);
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}
