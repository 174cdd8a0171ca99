import { useEffect, useLayoutEffect, useRef } from 'react';
import { Dialog } from '../components/Dialog';
import { type MessageKey, useI18n } from '../i18n';

export interface TaskListShortcuts {
  newTask?(): void;
  quickAdd?(): void;
  search(): void;
  move(step: 1 | -1): void;
  toggleDone(): void;
  edit(): void;
  remove(): void;
  undo(): void;
  help(): void;
}

/**
 * The keys, as the sheet lists them; `keys` are what KeyboardEvent.key reads, anywhere on the
 * list's page. The focused row also reads its own keys (Enter, Space, Backspace, Home/End, the
 * arrows: see `onRowKeyDown`), listed here with no page-wide `action`. `shown` names the keys;
 * a key with a name of its own in each language has it in the messages.
 */
export const SHORTCUTS: { keys: string[]; shown: string | { key: MessageKey }; action: keyof TaskListShortcuts | null; label: MessageKey }[] = [
  { keys: ['n'], shown: 'N', action: 'newTask', label: 'shortcuts.newTask' },
  { keys: ['q'], shown: 'Q', action: 'quickAdd', label: 'shortcuts.quickAdd' },
  { keys: ['/'], shown: '/', action: 'search', label: 'shortcuts.search' },
  { keys: ['j', 'ArrowDown'], shown: 'J / ↓', action: 'move', label: 'shortcuts.next' },
  { keys: ['k', 'ArrowUp'], shown: 'K / ↑', action: 'move', label: 'shortcuts.previous' },
  { keys: [], shown: { key: 'shortcuts.keys.homeEnd' }, action: null, label: 'shortcuts.firstLast' },
  { keys: [], shown: { key: 'shortcuts.keys.enter' }, action: null, label: 'shortcuts.open' },
  { keys: ['x'], shown: { key: 'shortcuts.keys.done' }, action: 'toggleDone', label: 'shortcuts.done' },
  { keys: ['e'], shown: 'E', action: 'edit', label: 'shortcuts.edit' },
  { keys: ['Delete', '#'], shown: { key: 'shortcuts.keys.delete' }, action: 'remove', label: 'shortcuts.delete' },
  { keys: [], shown: '→ / ←', action: null, label: 'shortcuts.controls' },
  { keys: ['z'], shown: 'Z', action: 'undo', label: 'shortcuts.undo' },
  { keys: ['?'], shown: '?', action: 'help', label: 'shortcuts.help' },
];

/** Where typing goes to the control, not to a shortcut. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/**
 * Single keys for the task list, never taken from a text field, a select or an open dialog, and
 * never with a modifier (the browser's and screen readers' own keys stay theirs).
 */
export function useTaskListShortcuts(handlers: TaskListShortcuts): void {
  const current = useRef(handlers);
  useLayoutEffect(() => {
    current.current = handlers;
  });
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if (document.querySelector('dialog[open]')) return;
      // Arrow keys move between rows only from a row: elsewhere they scroll the page as usual.
      const fromRow = event.target instanceof Element && event.target.closest('[data-task-id]') !== null;
      const shortcut = SHORTCUTS.find((entry) => entry.keys.includes(event.key));
      if (!shortcut?.action || (event.key.startsWith('Arrow') && !fromRow)) return;
      const run = current.current;
      switch (shortcut.action) {
        case 'newTask':
        case 'quickAdd': {
          const action = run[shortcut.action];
          if (!action) return;
          action();
          break;
        }
        case 'move':
          run.move(event.key === 'k' || event.key === 'ArrowUp' ? -1 : 1);
          break;
        default: {
          const action = shortcut.action;
          run[action]();
        }
      }
      event.preventDefault();
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, []);
}

export function ShortcutsSheet({ onClose }: { onClose(): void }) {
  const { t } = useI18n();
  return (
    <Dialog open title={t('shortcuts.title')} onClose={onClose}>
      <dl className="shortcuts">
        {SHORTCUTS.map((entry) => (
          <div key={entry.label} className="shortcut">
            <dt>
              <kbd>{typeof entry.shown === 'string' ? entry.shown : t(entry.shown.key)}</kbd>
            </dt>
            <dd>{t(entry.label)}</dd>
          </div>
        ))}
      </dl>
      <p className="muted">{t('shortcuts.note')}</p>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}
