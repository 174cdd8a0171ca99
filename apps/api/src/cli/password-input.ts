import { createInterface } from 'node:readline';

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
    const first = await promptHidden('New password: ', input, prompts);
    const second = await promptHidden('Repeat the password: ', input, prompts);
    if (first !== second) throw new CliError('The two passwords differ; nothing was changed');
    return first;
  }
  const line = await readFirstLine(input);
  if (line === undefined || line.length === 0) {
    throw new CliError('Expected the password on standard input (one line), or run this in a terminal to be asked for it');
  }
  return line;
}

async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  try {
    for await (const line of lines) return line;
    return undefined;
  } finally {
    lines.close();
  }
}

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/** Reads one line in raw mode, echoing nothing, so the password never appears on screen. */
function promptHidden(question: string, input: NodeJS.ReadStream, prompts: NodeJS.WriteStream): Promise<string> {
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
          reject(new CliError('Cancelled; nothing was changed'));
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
