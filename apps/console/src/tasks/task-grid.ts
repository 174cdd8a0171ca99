import type { KeyboardEvent } from 'react';

/**
 * The task lists follow the WAI-ARIA treegrid pattern with focusable rows: the list is one tab
 * stop (the active row), the arrows and Home/End move between rows, → and ← step through the
 * focused row's controls, and the row's actions are single keys. The controls stay in the
 * accessibility tree (and take clicks), but out of the tab order.
 */

/** What the keys of a focused row do to its task; a task the reader may not change only opens. */
export interface RowActions {
  open(): void;
  toggleDone?: (() => void) | undefined;
  edit?: (() => void) | undefined;
  remove?: (() => void) | undefined;
}

const ROW = '[role="row"][data-task-id]';

/** The rows of this view in order: every group of the list (Upcoming has one per day). */
function rowsOf(view: Element | null): HTMLElement[] {
  return view ? [...view.querySelectorAll<HTMLElement>(ROW)] : [];
}

/** The row's controls a key can reach: its enabled buttons and checkbox. */
function controlsOf(row: Element): HTMLElement[] {
  return [...row.querySelectorAll<HTMLElement>('button:not(:disabled), input:not(:disabled)')];
}

/** The focused row's task id, or null when the focus is not in a row. */
export function focusedRowId(): number | null {
  const row = document.activeElement?.closest(ROW);
  return row ? Number(row.getAttribute('data-task-id')) : null;
}

/** Focuses the row of this task, if it is on screen. */
export function focusRow(id: number): boolean {
  const row = document.querySelector<HTMLElement>(`${ROW}[data-task-id="${String(id)}"]`);
  row?.focus();
  return row !== null;
}

/**
 * The keyboard of one row. On the row itself: ↓/↑ (and J/K) the next or previous row, Home/End
 * (also with Ctrl) the first or last, → its first control, Enter opens the task, Space or X marks
 * it done, E edits it, Delete, Backspace or # deletes it. On one of its controls: ←/→ the
 * neighbouring control (← from the first goes back to the row), ↑/↓ the same control of the row
 * above or below (else that row), Home/End its first or last control; Enter and Space stay the
 * control's own.
 */
export function onRowKeyDown(event: KeyboardEvent<HTMLElement>, actions: RowActions): void {
  if (event.altKey || event.metaKey || event.defaultPrevented) return;
  const row = event.currentTarget;
  const view = row.closest('[data-task-view]');
  const rows = rowsOf(view);
  const index = rows.indexOf(row);
  const onRow = event.target === row;
  const controls = controlsOf(row);
  const at = onRow ? -1 : controls.indexOf(event.target as HTMLElement);
  const goRow = (target: HTMLElement | undefined) => {
    if (!target) return;
    // From a control, the same control of the other row when it has one.
    const control = at >= 0 ? controlsOf(target)[at] : undefined;
    (control ?? target).focus();
  };
  let handled = true;
  if (event.ctrlKey) {
    if (event.key === 'Home') rows[0]?.focus();
    else if (event.key === 'End') rows.at(-1)?.focus();
    else handled = false;
  } else {
    switch (event.key) {
      case 'ArrowDown':
        goRow(rows[index + 1]);
        break;
      case 'ArrowUp':
        goRow(index > 0 ? rows[index - 1] : undefined);
        break;
      case 'j':
      case 'k':
        if (onRow) goRow(event.key === 'j' ? rows[index + 1] : index > 0 ? rows[index - 1] : undefined);
        else handled = false;
        break;
      case 'Home':
        if (onRow) rows[0]?.focus();
        else controls[0]?.focus();
        break;
      case 'End':
        if (onRow) rows.at(-1)?.focus();
        else controls.at(-1)?.focus();
        break;
      case 'ArrowRight':
        controls[at + 1]?.focus();
        break;
      case 'ArrowLeft':
        if (at > 0) controls[at - 1]?.focus();
        else if (at === 0) row.focus();
        else handled = false;
        break;
      default:
        handled = onRow && rowAction(event.key, actions);
    }
  }
  if (handled) event.preventDefault();
}

function rowAction(key: string, actions: RowActions): boolean {
  switch (key) {
    case 'Enter':
      actions.open();
      return true;
    case ' ':
    case 'x':
      actions.toggleDone?.();
      // Space on a row is never a page scroll, even on a task that cannot change.
      return true;
    case 'e':
      actions.edit?.();
      return true;
    case 'Delete':
    case 'Backspace':
    case '#':
      actions.remove?.();
      return true;
    default:
      return false;
  }
}
