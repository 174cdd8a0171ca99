import { API_TOKEN_SCOPES, type ApiTokenScope, ADMIN_TOKEN_SCOPES, createApiTokenInput } from '@stm/validators';
import { type SubmitEvent, useId, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { RecordTable } from '../components/RecordTable';
import { Alert, Empty } from '../components/Feedback';
import { Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { type MessageKey, useI18n } from '../i18n';
import { type DescribedError, type FieldErrors, formErrors, validate } from '../lib/errors';
import type { RouterOutputs } from '../lib/trpc';

export type ApiToken = RouterOutputs['tokens']['list']['items'][number];
export type NewApiToken = { name: string; scopes: ApiTokenScope[]; expiresInDays: number };

const STATUS_LABELS: Record<ApiToken['status'], MessageKey> = {
  active: 'tokens.status.active',
  expired: 'tokens.status.expired',
  revoked: 'tokens.status.revoked',
};

/** Name, scopes and expiry of a new token; admin scopes are offered only where they may be given. */
export function CreateTokenForm(props: {
  allowAdmin: boolean;
  maxDays: number | undefined;
  busy: boolean;
  failure: DescribedError | null;
  onSubmit(token: NewApiToken): void;
}) {
  const { t } = useI18n();
  const scopesId = useId();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiTokenScope[]>(['tasks:read']);
  const [days, setDays] = useState('30');
  const [errors, setErrors] = useState<FieldErrors>({});
  const offered = API_TOKEN_SCOPES.filter((scope) => props.allowAdmin || !ADMIN_TOKEN_SCOPES.includes(scope));

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(createApiTokenInput, { name, scopes, expiresInDays: days.trim() === '' ? '' : Number(days) }, t);
    const found: FieldErrors = checked.ok ? {} : { ...checked.errors };
    if (scopes.length === 0) found.scopes = t('tokens.pickScope');
    setErrors(found);
    if (checked.ok && Object.keys(found).length === 0) props.onSubmit(checked.data);
  }

  const shown = formErrors(['name', 'scopes', 'expiresInDays'], errors, props.failure);
  return (
    <form onSubmit={submit} noValidate className="form form-narrow">
      <Field label={t('tokens.name')} hint={t('tokens.nameHint')} name="name" value={name} onValueChange={setName} error={shown.field('name')} required />
      <fieldset className="field" aria-describedby={shown.field('scopes') ? `${scopesId}-error` : undefined}>
        <legend>{t('tokens.scopes')}</legend>
        {offered.map((scope) => (
          <label key={scope} className="checkbox">
            <input
              type="checkbox"
              name="scopes"
              value={scope}
              checked={scopes.includes(scope)}
              onChange={(event) => setScopes((current) => (event.target.checked ? [...current, scope] : current.filter((item) => item !== scope)))}
            />{' '}
            <code>{scope}</code> — {t(`tokens.scope.${scope}`)}
          </label>
        ))}
        {shown.field('scopes') ? (
          <p id={`${scopesId}-error`} className="field-error">
            {shown.field('scopes')}
          </p>
        ) : null}
      </fieldset>
      <Field
        label={t('tokens.expiresInDays')}
        hint={props.maxDays === undefined ? undefined : t('tokens.expiresInDaysHint', { max: props.maxDays })}
        name="expiresInDays"
        type="number"
        inputMode="numeric"
        min={1}
        {...(props.maxDays === undefined ? {} : { max: props.maxDays })}
        value={days}
        onValueChange={setDays}
        error={shown.field('expiresInDays')}
        required
      />
      <Alert message={shown.form} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={props.busy} aria-busy={props.busy || undefined}>
          {props.busy ? t('tokens.creating') : t('tokens.create')}
        </button>
      </div>
    </form>
  );
}

/** The secret of a token just made: shown this once, with a copy button. */
export function NewTokenSecret({ token, onDone }: { token: string; onDone(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const id = useId();
  async function copy() {
    try {
      await navigator.clipboard.writeText(token);
      toast.show(t('tokens.copied'));
    } catch {
      toast.show(t('tokens.copyFailed'), 'error');
    }
  }
  return (
    <div className="stack" role="region" aria-labelledby={id}>
      <h3 id={id}>{t('tokens.createdTitle')}</h3>
      <p>{t('tokens.createdHelp')}</p>
      <input className="mono" readOnly value={token} aria-label={t('tokens.createdTitle')} data-testid="new-token" onFocus={(event) => event.target.select()} />
      <div className="row">
        <button type="button" className="btn btn-primary" onClick={() => void copy()}>
          {t('tokens.copy')}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          {t('tokens.done')}
        </button>
      </div>
    </div>
  );
}

/** A list of tokens, with revoke for the live ones (confirmed first). */
export function TokenTable({
  tokens,
  caption,
  revoking,
  onRevoke,
}: {
  tokens: ApiToken[];
  caption: string;
  revoking: boolean;
  onRevoke(token: ApiToken): void;
}) {
  const { t, dateTime } = useI18n();
  const [confirm, setConfirm] = useState<ApiToken | null>(null);
  if (tokens.length === 0) return <Empty title={t('tokens.empty')} />;
  return (
    <>
      <RecordTable
        caption={caption}
        columns={[t('tokens.name'), t('tokens.hint'), t('tokens.scopes'), t('tokens.created'), t('tokens.expires'), t('tokens.lastUsed'), t('tokens.status')]}
      >
        {tokens.map((token) => (
          <tr key={token.id}>
            <th scope="row">{token.name}</th>
            <td className="mono">{token.hint}…</td>
            <td>{token.scopes.join(', ')}</td>
            <td>
              <time dateTime={token.createdAt}>{dateTime(token.createdAt)}</time>
            </td>
            <td>
              <time dateTime={token.expiresAt}>{dateTime(token.expiresAt)}</time>
            </td>
            <td>{token.lastUsedAt ? t('tokens.lastUsedFrom', { time: dateTime(token.lastUsedAt), ip: token.lastUsedIp ?? '—' }) : t('tokens.never')}</td>
            <td>
              <span className={`badge badge-${token.status}`}>{t(STATUS_LABELS[token.status])}</span>
            </td>
            <td className="cell-actions">
              {token.status === 'active' ? (
                <button
                  type="button"
                  className="btn btn-danger-outline"
                  onClick={() => setConfirm(token)}
                  aria-label={t('tokens.revokeNamed', { name: token.name })}
                >
                  {t('tokens.revoke')}
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </RecordTable>
      <ConfirmDialog
        open={confirm !== null}
        title={t('tokens.revokeConfirmTitle', { name: confirm?.name ?? '' })}
        confirmLabel={t('tokens.revoke')}
        busy={revoking}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          if (confirm) onRevoke(confirm);
          setConfirm(null);
        }}
      >
        <p>{t('tokens.revokeConfirmBody')}</p>
      </ConfirmDialog>
    </>
  );
}
