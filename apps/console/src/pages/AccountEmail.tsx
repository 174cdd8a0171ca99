import { setEmailInput } from '@stm/validators';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Alert, Loading } from '../components/Feedback';
import { Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useStepUp } from '../lib/step-up';
import { trpcClient, useTRPC } from '../lib/trpc';

/**
 * The account's email address: the confirmed one, one waiting for confirmation (with a way to
 * send its link again), and a form to give a new one. Changing it needs a recent sign-in, asked
 * for in a dialog.
 */
export function AccountEmail() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const stepUp = useStepUp();
  const current = useQuery(trpc.account.email.queryOptions());
  const [address, setAddress] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [confirmRemove, setConfirmRemove] = useState(false);

  const refresh = () => {
    void queryClient.invalidateQueries(trpc.account.pathFilter());
    void queryClient.invalidateQueries(trpc.notifications.preferences.pathFilter());
  };
  const change = useMutation({
    mutationFn: (email: string | null) => stepUp(() => trpcClient.account.setEmail.mutate({ email })),
    onSuccess: (saved, email) => {
      queryClient.setQueryData(trpc.account.email.queryKey(), saved);
      refresh();
      setAddress('');
      setConfirmRemove(false);
      toast.show(email === null ? t('email.removed') : t('email.saved', { email }));
    },
  });
  const resend = useMutation(
    trpc.account.resendVerification.mutationOptions({
      onSuccess: () => toast.show(t('email.resent', { email: current.data?.pendingEmail ?? '' })),
    }),
  );

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(setEmailInput, { email: address.trim() }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) change.mutate(checked.data.email);
  }

  if (current.isPending) return <Loading />;
  if (current.isError) return <Alert message={describeError(current.error, t).message} />;
  const { email, pendingEmail } = current.data;
  const shown = formErrors(['email'], errors, change.error ? describeError(change.error, t) : null);

  return (
    <div className="stack" data-testid="account-email">
      <p className="muted">{t('email.help')}</p>
      <dl className="facts">
        <div>
          <dt>{t('email.current')}</dt>
          <dd>
            {email ? (
              <>
                <span data-testid="account-email-address">{email}</span> <span className="badge badge-current">{t('email.verified')}</span>
              </>
            ) : (
              t('email.none')
            )}
          </dd>
        </div>
        {pendingEmail ? (
          <div>
            <dt>{t('email.pending')}</dt>
            <dd>
              <span data-testid="account-email-pending">{pendingEmail}</span> <span className="badge badge-muted">{t('email.unverified')}</span>
            </dd>
          </div>
        ) : null}
      </dl>
      {pendingEmail ? (
        <div className="stack">
          <p>{t('email.pendingHelp', { email: pendingEmail })}</p>
          <div>
            <button type="button" className="btn" onClick={() => resend.mutate()} disabled={resend.isPending} aria-busy={resend.isPending || undefined}>
              {t('email.resend')}
            </button>
          </div>
          <Alert message={resend.error ? describeError(resend.error, t).message : null} />
        </div>
      ) : null}
      <form onSubmit={submit} noValidate className="form form-narrow">
        <Field
          label={t('email.newAddress')}
          name="email"
          type="email"
          autoComplete="email"
          value={address}
          onValueChange={setAddress}
          hint={t('email.newAddressHint')}
          error={shown.field('email')}
          required
        />
        <Alert message={shown.form} />
        <div className="form-buttons">
          <button type="submit" className="btn btn-primary" disabled={change.isPending} aria-busy={change.isPending || undefined}>
            {change.isPending ? t('common.saving') : t('email.save')}
          </button>
          {email || pendingEmail ? (
            <button type="button" className="btn btn-danger" onClick={() => setConfirmRemove(true)} disabled={change.isPending}>
              {t('email.remove')}
            </button>
          ) : null}
        </div>
      </form>
      <ConfirmDialog
        open={confirmRemove}
        title={t('email.removeTitle')}
        confirmLabel={t('email.remove')}
        busy={change.isPending}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() => change.mutate(null)}
      >
        <p>{t('email.removeBody')}</p>
      </ConfirmDialog>
    </div>
  );
}
