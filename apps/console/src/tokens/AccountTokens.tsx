import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Alert, Loading } from '../components/Feedback';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { describeError } from '../lib/errors';
import { useStepUp } from '../lib/step-up';
import { type RouterInputs, trpcClient, useTRPC } from '../lib/trpc';
import { CreateTokenForm, NewTokenSecret, TokenTable } from './parts';

/** Account → API tokens: the caller's personal access tokens. */
export function AccountTokens() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const me = useMe();
  const policy = useQuery(trpc.settings.public.queryOptions());
  const tokens = useQuery(trpc.tokens.list.queryOptions());
  const [secret, setSecret] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries(trpc.tokens.pathFilter());

  const stepUp = useStepUp();
  // Minting a credential needs a recent sign-in: the dialog asks for it and the creation is retried.
  const create = useMutation({
    mutationFn: (input: RouterInputs['tokens']['create']) => stepUp(() => trpcClient.tokens.create.mutate(input)),
    onSuccess: (created) => setSecret(created.token),
    onSettled: refresh,
  });
  const revoke = useMutation(
    trpc.tokens.revoke.mutationOptions({
      onSuccess: () => toast.show(t('tokens.revoked')),
      onError: (error) => toast.show(describeError(error, t).message, 'error'),
      onSettled: refresh,
    }),
  );

  return (
    <>
      <p className="muted">{t('tokens.help')}</p>
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
          allowAdmin={me.data?.role === 'admin'}
          maxDays={policy.data?.apiTokenMaxLifetimeDays}
          busy={create.isPending}
          failure={create.error ? describeError(create.error, t) : null}
          onSubmit={(input) => create.mutate(input)}
        />
      )}
      {tokens.isPending ? (
        <Loading />
      ) : tokens.isError ? (
        <Alert message={describeError(tokens.error, t).message} />
      ) : (
        <TokenTable
          tokens={tokens.data.items}
          caption={t('tokens.caption')}
          revoking={revoke.isPending}
          onRevoke={(token) => revoke.mutate({ id: token.id })}
        />
      )}
    </>
  );
}
