import { startRegistration } from '@simplewebauthn/browser';
import { passkeyNameSchema, totpCodeSchema } from '@stm/validators';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, type ReactNode, useId, useState } from 'react';
import { z } from 'zod';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Dialog } from '../components/Dialog';
import { Alert, Loading } from '../components/Feedback';
import { Field } from '../components/Field';
import { describePasskeyFailure } from '../components/SecondFactor';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, validate } from '../lib/errors';
import { useStepUp } from '../lib/step-up';
import { type RouterOutputs, trpcClient, useTRPC } from '../lib/trpc';

type Status = RouterOutputs['mfa']['status'];

const codeForm = z.object({ code: totpCodeSchema });
const nameForm = z.object({ name: passkeyNameSchema });
type Passkey = Status['passkeys'][number];

/** The signed-in user's second factors: authenticator app, passkeys, recovery codes. */
export function Security() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const status = useQuery(trpc.mfa.status.queryOptions(undefined, { staleTime: 0 }));
  const [codes, setCodes] = useState<string[] | null>(null);
  return (
    <Page title={t('security.title')}>
      <div className="stack">
        {status.isPending ? (
          <Loading />
        ) : status.isError ? (
          <Alert message={describeError(status.error, t).message} />
        ) : (
          <>
            <PolicyNotice status={status.data} />
            {codes ? <RecoveryCodes codes={codes} onDone={() => setCodes(null)} /> : null}
            <AuthenticatorApp status={status.data} onRecoveryCodes={setCodes} />
            <Passkeys status={status.data} onRecoveryCodes={setCodes} />
            <RecoveryCodesSection status={status.data} onRecoveryCodes={setCodes} />
          </>
        )}
      </div>
    </Page>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-header">
        <h2 id={id}>{title}</h2>
      </div>
      {children}
    </section>
  );
}

function enrolled(status: Status) {
  return status.totp || status.passkeys.length > 0;
}

function PolicyNotice({ status }: { status: Status }) {
  const { t, date } = useI18n();
  if (!status.policy.required || enrolled(status)) return null;
  const message = status.policy.mustEnrolNow
    ? t('security.policyNow')
    : t('security.policyGrace', { date: status.policy.graceEndsAt ? date(status.policy.graceEndsAt) : '' });
  return <Alert tone="info" message={message} />;
}

function useRefreshStatus() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries(trpc.mfa.status.pathFilter());
}

function AuthenticatorApp({ status, onRecoveryCodes }: { status: Status; onRecoveryCodes(codes: string[]): void }) {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const refresh = useRefreshStatus();
  const toast = useToast();
  const [setup, setSetup] = useState<{ secret: string; qrCode: string } | null>(null);
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState<string | undefined>();
  const [confirmRemove, setConfirmRemove] = useState(false);

  const begin = useMutation({ mutationFn: () => stepUp(() => trpcClient.mfa.totpBegin.mutate()), onSuccess: (started) => setSetup(started) });
  const confirm = useMutation({
    mutationFn: (value: string) => stepUp(() => trpcClient.mfa.totpConfirm.mutate({ code: value })),
    onSuccess: ({ recoveryCodes }) => {
      setSetup(null);
      setCode('');
      toast.show(t('security.totpEnabled'));
      if (recoveryCodes) onRecoveryCodes(recoveryCodes);
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => stepUp(() => trpcClient.mfa.totpDisable.mutate()),
    onSuccess: () => {
      setConfirmRemove(false);
      toast.show(t('security.totpRemoved'));
      void refresh();
    },
  });

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(codeForm, { code }, t);
    setCodeError(checked.ok ? undefined : t('mfa.codeHint'));
    if (checked.ok) confirm.mutate(checked.data.code);
  }

  return (
    <Section title={t('security.totpTitle')}>
      <p className="muted">{t('security.totpHelp')}</p>
      {status.totp ? (
        <div className="inline-actions">
          <p data-testid="totp-on">{t('security.totpOn')}</p>
          <button type="button" className="btn btn-danger" onClick={() => setConfirmRemove(true)}>
            {t('security.totpRemove')}
          </button>
        </div>
      ) : setup ? (
        <form onSubmit={submit} noValidate className="form form-narrow" data-testid="totp-setup">
          <img src={setup.qrCode} alt={t('security.qrAlt')} width="200" height="200" className="qr" />
          <p>
            {t('security.secretLabel')} <code data-testid="totp-secret">{setup.secret}</code>
          </p>
          <Field
            label={t('mfa.codeLabel')}
            name="code"
            autoComplete="one-time-code"
            inputMode="numeric"
            value={code}
            onValueChange={setCode}
            error={codeError}
            hint={t('mfa.codeHint')}
            required
          />
          <Alert message={confirm.error ? describeError(confirm.error, t).message : null} />
          <div className="inline-actions">
            <button type="submit" className="btn btn-primary" disabled={confirm.isPending}>
              {t('security.totpConfirm')}
            </button>
            <button type="button" className="btn" onClick={() => setSetup(null)}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <>
          <Alert message={begin.error ? describeError(begin.error, t).message : null} />
          <button type="button" className="btn btn-primary" onClick={() => begin.mutate()} disabled={begin.isPending}>
            {t('security.totpSetUp')}
          </button>
        </>
      )}
      <ConfirmDialog
        open={confirmRemove}
        title={t('security.totpRemoveTitle')}
        confirmLabel={t('security.totpRemove')}
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
        onCancel={() => setConfirmRemove(false)}
      >
        <p>{t('security.totpRemoveBody')}</p>
        <Alert message={remove.error ? describeError(remove.error, t).message : null} />
      </ConfirmDialog>
    </Section>
  );
}

