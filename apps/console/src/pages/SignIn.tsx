import { loginInput } from '@stm/validators';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { Link, useSearch } from 'wouter';
import { Alert } from '../components/Feedback';
import { Field } from '../components/Field';
import { AuthFrame } from '../components/AuthFrame';
import { useI18n } from '../i18n';
import { safeNext } from '../lib/auth';
import { describeError, type FieldErrors, validate } from '../lib/errors';
import { session, useTRPC } from '../lib/trpc';

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
  const login = useMutation(trpc.auth.login.mutationOptions({ onSuccess: (grant) => session.signIn(grant) }));

  function submit(event: FormEvent) {
    event.preventDefault();
    const checked = validate(loginInput, { username, password, refresh_token_delivery: 'cookie', remember_me: remember }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) login.mutate(checked.data);
  }

  const failure = login.error ? describeError(login.error, t) : null;
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
        <Alert message={failure?.message} />
        <button type="submit" className="btn btn-primary btn-block" disabled={login.isPending} aria-busy={login.isPending || undefined}>
          {login.isPending ? t('signIn.submitting') : t('signIn.submit')}
        </button>
      </form>
      {policy.data?.registrationOpen === false ? null : (
        <p className="auth-alt">
          {t('signIn.noAccount')} <Link href="/register">{t('signIn.register')}</Link>
        </p>
      )}
    </AuthFrame>
  );
}
