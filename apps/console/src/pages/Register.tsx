import { registerInput } from '@stm/validators';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { AuthFrame } from '../components/AuthFrame';
import { Alert } from '../components/Feedback';
import { ConfirmPasswordField, Field } from '../components/Field';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, reasonOf, validate } from '../lib/errors';
import { passwordPolicyProblem } from '../lib/password';
import { session, useTRPC } from '../lib/trpc';
import type { SignInLocationState } from './SignIn';

/** How soon an open sign-up page learns that registration closed (or opened again). */
const POLICY_REFRESH_MS = 10_000;

export function Register() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const [, navigate] = useLocation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  // Told before typing and while typing, not on submit: an administrator may close registration
  // while this page is open.
  const policy = useQuery({ ...trpc.settings.public.queryOptions(), refetchInterval: POLICY_REFRESH_MS, refetchOnWindowFocus: 'always' });
  const minLength = policy.data?.passwordMinLength;

  // The route guard notices the new session and sends the user on to their tasks.
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: (grant) => session.signIn(grant),
      // Created but not signed in (a busy server, a limit): the sign-in page takes it from there.
      onError: () => navigate('/sign-in', { state: { registered: username.trim() } satisfies SignInLocationState }),
    }),
  );
  const register = useMutation(
    trpc.auth.register.mutationOptions({
      onSuccess: (user) => login.mutate({ username: user.username, password, refresh_token_delivery: 'cookie' }),
    }),
  );

  const closed = policy.data?.registrationOpen === false || reasonOf(register.error) === 'REGISTRATION_CLOSED';

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (closed) return;
    const checked = validate(registerInput, { username, password }, t);
    const found: FieldErrors = checked.ok ? {} : { ...checked.errors };
    if (!found.password && minLength !== undefined) {
      const problem = passwordPolicyProblem(password, found.username ? undefined : username, minLength);
      if (problem) found.password = t(`error.${problem}`, { min: minLength });
    }
    if (!found.password && password !== confirm) found.confirmPassword = t('validation.passwordsDiffer');
    setErrors(found);
    if (checked.ok && Object.keys(found).length === 0) register.mutate(checked.data);
  }

  // A refusal about one field (taken name, weak password) is shown at that field.
  const shown = formErrors(['username', 'password'], errors, register.error && !closed ? describeError(register.error, t) : null);
  const busy = register.isPending || login.isPending || register.isSuccess;
  return (
    <AuthFrame title={closed ? t('register.closedTitle') : t('register.title')}>
      {/* The form stays, with what was typed, in case registration opens again. */}
      <Alert message={closed ? t('error.REGISTRATION_CLOSED') : null} />
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('field.username')}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          hint={t('register.usernameHint')}
          value={username}
          onValueChange={setUsername}
          error={shown.field('username')}
          required
        />
        <Field
          label={t('field.password')}
          name="password"
          type="password"
          autoComplete="new-password"
          hint={minLength === undefined ? t('register.passwordHint') : t('register.passwordHintMin', { min: minLength })}
          value={password}
          onValueChange={setPassword}
          error={shown.field('password')}
          required
        />
        <ConfirmPasswordField label={t('field.confirmPassword')} value={confirm} onValueChange={setConfirm} error={errors.confirmPassword} />
        <Alert message={shown.form} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || closed} aria-busy={busy || undefined}>
          {busy ? t('register.submitting') : t('register.submit')}
        </button>
      </form>
      <p className="auth-alt">
        {t('register.haveAccount')} <Link href="/sign-in">{t('register.signIn')}</Link>
      </p>
    </AuthFrame>
  );
}