function Passkeys({ status, onRecoveryCodes }: { status: Status; onRecoveryCodes(codes: string[]): void }) {
  const { t, date } = useI18n();
  const stepUp = useStepUp();
  const refresh = useRefreshStatus();
  const toast = useToast();
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | undefined>();
  const [renaming, setRenaming] = useState<Passkey | null>(null);
  const [removing, setRemoving] = useState<Passkey | null>(null);

  const add = useMutation({
    mutationFn: async (passkeyName: string) => {
      const started = await stepUp(() => trpcClient.mfa.passkeyRegistrationOptions.mutate());
      const response = await startRegistration({ optionsJSON: started.options as never });
      return trpcClient.mfa.passkeyRegister.mutate({ challenge: started.challenge, name: passkeyName, response: response as never });
    },
    onSuccess: ({ recoveryCodes }) => {
      setName('');
      toast.show(t('security.passkeyAdded'));
      if (recoveryCodes) onRecoveryCodes(recoveryCodes);
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => stepUp(() => trpcClient.mfa.passkeyRemove.mutate({ id })),
    onSuccess: () => {
      setRemoving(null);
      toast.show(t('security.passkeyRemoved'));
      void refresh();
    },
  });

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(nameForm, { name }, t);
    setNameError(checked.ok ? undefined : t('security.passkeyNameRequired'));
    if (checked.ok) add.mutate(checked.data.name);
  }

  const addError = add.error ? describePasskeyFailure(add.error, t) : null;
  return (
    <Section title={t('security.passkeysTitle')}>
      <p className="muted">{t('security.passkeysHelp')}</p>
      {status.passkeys.length === 0 ? (
        <p>{t('security.noPasskeys')}</p>
      ) : (
        <table className="table" data-testid="passkeys">
          <thead>
            <tr>
              <th scope="col">{t('security.passkeyName')}</th>
              <th scope="col">{t('security.passkeyAddedOn')}</th>
              <th scope="col">{t('security.passkeyLastUsed')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {status.passkeys.map((passkey) => (
              <tr key={passkey.id}>
                <td>{passkey.name}</td>
                <td>{date(passkey.createdAt)}</td>
                <td>{passkey.lastUsedAt ? date(passkey.lastUsedAt) : t('security.never')}</td>
                <td>
                  <div className="inline-actions">
                    <button
                      type="button"
                      className="btn"
                      onClick={() => setRenaming(passkey)}
                      aria-label={t('security.passkeyRenameNamed', { name: passkey.name })}
                    >
                      {t('security.passkeyRename')}
                    </button>
                    <button
                      type="button"
                      className="btn btn-danger"
                      onClick={() => setRemoving(passkey)}
                      aria-label={t('security.passkeyRemoveNamed', { name: passkey.name })}
                    >
                      {t('security.passkeyRemove')}
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={submit} noValidate className="form form-narrow">
        <Field
          label={t('security.passkeyName')}
          name="passkeyName"
          value={name}
          onValueChange={setName}
          error={nameError}
          hint={t('security.passkeyNameHint')}
          maxLength={64}
          required
        />
        <Alert message={addError} />
        <div>
          <button type="submit" className="btn btn-primary" disabled={add.isPending} aria-busy={add.isPending || undefined}>
            {t('security.passkeyAdd')}
          </button>
        </div>
      </form>
      {renaming ? <RenamePasskey passkey={renaming} onClose={() => setRenaming(null)} /> : null}
      <ConfirmDialog
        open={removing !== null}
        title={t('security.passkeyRemoveTitle', { name: removing?.name ?? '' })}
        confirmLabel={t('security.passkeyRemove')}
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate(removing.id)}
        onCancel={() => setRemoving(null)}
      >
        <p>{t('security.passkeyRemoveBody')}</p>
        <Alert message={remove.error ? describeError(remove.error, t).message : null} />
      </ConfirmDialog>
    </Section>
  );
}

function RenamePasskey({ passkey, onClose }: { passkey: Passkey; onClose(): void }) {
  const { t } = useI18n();
  const refresh = useRefreshStatus();
  const [name, setName] = useState(passkey.name);
  const rename = useMutation({
    mutationFn: (value: string) => trpcClient.mfa.passkeyRename.mutate({ id: passkey.id, name: value }),
    onSuccess: () => {
      void refresh();
      onClose();
    },
  });
  return (
    <Dialog open title={t('security.passkeyRename')} onClose={onClose} busy={rename.isPending}>
      <form
        noValidate
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          const checked = validate(nameForm, { name }, t);
          if (checked.ok) rename.mutate(checked.data.name);
        }}
      >
        <Field label={t('security.passkeyName')} name="name" value={name} onValueChange={setName} maxLength={64} focusOnMount required />
        <Alert message={rename.error ? describeError(rename.error, t).message : null} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={rename.isPending}>
            {t('security.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RecoveryCodesSection({ status, onRecoveryCodes }: { status: Status; onRecoveryCodes(codes: string[]): void }) {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const refresh = useRefreshStatus();
  const regenerate = useMutation({
    mutationFn: () => stepUp(() => trpcClient.mfa.regenerateRecoveryCodes.mutate()),
    onSuccess: ({ recoveryCodes }) => {
      onRecoveryCodes(recoveryCodes);
      void refresh();
    },
  });
  if (!enrolled(status)) return null;
  return (
    <Section title={t('security.recoveryTitle')}>
      <p className="muted">{t('security.recoveryHelp')}</p>
      <p data-testid="recovery-left">{t('security.recoveryLeft', { unused: status.recoveryCodes.unused, total: status.recoveryCodes.total })}</p>
      <Alert message={regenerate.error ? describeError(regenerate.error, t).message : null} />
      <button type="button" className="btn" onClick={() => regenerate.mutate()} disabled={regenerate.isPending}>
        {t('security.recoveryRegenerate')}
      </button>
    </Section>
  );
}

/** New recovery codes, shown once: to copy or download before leaving. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone(): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const text = `${codes.join('\n')}\n`;
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'recovery-codes.txt';
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section className="card" aria-labelledby="recovery-codes-title" data-testid="recovery-codes">
      <div className="card-header">
        <h2 id="recovery-codes-title">{t('security.recoveryNewTitle')}</h2>
      </div>
      <Alert tone="info" message={t('security.recoveryNewHelp')} />
      <ol className="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <div className="inline-actions">
        <button
          type="button"
          className="btn"
          onClick={() =>
            void navigator.clipboard.writeText(text).then(
              () => toast.show(t('security.copied')),
              () => toast.show(t('security.copyFailed'), 'error'),
            )
          }
        >
          {t('security.copy')}
        </button>
        <button type="button" className="btn" onClick={download}>
          {t('security.download')}
        </button>
        <button type="button" className="btn btn-primary" onClick={onDone}>
          {t('security.savedThem')}
        </button>
      </div>
    </section>
  );
}
