import { createServiceAccountInput, type Role } from '@stm/validators';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { Alert, Loading } from '../components/Feedback';
import { QueryRecords, RecordTable } from '../components/RecordTable';
import { Control, Field } from '../components/Field';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useStepUp } from '../lib/step-up';
import { type RouterInputs, type RouterOutputs, trpcClient, useTRPC } from '../lib/trpc';
import { CreateTokenForm, NewTokenSecret, TokenTable } from '../tokens/parts';

type Account = RouterOutputs['admin']['serviceAccounts']['list']['items'][number];

/** Admin → Service accounts: accounts for programs, and their tokens. */
export function ServiceAccounts() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const accounts = useQuery(trpc.admin.serviceAccounts.list.queryOptions());
  const [open, setOpen] = useState<number | null>(null);
  const refresh = () => queryClient.invalidateQueries(trpc.admin.serviceAccounts.pathFilter());
  const switchOptions = {
    onError: (error: unknown) => toast.show(describeError(error, t).message, 'error'),
    onSettled: refresh,
  };
  const enable = useMutation(trpc.admin.serviceAccounts.enable.mutationOptions(switchOptions));
  const disable = useMutation(trpc.admin.serviceAccounts.disable.mutationOptions(switchOptions));

  return (
    <Page title={t('serviceAccounts.title')}>
      <div className="stack">
        <p className="muted">{t('serviceAccounts.help')}</p>
        <CreateAccountForm onCreated={() => void refresh()} />
        <QueryRecords query={accounts} items={accounts.data?.items} empty={t('serviceAccounts.empty')}>
          {(items) => (
            <RecordTable
              caption={t('serviceAccounts.caption')}
              columns={[t('serviceAccounts.username'), t('serviceAccounts.role'), t('serviceAccounts.state'), t('serviceAccounts.liveTokens')]}
            >
              {items.map((account) => (
                <tr key={account.id}>
                  <th scope="row">{account.username}</th>
                  <td>{t(account.role === 'admin' ? 'role.admin' : 'role.user')}</td>
                  <td>{t(account.isActive ? 'serviceAccounts.active' : 'serviceAccounts.disabled')}</td>
                  <td>{account.liveTokens}</td>
                  <td className="cell-actions">
                    <button type="button" className="btn" onClick={() => setOpen(open === account.id ? null : account.id)} aria-expanded={open === account.id}>
                      {open === account.id ? t('serviceAccounts.hideTokens') : t('serviceAccounts.tokens')}
                    </button>{' '}
                    <button
                      type="button"
                      className={account.isActive ? 'btn btn-danger-outline' : 'btn'}
                      disabled={enable.isPending || disable.isPending}
                      onClick={() => (account.isActive ? disable : enable).mutate({ id: account.id })}
                    >
                      {t(account.isActive ? 'serviceAccounts.disable' : 'serviceAccounts.enable')}
                    </button>
                  </td>
                </tr>
              ))}
            </RecordTable>
          )}
        </QueryRecords>
        {open !== null && accounts.data?.items.some((account) => account.id === open) ? (
          <AccountTokens account={accounts.data.items.find((account) => account.id === open) as Account} onChanged={() => void refresh()} />
        ) : null}
      </div>
    </Page>
  );
}

function CreateAccountForm({ onCreated }: { onCreated(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation(
    trpc.admin.serviceAccounts.create.mutationOptions({
      onSuccess: (account) => {
        toast.show(t('serviceAccounts.created', { username: account.username }));
        setUsername('');
        onCreated();
      },
    }),
  );
  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(createServiceAccountInput, { username, role }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) create.mutate(checked.data);
  }
  const shown = formErrors(['username', 'role'], errors, create.error ? describeError(create.error, t) : null);
  return (
    <form onSubmit={submit} noValidate className="form form-narrow">
      <Field label={t('serviceAccounts.username')} name="username" value={username} onValueChange={setUsername} error={shown.field('username')} required />
      <Control label={t('serviceAccounts.role')} hint={t('serviceAccounts.roleHint')} error={shown.field('role')}>
        {(control) => (
          <select {...control} name="role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
            <option value="user">{t('role.user')}</option>
            <option value="admin">{t('role.admin')}</option>
          </select>
        )}
      </Control>
      <Alert message={shown.form} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={create.isPending} aria-busy={create.isPending || undefined}>
          {t('serviceAccounts.create')}
        </button>
      </div>
    </form>
  );
}

function AccountTokens({ account, onChanged }: { account: Account; onChanged(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const policy = useQuery(trpc.settings.public.queryOptions());
  const tokens = useQuery(trpc.admin.serviceAccounts.tokens.queryOptions({ id: account.id }));
  const [secret, setSecret] = useState<string | null>(null);
  const refresh = () => {
    onChanged();
    return queryClient.invalidateQueries(trpc.admin.serviceAccounts.tokens.pathFilter());
  };
  const stepUp = useStepUp();
  const create = useMutation({
    mutationFn: (input: RouterInputs['admin']['serviceAccounts']['createToken']) => stepUp(() => trpcClient.admin.serviceAccounts.createToken.mutate(input)),
    onSuccess: (created) => setSecret(created.token),
    onSettled: refresh,
  });
  const revoke = useMutation(
    trpc.admin.serviceAccounts.revokeToken.mutationOptions({
      onSuccess: () => toast.show(t('tokens.revoked')),
      onError: (error) => toast.show(describeError(error, t).message, 'error'),
      onSettled: refresh,
    }),
  );
  return (
    <section className="card stack" aria-label={t('serviceAccounts.tokensOf', { username: account.username })}>
      <h2>{t('serviceAccounts.tokensOf', { username: account.username })}</h2>
      {secret ? (
        <NewTokenSecret
          token={secret}
          onDone={() => {
            setSecret(null);
            create.reset();
          }}
        />
      ) : (
        <CreateTokenForm
          key={account.id}
          allowAdmin={account.role === 'admin'}
          maxDays={policy.data?.apiTokenMaxLifetimeDays}
          busy={create.isPending}
          failure={create.error ? describeError(create.error, t) : null}
          onSubmit={(input) => create.mutate({ ...input, accountId: account.id })}
        />
      )}
      {tokens.isPending ? (
        <Loading />
      ) : tokens.isError ? (
        <Alert message={describeError(tokens.error, t).message} />
      ) : (
        <TokenTable
          tokens={tokens.data.items}
          caption={t('serviceAccounts.tokensOf', { username: account.username })}
          revoking={revoke.isPending}
          onRevoke={(token) => revoke.mutate({ accountId: account.id, id: token.id })}
        />
      )}
    </section>
  );
}
