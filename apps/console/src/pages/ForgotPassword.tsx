import { forgotPasswordInput } from '@stm/validators';
import { useMutation } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { Link } from 'wouter';
import { AuthFrame } from '../components/AuthFrame';
import { Alert } from '../components/Feedback';
import { Field } from '../components/Field';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';

/**
 * "Forgot password": asks for a reset link by username or email address. The server answers
 * alike whether or not an account matches, and so does this page.
 */
export function ForgotPassword() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const [identifier, setIdentifier] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const ask = useMutation(trpc.auth.forgotPassword.mutationOptions());

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(forgotPasswordInput, { identifier }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) ask.mutate(checked.data);
  }

  if (ask.isSuccess) {
    return (
      <AuthFrame title={t('forgot.sentTitle')}>
        <Alert tone="success" message={t('forgot.sent')} />
        <p className="auth-alt">
          <Link href="/sign-in">{t('register.backToSignIn')}</Link>
        </p>
      </AuthFrame>
    );
  }

  const shown = formErrors(['identifier'], errors, ask.error ? describeError(ask.error, t) : null);
  return (
    <AuthFrame title={t('forgot.title')}>
      <p className="muted">{t('forgot.help')}</p>
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('forgot.identifier')}
          name="identifier"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={identifier}
          onValueChange={setIdentifier}
          error={shown.field('identifier')}
          required
        />
        <Alert message={shown.form} />
        <button type="submit" className="btn btn-primary btn-block" disabled={ask.isPending} aria-busy={ask.isPending || undefined}>
          {ask.isPending ? t('common.saving') : t('forgot.submit')}
        </button>
      </form>
      <p className="auth-alt">
        <Link href="/sign-in">{t('register.backToSignIn')}</Link>
      </p>
    </AuthFrame>
  );
}
