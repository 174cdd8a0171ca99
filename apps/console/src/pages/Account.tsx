import { changePasswordInput } from '@stm/validators';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, type ReactNode, useId, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Alert, Empty, Loading } from '../components/Feedback';
import { LoadFailed, PagedTable, usePagedItems } from '../components/PagedList';
import { ConfirmPasswordField, Field } from '../components/Field';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe, useSignOut } from '../lib/auth';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useStepUp } from '../lib/step-up';
import { type RouterOutputs, trpcClient, useTRPC } from '../lib/trpc';
import { describeUserAgent } from '../lib/user-agent';
import { AccountEmail } from './AccountEmail';
import { NotificationPreferences } from './NotificationPreferences';
import { AccountTokens } from '../tokens/AccountTokens';

export function Account() {
  const { t } = useI18n();
  return (
    <Page title={t('account.title')}>
      <div className="stack">
        <Profile />
        <Usage />
        <Section title={t('email.title')}>
          <AccountEmail />
        </Section>
        <Section title={t('notifications.prefsTitle')}>
          <p className="muted">{t('notifications.prefsHelp')}</p>
          <NotificationPreferences />
        </Section>
        <ChangePassword />
        <Sessions />
        <ApiTokens />
      </div>
    </Page>
  );
}

function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-header">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

function ApiTokens() {
  const { t } = useI18n();
  return (
    <Section title={t('tokens.title')}>
      <AccountTokens />
    </Section>
  );
}

function Profile() {
  const { t, date } = useI18n();
  const me = useMe();
  return (
    <Section title={t('account.profile')}>
      {me.isPending ? (
        <Loading />
      ) : me.isError ? (
        <Alert message={describeError(me.error, t).message} />
      ) : (
        <dl className="facts">
          <div>
            <dt>{t('field.username')}</dt>
            <dd data-testid="profile-username">{me.data.username}</dd>
          </div>
          <div>
            <dt>{t('account.role')}</dt>
            <dd>{t(me.data.role === 'admin' ? 'role.admin' : 'role.user')}</dd>
          </div>
          <div>
            <dt>{t('account.memberSince')}</dt>
            <dd>
              <time dateTime={me.data.createdAt}>{date(me.data.createdAt)}</time>
            </dd>
          </div>
        </dl>
      )}
    </Section>
  );
}

/** What the user has made beside the limits the administrators set (none for administrators). */
function Usage() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const usage = useQuery(trpc.auth.usage.queryOptions());
  const row = (label: string, { used, limit }: { used: number; limit: number | null }) => (
    <div>
      <dt>{label}</dt>
      <dd>{limit === null ? t('account.usageUnlimited', { used }) : t('account.usageOf', { used, limit })}</dd>
    </div>
  );
  return (
    <Section title={t('account.usage')}>
      {usage.isPending ? (
        <Loading />
      ) : usage.isError ? (
        <Alert message={describeError(usage.error, t).message} />
      ) : (
        <dl className="facts" data-testid="usage">
          {row(t('account.usageTasks'), usage.data.tasks)}
          {row(t('account.usageProjects'), usage.data.projects)}
          {row(t('account.usageComments'), usage.data.comments)}
        </dl>
      )}
    </Section>
  );
}

function ChangePassword() {
  const { t, plural } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const me = useMe();
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});

  const stepUp = useStepUp();
  // Needs a recent sign-in: asked for in a dialog, then the change is sent again.
  const change = useMutation({
    ...trpc.auth.changePassword.mutationOptions({
      onSuccess: ({ endedSessions }) => {
        setCurrent('');
        setNew('');
        setConfirm('');
        toast.show(endedSessions > 0 ? plural('account.passwordChangedEnded', endedSessions) : t('account.passwordChanged'));
        void queryClient.invalidateQueries(trpc.auth.sessions.pathFilter());
      },
    }),
    mutationFn: (input: { currentPassword: string; newPassword: string }) => stepUp(() => trpcClient.auth.changePassword.mutate(input)),
  });

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(changePasswordInput, { currentPassword, newPassword }, t);
    const found: FieldErrors = checked.ok ? {} : { ...checked.errors };
    if (!found.newPassword && newPassword !== confirm) found.confirmPassword = t('validation.passwordsDiffer');
    setErrors(found);
    if (checked.ok && Object.keys(found).length === 0) change.mutate(checked.data);
  }

  const shown = formErrors(['currentPassword', 'newPassword'], errors, change.error ? describeError(change.error, t) : null);

  return (
    <Section title={t('account.changePassword')}>
      <p className="muted">{t('account.changePasswordHelp')}</p>
      <form onSubmit={submit} noValidate className="form form-narrow">
        {/* Lets password managers file the new password under the right account. */}
        <input type="text" name="username" autoComplete="username" value={me.data?.username ?? ''} readOnly hidden />
        <Field
          label={t('field.currentPassword')}
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          value={currentPassword}
          onValueChange={setCurrent}
          error={shown.field('currentPassword')}
          required
        />
        <Field
          label={t('field.newPassword')}
          name="newPassword"
          type="password"
          autoComplete="new-password"
          value={newPassword}
          onValueChange={setNew}
          error={shown.field('newPassword')}
          required
        />
        <ConfirmPasswordField label={t('field.confirmNewPassword')} value={confirm} onValueChange={setConfirm} error={errors.confirmPassword} />
        <Alert message={shown.form} />
        <div>
          <button type="submit" className="btn btn-primary" disabled={change.isPending} aria-busy={change.isPending || undefined}>
            {change.isPending ? t('common.saving') : t('account.changePasswordSubmit')}
          </button>
        </div>
      </form>
    </Section>
  );
}

