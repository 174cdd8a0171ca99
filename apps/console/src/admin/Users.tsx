import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useLocation } from 'wouter';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, Loading } from '../components/Feedback';
import { ListSummary, LoadFailed, StaleNotice, LoadMore, usePagedItems } from '../components/PagedList';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { describeError } from '../lib/errors';
import { resetLinkUrl } from '../lib/reset-link';
import { useStepUp } from '../lib/step-up';
import { session, trpcClient, useTRPC } from '../lib/trpc';
import { ResetLinkDialog, type ShownResetLink } from './ResetLinkDialog';
import { UserCreateDialog } from './UserCreateDialog';
import { describeUserAction, type UserAction } from './user-actions';
import { DEFAULT_USER_FILTERS, hasUserFilters, parseUserFilters, userFiltersToListInput, userFiltersToSearch } from './user-filters';
import { UserFilterBar, UserRowActions } from './user-parts';
import { useSearchFilters } from '../lib/url-filters';

/** Accounts: find them, create them, change role and activation, hand out reset links, delete. */
export function Users() {
  const { t, plural, date } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [, navigate] = useLocation();
  const me = useMe();
  const [filters, setFilters] = useSearchFilters(parseUserFilters, userFiltersToSearch);
  const input = useMemo(() => userFiltersToListInput(filters), [filters]);
  const list = useInfiniteQuery(
    trpc.admin.users.list.infiniteQueryOptions(input, {
      getNextPageParam: (last) => last.nextCursor,
      placeholderData: keepPreviousData,
    }),
  );
  const items = usePagedItems(list.data);
  // Two are enough to know whether an administrator is the last active one.
  const activeAdmins = useQuery(trpc.admin.users.list.queryOptions({ role: 'admin', isActive: true, limit: 2 }));
  const [creating, setCreating] = useState(false);
  const [pending, setPending] = useState<UserAction | null>(null);
  const [shownLink, setShownLink] = useState<ShownResetLink | null>(null);
  const [resettingFactors, setResettingFactors] = useState<{ id: number; username: string } | null>(null);
  const stepUp = useStepUp();
  const resetFactors = useMutation({
    mutationFn: (user: { id: number; username: string }) => stepUp(() => trpcClient.admin.users.resetFactors.mutate({ id: user.id })),
    onSuccess: (_result, user) => {
      setResettingFactors(null);
      toast.show(t('admin.resetFactorsDone', { username: user.username }));
    },
    onError: (error) => toast.show(describeError(error, t).message, 'error'),
    onSettled: () => queryClient.invalidateQueries(trpc.admin.audit.pathFilter()),
  });

  const isSelf = (user: { id: number }) => user.id === me.data?.id;
  // Every change shows in the list, in the audit log and, for a deletion, in everyone's tasks.
  const refresh = () =>
    Promise.all([queryClient.invalidateQueries(trpc.admin.users.pathFilter()), queryClient.invalidateQueries(trpc.admin.audit.pathFilter())]);
  const failed = (error: unknown) => {
    setPending(null);
    toast.show(describeError(error, t).message, 'error');
  };

  // A role change needs a recent sign-in: asked for here, then the change is sent again.
  const update = useMutation({
    ...trpc.admin.users.update.mutationOptions({
      onSuccess: async (user, change) => {
        setPending(null);
        if (user.id === me.data?.id && (change.isActive === false || change.role === 'user')) {
          if (change.isActive === false) {
            // The server has ended every session of this account, this one included.
            toast.show(t('users.selfDeactivated'));
            session.end('signed-out');
            return;
          }
          toast.show(t('users.selfDemoted'));
          await queryClient.invalidateQueries(trpc.auth.me.pathFilter());
          navigate('~/tasks');
          return;
        }
        if (change.role === 'admin') toast.show(t('users.madeAdmin', { username: user.username }));
        else if (change.role === 'user') toast.show(t('users.madeUser', { username: user.username }));
        else if (change.isActive === false) toast.show(t('users.deactivated', { username: user.username }));
        else toast.show(t('users.activated', { username: user.username }));
      },
      onError: failed,
      onSettled: refresh,
    }),
    mutationFn: (input: { id: number; role?: 'admin' | 'user'; isActive?: boolean }) => stepUp(() => trpcClient.admin.users.update.mutate(input)),
  });
  const remove = useMutation(
    trpc.admin.users.delete.mutationOptions({
      onSuccess: async (_ok, { id }) => {
        const user = items.find((item) => item.id === id);
        setPending(null);
        if (id === me.data?.id) {
          toast.show(t('users.selfDeleted'));
          session.end('signed-out');
          return;
        }
        toast.show(t('users.deleted', { username: user?.username ?? '' }));
        await queryClient.invalidateQueries(trpc.admin.tasks.pathFilter());
        // The row that held the focus is gone: start again from the heading.
        document.querySelector<HTMLElement>('main h1')?.focus();
      },
      onError: failed,
      onSettled: refresh,
    }),
  );
  const createResetLink = useMutation({
    mutationFn: (input: { id: number }) => stepUp(() => trpcClient.admin.users.createResetLink.mutate(input)),
    onSuccess: ({ token, expiresAt }, { id }) => {
      const user = items.find((item) => item.id === id);
      setShownLink({ username: user?.username ?? '', url: resetLinkUrl(window.location.origin, token), expiresAt });
    },
    onError: (error) => toast.show(describeError(error, t).message, 'error'),
    onSettled: () => queryClient.invalidateQueries(trpc.admin.audit.pathFilter()),
  });

  /**
   * Asked to take away the last active administrator: say at once why that cannot be, rather
   * than ask for a confirmation the server will refuse anyway (it still does, for a race).
   */
  function ask(action: UserAction) {
    const admins = activeAdmins.data?.items;
    const removesAdmin = action.kind === 'delete' || (action.kind === 'role' && action.role === 'user') || (action.kind === 'active' && !action.isActive);
    if (removesAdmin && admins?.length === 1 && admins[0]?.id === action.user.id) {
      toast.show(t('error.LAST_ADMIN'), 'error');
      return;
    }
    setPending(action);
  }

  function confirm(action: UserAction) {
    const { user } = action;
    if (action.kind === 'role') update.mutate({ id: user.id, role: action.role });
    else if (action.kind === 'active') update.mutate({ id: user.id, isActive: action.isActive });
    else remove.mutate({ id: user.id });
  }

  const newUser = (
    <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
      {t('users.new')}
    </button>
  );

  let body;
  if (list.isPending) body = <Loading block />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  else if (items.length === 0) {
    body = hasUserFilters(filters) ? (
      <Empty title={t('users.noMatch')}>
        <button type="button" className="btn" onClick={() => setFilters(DEFAULT_USER_FILTERS)}>
          {t('filters.clear')}
        </button>
      </Empty>
    ) : (
      <Empty title={t('users.empty')} />
    );
  } else {
    body = (
      <>
        <div className="table-wrap">
          {/* The roles are spelled out: on a phone the rows are laid out as cards (CSS display),
              which makes some browsers forget that this is a table. */}
          <table role="table" className="table users-table" aria-busy={list.isPlaceholderData || undefined}>
            <caption className="visually-hidden">{t('admin.users')}</caption>
            <thead role="rowgroup">
              <tr role="row">
                <th role="columnheader" scope="col">
                  {t('field.username')}
                </th>
                <th role="columnheader" scope="col">
                  {t('users.role')}
                </th>
                <th role="columnheader" scope="col">
                  {t('users.status')}
                </th>
                <th role="columnheader" scope="col">
                  {t('users.email')}
                </th>
                <th role="columnheader" scope="col">
                  {t('users.createdAt')}
                </th>
                <th role="columnheader" scope="col">
                  <span className="visually-hidden">{t('common.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup">
              {items.map((user) => (
                <tr role="row" key={user.id} data-username={user.username} className={user.isActive ? undefined : 'row-inactive'}>
                  <th role="rowheader" scope="row" className="cell-username">
                    {user.username}
                    {isSelf(user) ? <span className="badge">{t('users.you')}</span> : null}
                    {user.serviceAccount ? <span className="badge">{t('users.serviceAccount')}</span> : null}
                  </th>
                  <td role="cell">{t(user.role === 'admin' ? 'role.admin' : 'role.user')}</td>
                  <td role="cell">
                    <span className={user.isActive ? 'badge badge-current' : 'badge badge-revoked'}>
                      {t(user.isActive ? 'users.active' : 'users.inactive')}
                    </span>
                  </td>
                  <td role="cell" className="cell-email">
                    {user.email ? (
                      <>
                        {user.email}
                        <span className={user.emailVerified ? 'badge badge-current' : 'badge badge-muted'}>
                          {t(user.emailVerified ? 'email.verified' : 'email.unverified')}
                        </span>
                      </>
                    ) : (
                      <span className="muted">{t('users.noEmail')}</span>
                    )}
                  </td>
                  <td role="cell">
                    <time dateTime={user.createdAt}>{date(user.createdAt)}</time>
                  </td>
                  <td role="cell" className="cell-actions">
                    <UserRowActions
                      user={user}
                      busy={createResetLink.isPending}
                      onAction={ask}
                      onResetLink={() => createResetLink.mutate({ id: user.id })}
                      onResetFactors={() => setResettingFactors(user)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <LoadMore list={list} />
      </>
    );
  }

  const question = pending ? describeUserAction(pending, isSelf(pending.user), t) : null;
  return (
    <Page title={t('admin.users')} actions={newUser}>
      <p className="muted">{t('users.help')}</p>
      <UserFilterBar filters={filters} onChange={setFilters} />
      <ListSummary list={list} shown={plural('users.shown', items.length)} />
      <StaleNotice query={list} />
      {body}
      {creating ? <UserCreateDialog onClose={() => setCreating(false)} onCreated={() => void refresh()} /> : null}
      {shownLink ? <ResetLinkDialog link={shownLink} onClose={() => setShownLink(null)} /> : null}
      <ConfirmDialog
        open={resettingFactors !== null}
        title={t('admin.resetFactorsTitle', { username: resettingFactors?.username ?? '' })}
        confirmLabel={t('admin.resetFactors')}
        busy={resetFactors.isPending}
        onConfirm={() => resettingFactors && resetFactors.mutate(resettingFactors)}
        onCancel={() => setResettingFactors(null)}
      >
        <p>{t('admin.resetFactorsBody')}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={pending !== null}
        title={question?.title ?? ''}
        confirmLabel={question?.confirmLabel ?? ''}
        tone={question?.tone ?? 'danger'}
        busy={update.isPending || remove.isPending}
        onCancel={() => setPending(null)}
        onConfirm={() => pending && confirm(pending)}
      >
        {question?.warning ? (
          <p className="dialog-warning">
            <span aria-hidden="true">⚠ </span>
            {question.warning}
          </p>
        ) : null}
        <p>{question?.body}</p>
      </ConfirmDialog>
    </Page>
  );
}
