import { loginInput } from '@stm/validators';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type SubmitEvent, useId, useState } from 'react';
import { Link, useSearch } from 'wouter';
import { Alert } from '../components/Feedback';
import { Field } from '../components/Field';
import { AuthFrame } from '../components/AuthFrame';
import { answerWithPasskey, challengeOf, describePasskeyFailure, type FactorAnswer, type FactorChallenge, SecondFactorForm } from '../components/SecondFactor';
import { useI18n } from '../i18n';
import { safeNext } from '../lib/auth';
import { describeError, type FieldErrors, validate } from '../lib/errors';
import { isApiError, session, trpcClient, useTRPC } from '../lib/trpc';

/** Set by the registration screen so the new user is greeted and need not retype their name. */
export interface SignInLocationState {
  registered?: string;
}

export function SignIn() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const search = useSearch();
  const next = safeNext(new URLSearchParams(search).get('next'));
  const [registered] = useState(() => (history.state as SignInLocationState | null)?.registered);
  const [username, setUsername] = useState(registered ?? '');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(false);
  const rememberId = useId();
  const [errors, setErrors] = useState<FieldErrors>({});

  // No way to a page that would only say registration is closed.
  const policy = useQuery(trpc.settings.public.queryOptions());
  // The route guard notices the new session and sends the user on to `next`.
  const [challenge, setChallenge] = useState<FactorChallenge | null>(null);
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: (grant) => session.signIn(grant),
      onError: (error) => {
        // The password was right and the account has a second factor: ask for it.
        const asked = isApiError(error) && error.data?.reason === 'MFA_REQUIRED' ? challengeOf(error.data.details) : null;
        if (asked) setChallenge(asked);
      },
    }),
  );
  const complete = useMutation({
    mutationFn: (answer: FactorAnswer) =>
      trpcClient.auth.completeSignIn.mutate({ challenge: challenge?.challenge ?? '', refresh_token_delivery: 'cookie', ...answer } as never),
    onSuccess: (grant) => session.signIn(grant),
    onError: (error) => {
      // Expired, spent, or ended by too many wrong answers: start over with the password.
      if (isApiError(error) && error.data?.reason === 'MFA_CHALLENGE_INVALID') {
        setChallenge(null);
        setPassword('');
      }
    },
  });
  // No username typed: the browser offers this site's passkeys.
  const withPasskey = useMutation({
    mutationFn: async () => {
      const started = await trpcClient.auth.passkeyOptions.mutate({ remember_me: remember });
      const passkey = await answerWithPasskey(started.options);
      return trpcClient.auth.passkeySignIn.mutate({ challenge: started.challenge, passkey: passkey as never, refresh_token_delivery: 'cookie' });
    },
    onSuccess: (grant) => session.signIn(grant),
  });

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(loginInput, { username, password, refresh_token_delivery: 'cookie', remember_me: remember }, t);
    setErrors(checked.ok ? {} : checked.errors);
    // One way of signing in at a time: the passkey's failure is no longer news.
    withPasskey.reset();
    if (checked.ok) login.mutate(checked.data);
  }

  if (challenge) {
    return (
      <AuthFrame title={t('mfa.title')}>
        <SecondFactorForm challenge={challenge} submit={(answer) => complete.mutate(answer)} busy={complete.isPending} error={complete.error} />
        <p className="auth-alt">
          <button
            type="button"
            className="btn btn-link"
            onClick={() => {
              setChallenge(null);
              complete.reset();
            }}
          >
            {t('mfa.startOver')}
          </button>
        </p>
      </AuthFrame>
    );
  }

  const loginFailure = login.error && !(isApiError(login.error) && login.error.data?.reason === 'MFA_REQUIRED') ? describeError(login.error, t) : null;
  const restartedFailure = complete.error ? describeError(complete.error, t) : null;
  const passkeyFailure = withPasskey.error ? describePasskeyFailure(withPasskey.error, t) : null;
  const failure = loginFailure ?? restartedFailure;
  return (
    <AuthFrame title={t('signIn.title')}>
      {registered ? <Alert tone="success" message={t('signIn.registered', { username: registered })} /> : null}
      {next ? <p className="muted">{t('signIn.continueTo')}</p> : null}
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('field.username')}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={username}
          onValueChange={setUsername}
          error={errors.username}
          required
        />
        <Field
          label={t('field.password')}
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onValueChange={setPassword}
          error={errors.password}
          required
        />
        <div className="field">
          <label className="check" htmlFor={rememberId}>
            <input
              id={rememberId}
              type="checkbox"
              name="remember_me"
              checked={remember}
              onChange={(event) => setRemember(event.target.checked)}
              aria-describedby={`${rememberId}-hint`}
            />
            {t('signIn.remember')}
          </label>
          <p id={`${rememberId}-hint`} className="field-hint">
            {t('signIn.rememberHint')}
          </p>
        </div>
        <p className="auth-forgot">
          <Link href="/forgot-password">{t('forgot.link')}</Link>
        </p>
        <Alert message={failure?.message} />
        <button type="submit" className="btn btn-primary btn-block" disabled={login.isPending} aria-busy={login.isPending || undefined}>
          {login.isPending ? t('signIn.submitting') : t('signIn.submit')}
        </button>
      </form>
      <div className="stack">
        <button
          type="button"
          className="btn btn-block"
          onClick={() => withPasskey.mutate()}
          disabled={withPasskey.isPending}
          aria-busy={withPasskey.isPending || undefined}
        >
          {t('signIn.withPasskey')}
        </button>
        <Alert message={passkeyFailure} />
      </div>
      {policy.data?.registrationOpen === false ? null : (
        <p className="auth-alt">
          {t('signIn.noAccount')} <Link href="/register">{t('signIn.register')}</Link>
        </p>
      )}
    </AuthFrame>
  );
}
