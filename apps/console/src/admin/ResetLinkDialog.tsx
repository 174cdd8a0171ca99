import { useId, useRef, useState } from 'react';
import { Dialog } from '../components/Dialog';
import { useI18n } from '../i18n';
import { useFocusOnMount } from '../lib/focus';

export interface ShownResetLink {
  username: string;
  url: string;
  expiresAt: string;
}

/**
 * The reset link, shown this once: only its hash is stored, so closing this dialog loses it (a
 * new one can be made, which voids this one).
 */
export function ResetLinkDialog({ link, onClose }: { link: ShownResetLink; onClose(): void }) {
  const { t, dateTime } = useI18n();
  const inputId = useId();
  const bodyId = useId();
  const input = useRef<HTMLInputElement>(null);
  useFocusOnMount(input);
  const [copy, setCopy] = useState<'idle' | 'copied' | 'failed'>('idle');

  async function copyLink() {
    try {
      await navigator.clipboard.writeText(link.url);
      setCopy('copied');
    } catch {
      // No clipboard access (permission, insecure origin): the text is selected for Ctrl+C instead.
      input.current?.focus();
      input.current?.select();
      setCopy('failed');
    }
  }

  return (
    <Dialog open title={t('resetLink.title', { username: link.username })} onClose={onClose} describedBy={bodyId} wide>
      <div id={bodyId} className="dialog-body">
        <p>{t('resetLink.body', { username: link.username })}</p>
        <p>
          {t('resetLink.expires')} <time dateTime={link.expiresAt}>{dateTime(link.expiresAt)}</time>
        </p>
        <p className="dialog-warning">
          <span aria-hidden="true">⚠ </span>
          {t('resetLink.once')}
        </p>
      </div>
      <div className="field">
        <label htmlFor={inputId}>{t('resetLink.label')}</label>
        <div className="copy-row">
          <input
            ref={input}
            id={inputId}
            className="mono"
            type="text"
            value={link.url}
            readOnly
            spellCheck={false}
            onFocus={(event) => event.currentTarget.select()}
          />
          <button type="button" className="btn btn-primary" onClick={() => void copyLink()}>
            {t('resetLink.copy')}
          </button>
        </div>
        <p className="field-hint" role="status">
          {copy === 'copied' ? t('resetLink.copied') : copy === 'failed' ? t('resetLink.copyFailed') : ''}
        </p>
      </div>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          {t('resetLink.done')}
        </button>
      </div>
    </Dialog>
  );
}
