import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from 'react';
import { useI18n } from '../i18n';

type Tone = 'success' | 'error' | 'info';

export interface ToastOptions {
  /** A button beside the message (Undo); choosing it is the only way `onClose` is not called. */
  action?: { label: string; run(): void };
  /** When the toast goes without its action: it expired, was dismissed, or newer ones pushed it out. */
  onClose?(): void;
}

interface Toast extends ToastOptions {
  id: number;
  message: string;
  tone: Tone;
}

interface ToastApi {
  show(message: string, tone?: Tone, options?: ToastOptions): void;
  /** Runs the action of the newest toast that has one (the Z key's Undo); false when none does. */
  undoLatest(): boolean;
}

const ToastContext = createContext<ToastApi | null>(null);
const LIFETIME_MS = 6_000;
/** More would stack up over the page's own controls; the newest say what matters. */
const MAX_SHOWN = 2;

/**
 * Brief confirmations. The region exists before any message arrives, so screen readers announce
 * what is added to it; errors go to an assertive region of their own.
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);

  // The list as last rendered, so closing one runs its callback once, outside a state update.
  const current = useRef<Toast[]>([]);
  const update = useCallback((next: (list: Toast[]) => Toast[]) => {
    current.current = next(current.current);
    setToasts(current.current);
  }, []);
  const close = useCallback(
    (id: number, how: 'closed' | 'action') => {
      const toast = current.current.find((entry) => entry.id === id);
      if (!toast) return;
      update((list) => list.filter((entry) => entry.id !== id));
      if (how === 'action') toast.action?.run();
      else toast.onClose?.();
    },
    [update],
  );
  const api = useMemo<ToastApi>(
    () => ({
      show(message, tone = 'success', options = {}) {
        const id = nextId.current++;
        const pushedOut = current.current.slice(0, Math.max(0, current.current.length + 1 - MAX_SHOWN));
        update((list) => [...list.slice(1 - MAX_SHOWN), { id, message, tone, ...options }]);
        for (const toast of pushedOut) toast.onClose?.();
        window.setTimeout(() => close(id, 'closed'), LIFETIME_MS);
      },
      undoLatest() {
        const latest = current.current.findLast((toast) => toast.action);
        if (!latest) return false;
        close(latest.id, 'action');
        return true;
      },
    }),
    [close, update],
  );
  const dismiss = (id: number) => close(id, 'closed');

  const render = (list: Toast[]) =>
    list.map((toast) => (
      <div key={toast.id} className={`toast toast-${toast.tone}`}>
        <span>{toast.message}</span>
        {toast.action ? (
          <button type="button" className="btn btn-small toast-action" onClick={() => close(toast.id, 'action')}>
            {toast.action.label}
          </button>
        ) : null}
        <button type="button" className="btn-icon" onClick={() => dismiss(toast.id)} aria-label={t('common.dismiss')}>
          <span aria-hidden="true">×</span>
        </button>
      </div>
    ));

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts">
        <div role="status" aria-live="polite">
          {render(toasts.filter((toast) => toast.tone !== 'error'))}
        </div>
        <div role="alert" aria-live="assertive">
          {render(toasts.filter((toast) => toast.tone === 'error'))}
        </div>
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): ToastApi {
  const context = useContext(ToastContext);
  if (!context) throw new Error('useToast outside ToastProvider');
  return context;
}
