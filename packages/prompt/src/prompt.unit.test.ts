import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PromptCancelledError, promptHidden, readFirstLine } from './prompt';

/** A terminal as far as the prompt can tell: a stream that records its raw-mode switches. */
function fakeTerminal() {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode(mode: boolean): unknown };
  const rawModes: boolean[] = [];
  input.isTTY = true;
  input.setRawMode = (mode: boolean) => {
    rawModes.push(mode);
    return input;
  };
  const screen = new PassThrough();
  let shown = '';
  screen.on('data', (chunk) => (shown += chunk));
  return {
    input: input as unknown as NodeJS.ReadStream,
    type: (text: string) => input.write(text),
    screen: screen as unknown as NodeJS.WriteStream,
    shown: () => shown,
    rawModes,
  };
}

describe('promptHidden', () => {
  it('reads one line without echoing it, honouring backspace, and leaves raw mode', async () => {
    const terminal = fakeTerminal();
    const answer = promptHidden('Password: ', terminal.input, terminal.screen);
    terminal.type('se');
    terminal.type('cx\u007f');
    terminal.type('ret\rtyped after enter');
    await expect(answer).resolves.toBe('secret');
    expect(terminal.shown()).toBe('Password: \n');
    expect(terminal.rawModes).toEqual([true, false]);
  });

  it('keeps characters beyond ASCII whole when erasing', async () => {
    const terminal = fakeTerminal();
    const answer = promptHidden('Password: ', terminal.input, terminal.screen);
    terminal.type('añ😀\u007fo\n');
    await expect(answer).resolves.toBe('año');
  });

  it('is cancelled by Ctrl-C, and by Ctrl-D on an empty line', async () => {
    for (const key of ['abc\u0003', '\u0004']) {
      const terminal = fakeTerminal();
      const answer = promptHidden('Password: ', terminal.input, terminal.screen);
      terminal.type(key);
      await expect(answer).rejects.toBeInstanceOf(PromptCancelledError);
      expect(terminal.rawModes).toEqual([true, false]);
    }
  });
});

describe('readFirstLine', () => {
  it('returns the first line only, without its line ending', async () => {
    await expect(readFirstLine(Readable.from(['pass word\r\n', 'second\n']))).resolves.toBe('pass word');
    await expect(readFirstLine(Readable.from(['no newline at the end']))).resolves.toBe('no newline at the end');
  });

  it('returns undefined for an input that ends at once', async () => {
    await expect(readFirstLine(Readable.from([]))).resolves.toBeUndefined();
  });
});
