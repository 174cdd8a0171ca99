import type { Failure } from './failures';

/**
 * Everything the client prints. Results go to standard output, as text for people or, with
 * `--json`, as one JSON document for scripts; failures go to standard error in the same mode.
 * Text for people is made printable here, line by line, whatever a command put in it: names,
 * titles and messages come from the API, that is from other people.
 */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A command's result: `value` as JSON, or the lines `text` makes of it. */
  result<T>(value: T, text: (value: T) => string | string[]): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const lines = text(value);
    for (const line of Array.isArray(lines) ? lines : [lines]) this.stdout.write(`${printableLines(line)}\n`);
  }

  /** One record of a stream (`tasks watch`): a line of text, or with `--json` one JSON object per line. */
  record<T>(value: T, text: (value: T) => string): void {
    this.stdout.write(this.json ? `${JSON.stringify(value)}\n` : `${printableLines(text(value))}\n`);
  }

  /** Help and usage: text in either mode. */
  text(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A note for the person at the terminal (prompts, hints); never part of a result. */
  note(text: string): void {
    this.stderr.write(`${printableLines(text)}\n`);
  }

  failure(failure: Failure): void {
    if (this.json) {
      const { exitCode: _exitCode, ...error } = failure;
      this.stderr.write(`${JSON.stringify({ error })}\n`);
      return;
    }
    const lines = [`stm: ${failure.message}${failure.reason ? ` [${failure.reason}]` : ''}`];
    for (const [field, messages] of Object.entries(failure.fieldErrors ?? {})) {
      // The API names the field a refusal is about with the refusal's own message (tasks not
      // found among `ids`): said once, in the first line.
      for (const message of messages) if (message !== failure.message) lines.push(field === '_' ? `  ${message}` : `  ${field}: ${message}`);
    }
    if (failure.retryAfterSeconds !== undefined) lines.push(`  Try again in ${failure.retryAfterSeconds} s.`);
    this.stderr.write(`${lines.map(printableLines).join('\n')}\n`);
  }
}

/**
 * Text from the API made safe for a terminal: control characters (escape sequences could
 * rewrite the screen or the title bar) and bidirectional overrides are shown as escapes.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text of several lines made printable, its line breaks kept. */
function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** Columns padded to their widest cell; the last one is left ragged. Cells are made printable. */
export function table(headers: string[], cells: string[][]): string[] {
  const rows = cells.map((row) => row.map(printable));
  const widths = headers.map((header, column) => Math.max(width(header), ...rows.map((row) => width(row[column] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** In code points, so accented letters and emoji do not skew the columns. */
function width(text: string): number {
  return Array.from(text).length;
}
