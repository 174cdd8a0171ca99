import { type CreateUserInput, createUserInput, type Role } from '@stm/validators';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { Dialog } from '../components/Dialog';
import { Alert } from '../components/Feedback';
import { ConfirmPasswordField, Control, Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { passwordPolicyProblem } from '../lib/password';
import { useStepUp } from '../lib/step-up';
import { trpcClient, useTRPC } from '../lib/trpc';

const FORM_FIELDS = ['username', 'password', 'role'] as const;

/**
 * A new account of any role. The password is checked against the live policy the settings hold
 * (length, not containing the username) before sending; the server has the last word, and its
 * refusal is shown at the field it names.
 */
export function UserCreateDialog({ onClose, onCreated }: { onClose(): void; onCreated(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const settings = useQuery(trpc.settings.get.queryOptions());
  const policy = settings.data?.value;
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});

  const stepUp = useStepUp();
  const create = useMutation({
    // An administrator is created only after a recent sign-in: asked for then, and sent again.
    mutationFn: (input: CreateUserInput) => stepUp(() => trpcClient.admin.users.create.mutate(input)),
    onSuccess: (user) => {
      toast.show(t('users.created', { username: user.username }));
      onCreated();
      onClose();
    },
  });

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(createUserInput, { username, password, role }, t);
    const found: FieldErrors = checked.ok ? {} : { ...checked.errors };
    if (!found.password && policy) {
      const problem = passwordPolicyProblem(password, found.username ? undefined : username, policy.passwordMinLength);
      if (problem) found.password = t(`error.${problem}`, { min: policy.passwordMinLength });
    }
    if (!found.password && password !== confirm) found.confirmPassword = t('validation.passwordsDiffer');
    setErrors(found);
    if (checked.ok && Object.keys(found).length === 0) create.mutate(checked.data);
  }

  const shown = formErrors(FORM_FIELDS, errors, create.error ? describeError(create.error, t) : null);
  const passwordHint = policy
    ? `${t('users.passwordRules', { min: policy.passwordMinLength })}${policy.passwordRefuseCommon ? ` ${t('users.passwordRulesCommon')}` : ''}`
    : undefined;

  return (
    <Dialog open title={t('users.createTitle')} onClose={onClose} busy={create.isPending}>
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('field.username')}
          name="username"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          hint={t('register.usernameHint')}
          value={username}
          onValueChange={setUsername}
          error={shown.field('username')}
          required
        />
        <Control label={t('users.role')} error={shown.field('role')}>
          {(control) => (
            <select {...control} name="role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
              <option value="user">{t('role.user')}</option>
              <option value="admin">{t('role.admin')}</option>
            </select>
          )}
        </Control>
        <Field
          label={t('field.password')}
          name="password"
          type="password"
          autoComplete="new-password"
          hint={passwordHint}
          value={password}
          onValueChange={setPassword}
          error={shown.field('password')}
          required
        />
        <ConfirmPasswordField label={t('field.confirmPassword')} value={confirm} onValueChange={setConfirm} error={errors.confirmPassword} />
        <Alert message={shown.form} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={create.isPending}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={create.isPending} aria-busy={create.isPending || undefined}>
            {create.isPending ? t('common.saving') : t('users.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
