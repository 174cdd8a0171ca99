import { type Role, USER_SEARCH_MAX } from '@stm/validators';
import { DebouncedInput } from '../components/DebouncedInput';
import { Control } from '../components/Field';
import { useI18n } from '../i18n';
import type { UserAction } from './user-actions';
import { DEFAULT_USER_FILTERS, hasUserFilters, type UserFilters } from './user-filters';

/** A user's row of buttons: each names the user, for screen readers reading it out of the table. */
export function UserRowActions({
  user,
  busy,
  onAction,
  onResetLink,
  onResetFactors,
}: {
  user: { id: number; username: string; role: Role; isActive: boolean };
  busy: boolean;
  onAction(action: UserAction): void;
  onResetLink(): void;
  onResetFactors(): void;
}) {
  const { t } = useI18n();
  const { username } = user;
  const nextRole: Role = user.role === 'admin' ? 'user' : 'admin';
  return (
    <div className="row-actions">
      <button
        type="button"
        className="btn btn-small"
        onClick={() => onAction({ kind: 'role', user, role: nextRole })}
        aria-label={t(nextRole === 'admin' ? 'users.makeAdminNamed' : 'users.makeUserNamed', { username })}
      >
        {t(nextRole === 'admin' ? 'users.makeAdmin' : 'users.makeUser')}
      </button>
      <button
        type="button"
        className="btn btn-small"
        onClick={() => onAction({ kind: 'active', user, isActive: !user.isActive })}
        aria-label={t(user.isActive ? 'users.deactivateNamed' : 'users.activateNamed', { username })}
      >
        {t(user.isActive ? 'users.deactivate' : 'users.activate')}
      </button>
      <button type="button" className="btn btn-small" onClick={onResetLink} disabled={busy} aria-label={t('users.resetLinkNamed', { username })}>
        {t('users.resetLink')}
      </button>
      <button type="button" className="btn btn-small" onClick={onResetFactors} aria-label={`${t('admin.resetFactors')}: ${username}`}>
        {t('admin.resetFactors')}
      </button>
      <button
        type="button"
        className="btn btn-small btn-danger-outline"
        onClick={() => onAction({ kind: 'delete', user })}
        aria-label={t('users.deleteNamed', { username })}
      >
        {t('users.delete')}
      </button>
    </div>
  );
}

/** Search, role and status of the users list; every change goes to the address bar. */
export function UserFilterBar({ filters, onChange }: { filters: UserFilters; onChange(patch: Partial<UserFilters>): void }) {
  const { t } = useI18n();
  return (
    <div role="search" className="filters" aria-label={t('users.filterLabel')}>
      <div className="filters-row">
        <DebouncedInput label={t('users.search')} value={filters.search} maxLength={USER_SEARCH_MAX} onCommit={(search) => onChange({ search })} />
        <Control label={t('users.role')} className="filter-compact">
          {(control) => (
            <select {...control} value={filters.role ?? ''} onChange={(event) => onChange({ role: (event.target.value || null) as Role | null })}>
              <option value="">{t('users.anyRole')}</option>
              <option value="admin">{t('role.admin')}</option>
              <option value="user">{t('role.user')}</option>
            </select>
          )}
        </Control>
        <Control label={t('users.status')} className="filter-compact">
          {(control) => (
            <select
              {...control}
              value={filters.active === null ? '' : String(filters.active)}
              onChange={(event) => onChange({ active: event.target.value === '' ? null : event.target.value === 'true' })}
            >
              <option value="">{t('users.anyStatus')}</option>
              <option value="true">{t('users.active')}</option>
              <option value="false">{t('users.inactive')}</option>
            </select>
          )}
        </Control>
        {hasUserFilters(filters) ? (
          <button type="button" className="btn btn-small" onClick={() => onChange(DEFAULT_USER_FILTERS)}>
            {t('filters.clear')}
          </button>
        ) : null}
      </div>
    </div>
  );
}