type SessionRow = RouterOutputs['auth']['sessions']['items'][number];

/** Sessions per page; an account has at most 50. */
const SESSIONS_INPUT = { limit: 20 };

function Sessions() {
  const { t, plural, dateTime } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  // Always ask the server: this list is how a user notices a session they did not open.
  const sessions = useInfiniteQuery(trpc.auth.sessions.infiniteQueryOptions(SESSIONS_INPUT, { getNextPageParam: (last) => last.nextCursor, staleTime: 0 }));
  const loaded = usePagedItems(sessions.data);
  const [revoking, setRevoking] = useState<SessionRow | null>(null);
  const [confirmEverywhere, setConfirmEverywhere] = useState(false);
  const signOutEverywhere = useSignOut('everywhere');
  const sessionsKey = trpc.auth.sessions.infiniteQueryKey(SESSIONS_INPUT);
  // This browser first, then newest sign-in first, as the server sends them.
  const items = [...loaded].sort((a, b) => Number(b.current) - Number(a.current));
  const deviceOf = (item: SessionRow) => describeUserAgent(item.userAgent) ?? t('account.unknownDevice');

  // Optimistic: the row goes at once and comes back if the server says no.
  const revoke = useMutation(
    trpc.auth.revokeSession.mutationOptions({
      onMutate: async ({ id }) => {
        await queryClient.cancelQueries(trpc.auth.sessions.pathFilter());
        const previous = queryClient.getQueryData(sessionsKey);
        queryClient.setQueryData(
          sessionsKey,
          (data) => data && { ...data, pages: data.pages.map((page) => ({ ...page, items: page.items.filter((item) => item.id !== id) })) },
        );
        return { previous };
      },
      onError: (error, _input, context) => {
        if (context?.previous) queryClient.setQueryData(sessionsKey, context.previous);
        toast.show(describeError(error, t).message, 'error');
      },
      onSuccess: () => toast.show(t('account.sessionRevoked')),
      onSettled: () => queryClient.invalidateQueries(trpc.auth.sessions.pathFilter()),
    }),
  );

  // One click: this browser stays signed in, so nothing is lost and no question is needed.
  const signOutOthers = useMutation(
    trpc.auth.logoutOthers.mutationOptions({
      onSuccess: ({ endedSessions }) => toast.show(plural('account.otherSessionsEnded', endedSessions)),
      onError: (error) => toast.show(describeError(error, t).message, 'error'),
      onSettled: () => queryClient.invalidateQueries(trpc.auth.sessions.pathFilter()),
    }),
  );
  const othersShown = items.some((item) => !item.current);

  return (
    <Section
      title={t('account.sessions')}
      actions={
        <>
          {othersShown ? (
            <button
              type="button"
              className="btn"
              onClick={() => signOutOthers.mutate()}
              disabled={signOutOthers.isPending}
              aria-busy={signOutOthers.isPending || undefined}
            >
              {t('account.signOutOthers')}
            </button>
          ) : null}
          <button type="button" className="btn btn-danger-outline" onClick={() => setConfirmEverywhere(true)}>
            {t('account.signOutEverywhere')}
          </button>
        </>
      }
    >
      <p className="muted">{t('account.sessionsHelp')}</p>
      {sessions.isPending ? (
        <Loading />
      ) : sessions.isError ? (
        <LoadFailed error={sessions.error} onRetry={() => void sessions.refetch()} />
      ) : items.length === 0 ? (
        <Empty title={t('account.noSessions')} />
      ) : (
        <PagedTable
          list={sessions}
          caption={t('account.sessionsCaption')}
          className="session-table"
          columns={[t('account.sessionDevice'), t('account.sessionAddress'), t('account.sessionStarted'), t('account.sessionLastUsed'), t('common.actions')]}
        >
          {items.map((item) => (
            <tr key={item.id} className="session" data-current={item.current || undefined}>
              <th scope="row" className="session-device">
                {deviceOf(item)}
                {item.current ? <span className="badge">{t('account.thisDevice')}</span> : null}
                {item.remember ? <span className="badge badge-muted">{t('account.keptSignedIn')}</span> : null}
              </th>
              <td>{item.ip ?? '—'}</td>
              <td>
                <time dateTime={item.createdAt}>{dateTime(item.createdAt)}</time>
              </td>
              <td>
                <time dateTime={item.lastUsedAt}>{dateTime(item.lastUsedAt)}</time>
              </td>
              <td>
                {item.current ? null : (
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => setRevoking(item)}
                    aria-label={t('account.revokeSessionNamed', { device: deviceOf(item), started: dateTime(item.createdAt) })}
                  >
                    {t('account.revokeSession')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </PagedTable>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={t('account.revokeSessionConfirmTitle')}
        confirmLabel={t('account.revokeSession')}
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          if (revoking) revoke.mutate({ id: revoking.id });
          setRevoking(null);
        }}
      >
        <p>{t('account.revokeSessionConfirmBody')}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirmEverywhere}
        title={t('account.signOutEverywhereConfirmTitle')}
        confirmLabel={t('account.signOutEverywhere')}
        busy={signOutEverywhere.isPending}
        onCancel={() => setConfirmEverywhere(false)}
        onConfirm={() => signOutEverywhere.mutate()}
      >
        <p>{t('account.signOutEverywhereConfirmBody')}</p>
      </ConfirmDialog>
    </Section>
  );
}
