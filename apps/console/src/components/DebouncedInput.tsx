import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { Control } from './Field';

/**
 * A text input that commits what was typed after a pause (or at once on Enter), and follows the
 * address when it changes from elsewhere (back button, "clear filters").
 */
export function DebouncedInput({
  label,
  value,
  onCommit,
  type = 'search',
  delayMs = 300,
  className = 'filter-search',
  maxLength,
}: {
  label: string;
  value: string;
  onCommit(value: string): void;
  type?: 'search' | 'text';
  delayMs?: number;
  className?: string;
  maxLength?: number;
}) {
  const [text, setText] = useState(value);
  const committed = useRef(value);
  // The latest callback, without restarting the pause whenever the parent renders.
  const onCommitRef = useRef(onCommit);
  useLayoutEffect(() => {
    onCommitRef.current = onCommit;
  });

  useEffect(() => {
    if (value !== committed.current) {
      committed.current = value;
      setText(value);
    }
  }, [value]);

  const commit = useCallback((next: string) => {
    if (next.trim() === committed.current.trim()) return;
    committed.current = next.trim();
    onCommitRef.current(next.trim());
  }, []);

  useEffect(() => {
    const timer = window.setTimeout(() => commit(text), delayMs);
    return () => window.clearTimeout(timer);
  }, [text, commit, delayMs]);

  return (
    <Control label={label} className={className}>
      {(control) => (
        <input
          {...control}
          type={type}
          value={text}
          autoComplete="off"
          spellCheck={false}
          maxLength={maxLength}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter') {
              event.preventDefault();
              commit(text);
            }
          }}
        />
      )}
    </Control>
  );
}
