import { registerInput } from '@stm/validators';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { AuthFrame } from '../components/AuthFrame';
import { Alert } from '../components/Feedback';
import { ConfirmPasswordField, Field } from '../components/Field';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, reasonOf, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import type { SignInLocationState } from './SignIn';

export function Register() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const [, navigate] = useLocation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  // Told before typing, not after: an administrator may have closed registration.
  const policy = useQuery(trpc.settings.public.queryOptions());

  const register = useMutation(
    trpc.auth.register.mutationOptions({
      onSuccess: (user) => navigate('/sign-in', { state: { registered: user.username } satisfies SignInLocationState }),
    }),
  );

  function submit(event: FormEvent) {
    event.preventDefault();
    const checked = validate(registerInput, { username, password }, t);
    const found: FieldErrors = checked.ok ? {} : { ...checked.errors };
    if (!found.password && password !== confirm) found.confirmPassword = t('validation.passwordsDiffer');
    setErrors(found);
    if (checked.ok && Object.keys(found).length === 0) register.mutate(checked.data);
  }

  if (policy.data?.registrationOpen === false || reasonOf(register.error) === 'REGISTRATION_CLOSED') {
    return (
      <AuthFrame title={t('register.closedTitle')}>
        <p>{t('error.REGISTRATION_CLOSED')}</p>
        <p className="auth-alt">
          <Link href="/sign-in">{t('register.backToSignIn')}</Link>
        </p>
      </AuthFrame>
    );
  }

  // A refusal about one field (taken name, weak password) is shown at that field.
  const shown = formErrors(['username', 'password'], errors, register.error ? describeError(register.error, t) : null);
  return (
    <AuthFrame title={t('register.title')}>
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
          hint={t('register.passwordHint')}
          value={password}
          onValueChange={setPassword}
          error={shown.field('password')}
          required
        />
        <ConfirmPasswordField label={t('field.confirmPassword')} value={confirm} onValueChange={setConfirm} error={errors.confirmPassword} />
        <Alert message={shown.form} />
        <button type="submit" className="btn btn-primary btn-block" disabled={register.isPending} aria-busy={register.isPending || undefined}>
          {register.isPending ? t('register.submitting') : t('register.submit')}
        </button>
      </form>
      <p className="auth-alt">
        {t('register.haveAccount')} <Link href="/sign-in">{t('register.signIn')}</Link>
      </p>
    </AuthFrame>
  );
}
