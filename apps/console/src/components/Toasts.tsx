import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from 'react';
import { useI18n } from '../i18n';

type Tone = 'success' | 'error' | 'info';
interface Toast {
  id: number;
  message: string;
  tone: Tone;
}

interface ToastApi {
  show(message: string, tone?: Tone): void;
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

  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((toast) => toast.id !== id)), []);
  const api = useMemo<ToastApi>(
    () => ({
      show(message, tone = 'success') {
        const id = nextId.current++;
        setToasts((list) => [...list.slice(1 - MAX_SHOWN), { id, message, tone }]);
        window.setTimeout(() => dismiss(id), LIFETIME_MS);
      },
    }),
    [dismiss],
  );

  const render = (list: Toast[]) =>
    list.map((toast) => (
      <div key={toast.id} className={`toast toast-${toast.tone}`}>
        <span>{toast.message}</span>
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
