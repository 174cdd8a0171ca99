import { useMutation } from '@tanstack/react-query';
import { createContext, type SubmitEvent, type ReactNode, useCallback, useContext, useRef, useState } from 'react';
import { Dialog } from '../components/Dialog';
import { Alert } from '../components/Feedback';
import { Field } from '../components/Field';
import { challengeOf, type FactorAnswer, type FactorChallenge, SecondFactorForm } from '../components/SecondFactor';
import { useI18n } from '../i18n';
import { describeError, reasonOf } from './errors';
import { isApiError, trpcClient } from './trpc';

type Confirm = () => Promise<boolean>;

const StepUpContext = createContext<Confirm | null>(null);

/**
 * Sensitive changes answer `STEP_UP_REQUIRED` when the sign-in is older than five minutes. This
 * asks for the password (and the second factor) in a dialog, without signing out, and tells the
 * caller whether to try again.
 */
export function StepUpProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const resolver = useRef<((ok: boolean) => void) | null>(null);
  const confirm = useCallback<Confirm>(
    () =>
      new Promise<boolean>((resolve) => {
        resolver.current?.(false);
        resolver.current = resolve;
        setOpen(true);
      }),
    [],
  );
  const finish = (ok: boolean) => {
    resolver.current?.(ok);
    resolver.current = null;
    setOpen(false);
  };
  return (
    <StepUpContext.Provider value={confirm}>
      {children}
      {open ? <ReauthDialog onDone={finish} /> : null}
    </StepUpContext.Provider>
  );
}

/** Runs `action`; if it needs a fresher sign-in, asks for one and runs it again. */
export function useStepUp() {
  const confirm = useContext(StepUpContext);
  return useCallback(
    async <T,>(action: () => Promise<T>): Promise<T> => {
      try {
        return await action();
      } catch (error) {
        if (!confirm || reasonOf(error) !== 'STEP_UP_REQUIRED' || !(await confirm())) throw error;
        return action();
      }
    },
    [confirm],
  );
}

function ReauthDialog({ onDone }: { onDone(ok: boolean): void }) {
  const { t } = useI18n();
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<FactorChallenge | null>(null);
  const withPassword = useMutation({
    mutationFn: (value: string) => trpcClient.auth.reauthenticate.mutate({ password: value }),
    onSuccess: () => onDone(true),
    onError: (error) => {
      const next = isApiError(error) && error.data?.reason === 'MFA_REQUIRED' ? challengeOf(error.data.details) : null;
      if (next) setChallenge(next);
    },
  });
  const withFactor = useMutation({
    mutationFn: (answer: FactorAnswer) => trpcClient.auth.reauthenticate.mutate({ challenge: challenge?.challenge ?? '', ...answer } as never),
    onSuccess: () => onDone(true),
    onError: (error) => {
      // A spent or expired challenge: back to the password.
      if (reasonOf(error) === 'MFA_CHALLENGE_INVALID') setChallenge(null);
    },
  });

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (password !== '') withPassword.mutate(password);
  }

  const passwordError = withPassword.error && reasonOf(withPassword.error) !== 'MFA_REQUIRED' ? describeError(withPassword.error, t).message : null;
  return (
    <Dialog open title={t('stepUp.title')} onClose={() => onDone(false)} busy={withPassword.isPending || withFactor.isPending}>
      <p className="muted">{t('stepUp.intro')}</p>
      {challenge ? (
        <SecondFactorForm challenge={challenge} submit={(answer) => withFactor.mutate(answer)} busy={withFactor.isPending} error={withFactor.error} />
      ) : (
        <form onSubmit={submit} noValidate className="form">
          <Field
            label={t('field.password')}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onValueChange={setPassword}
            focusOnMount
            required
          />
          <Alert message={passwordError} />
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={() => onDone(false)}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="btn btn-primary" disabled={withPassword.isPending} aria-busy={withPassword.isPending || undefined}>
              {t('stepUp.confirm')}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
