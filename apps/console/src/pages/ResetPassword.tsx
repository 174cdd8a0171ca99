import { LOWEST_PASSWORD_MIN_LENGTH, resetPasswordInput } from '@stm/validators';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type SubmitEvent, useEffect, useState } from 'react';
import { Link } from 'wouter';
import { AuthFrame } from '../components/AuthFrame';
import { Alert } from '../components/Feedback';
import { ConfirmPasswordField, Field } from '../components/Field';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, reasonOf, validate } from '../lib/errors';
import { passwordPolicyProblem } from '../lib/password';
import { resetTokenFromHash } from '../lib/reset-link';
import { useTRPC } from '../lib/trpc';
import { TokenEntry } from './TokenEntry';

/**
 * Where a reset link leads (one an administrator handed over, or one mailed on "forgot
 * password"): the user sets a new password. Open to anyone with the link, signed in or not; the
 * token is the proof.
 */
export function ResetPassword() {
  const { t } = useI18n();
  const trpc = useTRPC();
  // Read once: the address bar loses the token right after (see below), a reload with it.
  const [token, setToken] = useState(() => resetTokenFromHash(window.location.hash));
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const policy = useQuery(trpc.settings.public.queryOptions());
  const minLength = policy.data?.passwordMinLength;

  // Out of the history, the bookmarks and over-the-shoulder view as soon as it has been read.
  useEffect(() => {
    if (window.location.hash) history.replaceState(history.state, '', `${window.location.pathname}${window.location.search}`);
  }, []);

  const reset = useMutation(trpc.auth.resetPassword.mutationOptions());

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (!token) return;
    const checked = validate(resetPasswordInput, { token, newPassword }, t);
    const found: FieldErrors = checked.ok ? {} : { ...checked.errors };
    // Until the live policy has loaded, the least any policy asks for: a short password is never
    // sent to the server just because the page was quicker than the policy.
    const min = minLength ?? LOWEST_PASSWORD_MIN_LENGTH;
    const problem = found.newPassword ? undefined : passwordPolicyProblem(newPassword, undefined, min);
    if (problem) found.newPassword = t(`error.${problem}`, { min });
    if (!found.newPassword && newPassword !== confirm) found.confirmPassword = t('validation.passwordsDiffer');
    setErrors(found);
    if (checked.ok && Object.keys(found).length === 0) reset.mutate(checked.data);
  }

  if (!token) return <TokenEntry title={t('resetPassword.title')} onToken={setToken} />;

  if (reasonOf(reset.error) === 'RESET_TOKEN_INVALID') {
    return (
      <AuthFrame title={t('resetPassword.invalidTitle')}>
        <p>{t('error.RESET_TOKEN_INVALID')}</p>
        <p className="auth-alt">
          <Link href="/sign-in">{t('register.backToSignIn')}</Link>
        </p>
      </AuthFrame>
    );
  }

  if (reset.isSuccess) {
    return (
      <AuthFrame title={t('resetPassword.doneTitle')}>
        <Alert tone="success" message={t('resetPassword.done')} />
        <p className="auth-alt">
          <Link href="/sign-in">{t('resetPassword.signIn')}</Link>
        </p>
      </AuthFrame>
    );
  }

  const shown = formErrors(['newPassword'], errors, reset.error ? describeError(reset.error, t) : null);
  return (
    <AuthFrame title={t('resetPassword.title')}>
      <p className="muted">{t('resetPassword.help')}</p>
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('field.newPassword')}
          name="newPassword"
          type="password"
          autoComplete="new-password"
          hint={minLength === undefined ? t('register.passwordHint') : t('resetPassword.passwordHint', { min: minLength })}
          value={newPassword}
          onValueChange={setNewPassword}
          error={shown.field('newPassword')}
          required
        />
        <ConfirmPasswordField label={t('field.confirmNewPassword')} value={confirm} onValueChange={setConfirm} error={errors.confirmPassword} />
        <Alert message={shown.form} />
        <button type="submit" className="btn btn-primary btn-block" disabled={reset.isPending} aria-busy={reset.isPending || undefined}>
          {reset.isPending ? t('common.saving') : t('resetPassword.submit')}
        </button>
      </form>
    </AuthFrame>
  );
}
