import { type ReactNode, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n';
import { ConfirmDialog } from './ConfirmDialog';

interface DialogProps {
  open: boolean;
  title: string;
  /** Escape, or a button of the caller's; ignored while busy. */
  onClose(): void;
  busy?: boolean;
  wide?: boolean;
  /** A panel along the right edge, full height, rather than a box in the middle. */
  side?: boolean;
  /** The id of the text that says what the dialog is about, when there is one. */
  describedBy?: string;
  /** The form holds changes: Escape asks before throwing them away (the caller's Cancel does not). */
  confirmDiscard?: boolean;
  children: ReactNode;
}

/**
 * A modal with content of the caller's (a form, a choice). Like ConfirmDialog it is the native
 * `<dialog>`: the page behind is inert, focus starts at the first control inside, Escape closes, and focus goes back to what opened it, also when the dialog
 * leaves the page while still open.
 */
export function Dialog({ open, title, onClose, busy = false, wide = false, side = false, describedBy, confirmDiscard = false, children }: DialogProps) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [askingToDiscard, setAskingToDiscard] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  // Runs before React removes the element: closing (not just removing) it returns the focus.
  useLayoutEffect(() => {
    const dialog = ref.current;
    return () => {
      if (dialog?.open) dialog.close();
    };
  }, []);

  return (
    <>
      <dialog
        ref={ref}
        className={['dialog', wide ? 'dialog-wide' : '', side ? 'dialog-side' : ''].filter(Boolean).join(' ')}
        aria-labelledby={titleId}
        aria-describedby={describedBy}
        onCancel={(event) => {
          event.preventDefault();
          // Only this dialog's own Escape: the question's cancel event must not ask again.
          if (event.target !== event.currentTarget || busy) return;
          if (confirmDiscard) setAskingToDiscard(true);
          else onClose();
        }}
      >
        <h2 id={titleId} className="dialog-title">
          {title}
        </h2>
        {children}
      </dialog>
      <ConfirmDialog
        open={askingToDiscard && open}
        title={t('dialog.discardTitle')}
        confirmLabel={t('dialog.discard')}
        cancelLabel={t('dialog.keepEditing')}
        onCancel={() => setAskingToDiscard(false)}
        onConfirm={() => {
          setAskingToDiscard(false);
          onClose();
        }}
      >
        <p>{t('dialog.discardBody')}</p>
      </ConfirmDialog>
    </>
  );
}
