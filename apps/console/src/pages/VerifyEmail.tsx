import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useEffect, useState } from 'react';
import { Link } from 'wouter';
import { AuthFrame } from '../components/AuthFrame';
import { Alert } from '../components/Feedback';
import { useI18n } from '../i18n';
import { describeError, reasonOf } from '../lib/errors';
import { linkTokenFromHash } from '../lib/reset-link';
import { useTRPC } from '../lib/trpc';
import { TokenEntry } from './TokenEntry';

/**
 * Where an email confirmation link leads. Open to anyone with the link, signed in or not: the
 * token is the proof. Confirmed by a button rather than on load, so a mail scanner that opens
 * links confirms nothing.
 */
export function VerifyEmail() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Read once: the address bar loses the token right after.
  const [token, setToken] = useState(() => linkTokenFromHash(window.location.hash));
  useEffect(() => {
    if (window.location.hash) history.replaceState(history.state, '', `${window.location.pathname}${window.location.search}`);
  }, []);
  const verify = useMutation(
    trpc.account.verifyEmail.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries(trpc.account.pathFilter());
        void queryClient.invalidateQueries(trpc.notifications.preferences.pathFilter());
      },
    }),
  );

  if (!token) return <TokenEntry title={t('verifyEmail.title')} onToken={setToken} />;

  if (reasonOf(verify.error) === 'EMAIL_TOKEN_INVALID') {
    return (
      <AuthFrame title={t('verifyEmail.invalidTitle')}>
        <p>{t('error.EMAIL_TOKEN_INVALID')}</p>
        <p className="auth-alt">
          <Link href="/account">{t('verifyEmail.continue')}</Link>
        </p>
      </AuthFrame>
    );
  }

  if (verify.isSuccess) {
    return (
      <AuthFrame title={t('verifyEmail.doneTitle')}>
        <Alert tone="success" message={t('verifyEmail.done', { email: verify.data.email })} />
        <p className="auth-alt">
          <Link href="/account">{t('verifyEmail.continue')}</Link>
        </p>
      </AuthFrame>
    );
  }

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (token) verify.mutate({ token });
  }

  return (
    <AuthFrame title={t('verifyEmail.title')}>
      <p className="muted">{t('verifyEmail.help')}</p>
      <form onSubmit={submit} noValidate className="form">
        <Alert message={verify.error ? describeError(verify.error, t).message : null} />
        <button type="submit" className="btn btn-primary btn-block" disabled={verify.isPending} aria-busy={verify.isPending || undefined}>
          {verify.isPending ? t('common.saving') : t('verifyEmail.submit')}
        </button>
      </form>
    </AuthFrame>
  );
}
