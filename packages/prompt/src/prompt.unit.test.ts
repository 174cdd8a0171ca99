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
  screen.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  return {
    input: input as unknown as NodeJS.ReadStream,
    type: (text: string) => input.write(text),
    screen: screen as unknown as NodeJS.WriteStream,
    shown: () => shown,
    rawModes,
  };
}

/** Keys as a person types them: each a moment after the other, as the prompt reads them one at a time. */
async function typeSlowly(terminal: ReturnType<typeof fakeTerminal>, keys: string[]) {
  for (const key of keys) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    terminal.type(key);
  }
}

describe('promptHidden', () => {
  it('reads one line without echoing it, honouring backspace, and leaves raw mode', async () => {
    const terminal = fakeTerminal();
    const answer = promptHidden('Password: ', terminal.input, terminal.screen);
    await typeSlowly(terminal, ['se', 'cx\u007f', 'ret\r']);
    await expect(answer).resolves.toBe('secret');
    expect(terminal.shown()).toContain('Password:');
    expect(terminal.shown()).not.toMatch(/sec|ret/);
    expect(terminal.rawModes.at(-1)).toBe(false);
  });

  it('edits with the arrow keys rather than taking their escape sequences into the password', async () => {
    const terminal = fakeTerminal();
    const answer = promptHidden('Password: ', terminal.input, terminal.screen);
    // abc, ←, x, Enter: the x goes before the c.
    await typeSlowly(terminal, ['abc', '\u001b[D', 'x', '\r']);
    await expect(answer).resolves.toBe('abxc');
    const home = fakeTerminal();
    const atHome = promptHidden('Password: ', home.input, home.screen);
    await typeSlowly(home, ['bc', '\u001b[H', 'a', '\u001b[F', 'd', '\u001b[C', '\u001b[A', '\u001b[B', '\r']);
    await expect(atHome).resolves.toBe('abcd');
  });

  it('keeps characters beyond ASCII whole when erasing', async () => {
    const terminal = fakeTerminal();
    const answer = promptHidden('Password: ', terminal.input, terminal.screen);
    await typeSlowly(terminal, ['añ😀\u007fo\r']);
    await expect(answer).resolves.toBe('año');
  });

  it('is cancelled by Ctrl-C, and by Ctrl-D on an empty line', async () => {
    for (const key of ['abc\u0003', '\u0004']) {
      const terminal = fakeTerminal();
      const answer = promptHidden('Password: ', terminal.input, terminal.screen);
      await typeSlowly(terminal, [key]);
      await expect(answer).rejects.toBeInstanceOf(PromptCancelledError);
      expect(terminal.rawModes.at(-1)).toBe(false);
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
