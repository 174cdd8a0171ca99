import { browserSupportsWebAuthn, startAuthentication } from '@simplewebauthn/browser';
import { type SubmitEvent, useState } from 'react';
import { type Translate, useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { isApiError } from '../lib/trpc';
import { Alert } from './Feedback';
import { Field } from './Field';

/** What an `MFA_REQUIRED` refusal carries in `data.details`. */
export interface FactorChallenge {
  challenge: string;
  methods: ('totp' | 'recovery_code' | 'passkey')[];
  passkeyOptions?: Record<string, unknown>;
}

export type FactorAnswer = { code: string } | { recoveryCode: string } | { passkey: Record<string, unknown> };

export function challengeOf(details: Record<string, unknown> | undefined): FactorChallenge | null {
  if (!details || typeof details.challenge !== 'string' || !Array.isArray(details.methods)) return null;
  return details as unknown as FactorChallenge;
}

/**
 * Why using or adding a passkey failed, in the reader's words. The browser's own refusals come
 * before any answer from the API, so read as API errors they were "could not reach the server".
 */
export function describePasskeyFailure(error: unknown, t: Translate): string {
  if (isApiError(error)) return describeError(error, t).message;
  const { name, code } = error instanceof Error ? (error as Error & { code?: string }) : { name: '', code: undefined };
  // An IP address, or a host other than the one passkeys are made for (RP_ID).
  if (code === 'ERROR_INVALID_DOMAIN' || code === 'ERROR_INVALID_RP_ID' || name === 'SecurityError') return t('mfa.passkeyWrongAddress');
  if (name === 'NotAllowedError' || name === 'AbortError') return t('mfa.passkeyCancelled');
  if (!browserSupportsWebAuthn()) return t('mfa.passkeyUnsupported');
  return t('mfa.passkeyFailed');
}

/** Asks the browser's passkey (authenticator) to answer the challenge's WebAuthn options. */
export async function answerWithPasskey(options: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await startAuthentication({ optionsJSON: options as never });
  return response as unknown as Record<string, unknown>;
}

/**
 * The second step of a sign-in or a step-up: the authenticator app's code, a recovery code, or a
 * passkey, whichever the account has. `submit` sends the answer; its refusal is shown here.
 */
export function SecondFactorForm({
  challenge,
  submit,
  busy,
  error,
}: {
  challenge: FactorChallenge;
  submit(answer: FactorAnswer): void;
  busy: boolean;
  error: unknown;
}) {
  const { t } = useI18n();
  const hasTotp = challenge.methods.includes('totp');
  const [mode, setMode] = useState<'totp' | 'recovery'>(hasTotp ? 'totp' : 'recovery');
  const [code, setCode] = useState('');
  const [passkeyFailure, setPasskeyFailure] = useState<unknown>(null);

  function send(event: SubmitEvent) {
    event.preventDefault();
    if (code.trim() === '') return;
    submit(mode === 'totp' ? { code: code.trim() } : { recoveryCode: code.trim() });
  }

  async function answerByPasskey() {
    if (!challenge.passkeyOptions) return;
    setPasskeyFailure(null);
    try {
      submit({ passkey: await answerWithPasskey(challenge.passkeyOptions) });
    } catch (failure) {
      setPasskeyFailure(failure);
    }
  }

  const failure = error ? describeError(error, t).message : passkeyFailure ? describePasskeyFailure(passkeyFailure, t) : null;
  return (
    <div className="stack" data-testid="second-factor">
      <p className="muted">{t('mfa.challengeIntro')}</p>
      {challenge.methods.includes('passkey') ? (
        <button type="button" className="btn btn-block" onClick={() => void answerByPasskey()} disabled={busy}>
          {t('mfa.usePasskey')}
        </button>
      ) : null}
      {hasTotp || challenge.methods.includes('recovery_code') ? (
        <form onSubmit={send} noValidate className="form">
          {mode === 'totp' ? (
            <Field
              label={t('mfa.codeLabel')}
              name="code"
              autoComplete="one-time-code"
              inputMode="numeric"
              maxLength={7}
              value={code}
              onValueChange={setCode}
              hint={t('mfa.codeHint')}
              focusOnMount
              required
            />
          ) : (
            <Field
              label={t('mfa.recoveryLabel')}
              name="recoveryCode"
              autoComplete="off"
              spellCheck={false}
              value={code}
              onValueChange={setCode}
              hint={t('mfa.recoveryHint')}
              focusOnMount
              required
            />
          )}
          <Alert message={failure} />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy} aria-busy={busy || undefined}>
            {busy ? t('mfa.verifying') : t('mfa.verify')}
          </button>
          {hasTotp && challenge.methods.includes('recovery_code') ? (
            <button
              type="button"
              className="btn btn-link"
              onClick={() => {
                setMode(mode === 'totp' ? 'recovery' : 'totp');
                setCode('');
              }}
            >
              {mode === 'totp' ? t('mfa.useRecovery') : t('mfa.useApp')}
            </button>
          ) : null}
        </form>
      ) : (
        <Alert message={failure} />
      )}
    </div>
  );
}
