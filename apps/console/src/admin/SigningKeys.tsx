import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { QueryRecords, RecordTable } from '../components/RecordTable';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { type MessageKey, useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { type RouterOutputs, useTRPC } from '../lib/trpc';

type Key = RouterOutputs['admin']['keys']['list']['items'][number];

const STATUS_LABELS: Record<Key['status'], MessageKey> = {
  current: 'keys.status.current',
  retired: 'keys.status.retired',
  revoked: 'keys.status.revoked',
};

export function SigningKeys() {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.admin.keys.list.queryOptions());
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [revoking, setRevoking] = useState<Key | null>(null);

  const refresh = () => queryClient.invalidateQueries(trpc.admin.keys.pathFilter());
  // Not optimistic: the new key's id comes from the server, and a wrong guess here would
  // misreport which key signs.
  const rotate = useMutation(
    trpc.admin.keys.rotate.mutationOptions({
      onSuccess: ({ kid }) => {
        setConfirmRotate(false);
        toast.show(t('keys.rotated', { kid }));
      },
      onError: (error) => {
        setConfirmRotate(false);
        toast.show(describeError(error, t).message, 'error');
      },
      onSettled: refresh,
    }),
  );
  const revoke = useMutation(
    trpc.admin.keys.revoke.mutationOptions({
      onSuccess: ({ kid, newKid }) => {
        setRevoking(null);
        toast.show(newKid ? t('keys.revokedReplaced', { kid, newKid }) : t('keys.revoked', { kid }));
      },
      onError: (error) => {
        setRevoking(null);
        toast.show(describeError(error, t).message, 'error');
      },
      onSettled: refresh,
    }),
  );

  return (
    <Page
      title={t('keys.title')}
      actions={
        <button type="button" className="btn btn-primary" onClick={() => setConfirmRotate(true)} disabled={rotate.isPending}>
          {t('keys.rotate')}
        </button>
      }
    >
      <p className="muted">{t('keys.help')}</p>
      <QueryRecords query={keys} items={keys.data?.items} empty={t('keys.empty')}>
        {(items) => (
          <RecordTable
            caption={t('keys.title')}
            columns={[t('keys.kid'), t('keys.status'), t('keys.algorithm'), t('keys.created'), t('keys.retiredOrRevoked')]}
          >
            {items.map((key) => (
              <tr key={key.kid}>
                <th scope="row" className="mono">
                  {key.kid}
                </th>
                <td>
                  <span className={`badge badge-${key.status}`}>{t(STATUS_LABELS[key.status])}</span>
                </td>
                <td>{key.algorithm}</td>
                <td>
                  <time dateTime={key.createdAt}>{dateTime(key.createdAt)}</time>
                </td>
                <td>
                  {key.revokedAt ? (
                    <time dateTime={key.revokedAt}>{dateTime(key.revokedAt)}</time>
                  ) : key.retiredAt ? (
                    <time dateTime={key.retiredAt}>{dateTime(key.retiredAt)}</time>
                  ) : (
                    <span aria-label={t('common.none')}>—</span>
                  )}
                </td>
                <td className="cell-actions">
                  {key.status === 'revoked' ? null : (
                    <button
                      type="button"
                      className="btn btn-danger-outline"
                      onClick={() => setRevoking(key)}
                      aria-label={t('keys.revokeNamed', { kid: key.kid })}
                    >
                      {t('keys.revoke')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </RecordTable>
        )}
      </QueryRecords>
      <ConfirmDialog
        open={confirmRotate}
        title={t('keys.rotateConfirmTitle')}
        confirmLabel={t('keys.rotate')}
        tone="primary"
        busy={rotate.isPending}
        onCancel={() => setConfirmRotate(false)}
        onConfirm={() => rotate.mutate()}
      >
        <p>{t('keys.rotateConfirmBody')}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={revoking !== null}
        title={t('keys.revokeConfirmTitle', { kid: revoking?.kid ?? '' })}
        confirmLabel={t('keys.revoke')}
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate({ kid: revoking.kid })}
      >
        <p>{revoking?.status === 'current' ? t('keys.revokeCurrentConfirmBody') : t('keys.revokeConfirmBody')}</p>
      </ConfirmDialog>
    </Page>
  );
}
