import type { Role } from '@stm/validators';
import type { Translate } from '../i18n';

interface ActedOn {
  id: number;
  username: string;
}

/** A change to an account that waits for the admin's confirmation. */
export type UserAction = { kind: 'role'; user: ActedOn; role: Role } | { kind: 'active'; user: ActedOn; isActive: boolean } | { kind: 'delete'; user: ActedOn };

export interface UserActionQuestion {
  title: string;
  body: string;
  /** Said first and loudly: the admin is about to lock themself out. */
  warning?: string;
  confirmLabel: string;
  tone: 'danger' | 'primary';
}

/**
 * The confirmation for a change. Acting on one's own account asks differently, with a warning
 * and a button that names the consequence, so it cannot be mistaken for a routine change.
 */
export function describeUserAction(action: UserAction, self: boolean, t: Translate): UserActionQuestion {
  const username = action.user.username;
  switch (action.kind) {
    case 'role':
      if (action.role === 'admin') {
        return {
          title: t('users.makeAdminTitle', { username }),
          body: t('users.makeAdminBody'),
          confirmLabel: t('users.makeAdmin'),
          tone: 'primary',
        };
      }
      return self
        ? {
            title: t('users.selfDemoteTitle'),
            warning: t('users.selfDemoteWarning'),
            body: t('users.makeUserBody'),
            confirmLabel: t('users.selfDemoteConfirm'),
            tone: 'danger',
          }
        : { title: t('users.makeUserTitle', { username }), body: t('users.makeUserBody'), confirmLabel: t('users.makeUser'), tone: 'danger' };
    case 'active':
      if (action.isActive) {
        return { title: t('users.activateTitle', { username }), body: t('users.activateBody'), confirmLabel: t('users.activate'), tone: 'primary' };
      }
      return self
        ? {
            title: t('users.selfDeactivateTitle'),
            warning: t('users.selfDeactivateWarning'),
            body: t('users.deactivateBody'),
            confirmLabel: t('users.selfDeactivateConfirm'),
            tone: 'danger',
          }
        : { title: t('users.deactivateTitle', { username }), body: t('users.deactivateBody'), confirmLabel: t('users.deactivate'), tone: 'danger' };
    case 'delete':
      return self
        ? {
            title: t('users.selfDeleteTitle'),
            warning: t('users.selfDeleteWarning'),
            body: t('users.deleteBody'),
            confirmLabel: t('users.selfDeleteConfirm'),
            tone: 'danger',
          }
        : { title: t('users.deleteTitle', { username }), body: t('users.deleteBody'), confirmLabel: t('users.deleteConfirm'), tone: 'danger' };
  }
}
