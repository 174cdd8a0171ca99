import { addMemberInput, type ProjectRole } from '@stm/validators';
import { useMutation } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { useLocation } from 'wouter';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Alert, Loading } from '../components/Feedback';
import { Dialog } from '../components/Dialog';
import { Control, Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { ROLE_LABELS } from './parts';
import { useProjectRefresh } from './ProjectDialog';
import { abilities, type Member, type Project, useMembers } from './queries';

const ROLES: ProjectRole[] = ['owner', 'editor', 'viewer'];

/** Who is in a project and with what role; owners add, change and remove people here. */
export function MembersDialog({ project, onClose }: { project: Project; onClose(): void }) {
  const { t, date } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const me = useMe();
  const [, navigate] = useLocation();
  const refresh = useProjectRefresh();
  const members = useMembers(project.id);
  const can = abilities(project, me.data?.role === 'admin');
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<ProjectRole>('editor');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [removing, setRemoving] = useState<Member | null>(null);
  const [handingOver, setHandingOver] = useState<Member | null>(null);
  const [leaving, setLeaving] = useState(false);
  const fail = (error: unknown) => toast.show(describeError(error, t).message, 'error');
  /** Once a confirmed change is answered, either way: its question closes and the lists are read again. */
  const settle = (close: () => void) => () => {
    close();
    return refresh();
  };

  const add = useMutation(
    trpc.members.add.mutationOptions({
      onSuccess: (member) => {
        toast.show(t('members.added', { username: member.username }));
        setUsername('');
      },
      onSettled: () => refresh(),
    }),
  );
  const change = useMutation(trpc.members.update.mutationOptions({ onError: fail, onSettled: () => refresh() }));
  const remove = useMutation(
    trpc.members.remove.mutationOptions({
      onSuccess: () => toast.show(t('members.removed', { username: removing?.username ?? '' })),
      onError: fail,
      onSettled: settle(() => setRemoving(null)),
    }),
  );
  const transfer = useMutation(
    trpc.members.transferOwnership.mutationOptions({
      onSuccess: () => toast.show(t('members.handedOver', { username: handingOver?.username ?? '' })),
      onError: fail,
      onSettled: settle(() => setHandingOver(null)),
    }),
  );
  const leave = useMutation(
    trpc.members.leave.mutationOptions({
      onSuccess: () => {
        toast.show(t('members.left', { name: project.name }));
        onClose();
        navigate('/tasks');
      },
      onError: fail,
      onSettled: settle(() => setLeaving(false)),
    }),
  );

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(addMemberInput, { projectId: project.id, username, role }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) add.mutate(checked.data);
  }

  const shown = formErrors(['username', 'role'] as const, errors, add.error ? describeError(add.error, t) : null);
  const isMember = members.data?.some((member) => member.userId === me.data?.id) ?? false;
  const busy = add.isPending || change.isPending || remove.isPending || transfer.isPending || leave.isPending;

  return (
    <>
      <Dialog open title={t('members.title', { name: project.name })} onClose={onClose} wide>
        {members.isPending ? (
          <Loading block />
        ) : members.isError ? (
          <Alert message={describeError(members.error, t).message} />
        ) : (
          <ul className="member-list" aria-label={t('members.listLabel')}>
            {members.data.map((member) => {
              const self = member.userId === me.data?.id;
              return (
                <li key={member.userId} className="member">
                  <div className="member-name">
                    <span>{member.username}</span>
                    {self ? <span className="muted"> {t('members.you')}</span> : null}
                    {member.isActive ? null : <span className="badge">{t('members.deactivated')}</span>}
                    <span className="muted member-since">{t('members.since', { date: date(member.addedAt) })}</span>
                  </div>
                  {can.share ? (
                    <div className="member-actions">
                      <RoleSelect
                        label={t('members.roleOf', { username: member.username })}
                        className="field-inline"
                        value={member.role}
                        disabled={busy}
                        onChange={(next) => change.mutate({ projectId: project.id, userId: member.userId, role: next })}
                      />
                      {member.role !== 'owner' && member.isActive && !self ? (
                        <button type="button" className="btn btn-small" onClick={() => setHandingOver(member)} disabled={busy}>
                          {t('members.handOver')}
                          <span className="visually-hidden"> {member.username}</span>
                        </button>
                      ) : null}
                      {self ? null : (
                        <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setRemoving(member)} disabled={busy}>
                          {t('members.remove')}
                          <span className="visually-hidden"> {member.username}</span>
                        </button>
                      )}
                    </div>
                  ) : (
                    <span className="badge">{t(ROLE_LABELS[member.role])}</span>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        {can.share ? (
          <form onSubmit={submit} noValidate className="form member-add">
            <h3>{t('members.addTitle')}</h3>
            <div className="form-row">
              <Field
                label={t('field.username')}
                name="username"
                value={username}
                onValueChange={setUsername}
                error={shown.field('username')}
                autoComplete="off"
                required
              />
              <RoleSelect label={t('members.role')} value={role} onChange={setRole} />
            </div>
            <p className="field-hint">{t('members.rolesHint')}</p>
            <Alert message={shown.form} />
            <div>
              <button type="submit" className="btn btn-primary" disabled={busy} aria-busy={add.isPending || undefined}>
                {t('members.add')}
              </button>
            </div>
          </form>
        ) : null}
        <div className="dialog-actions">
          {isMember && !project.isInbox ? (
            <button type="button" className="btn btn-danger-outline" onClick={() => setLeaving(true)} disabled={busy}>
              {t('members.leave')}
            </button>
          ) : null}
          <button type="button" className="btn" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
      </Dialog>
      <ConfirmDialog
        open={removing !== null}
        title={t('members.removeTitle', { username: removing?.username ?? '' })}
        confirmLabel={t('members.remove')}
        busy={remove.isPending}
        onCancel={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate({ projectId: project.id, userId: removing.userId })}
      >
        <p>{t('members.removeBody')}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={handingOver !== null}
        title={t('members.handOverTitle', { username: handingOver?.username ?? '' })}
        confirmLabel={t('members.handOver')}
        tone="primary"
        busy={transfer.isPending}
        onCancel={() => setHandingOver(null)}
        onConfirm={() => handingOver && transfer.mutate({ projectId: project.id, userId: handingOver.userId })}
      >
        <p>{t('members.handOverBody')}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={leaving}
        title={t('members.leaveTitle', { name: project.name })}
        confirmLabel={t('members.leave')}
        busy={leave.isPending}
        onCancel={() => setLeaving(false)}
        onConfirm={() => leave.mutate({ projectId: project.id })}
      >
        <p>{t('members.leaveBody')}</p>
      </ConfirmDialog>
    </>
  );
}

function RoleSelect({
  label,
  value,
  onChange,
  disabled,
  className,
}: {
  label: string;
  value: ProjectRole;
  onChange(role: ProjectRole): void;
  disabled?: boolean;
  className?: string;
}) {
  const { t } = useI18n();
  return (
    <Control label={label} className={className}>
      {(control) => (
        <select {...control} value={value} disabled={disabled} onChange={(event) => onChange(event.target.value as ProjectRole)}>
          {ROLES.map((option) => (
            <option key={option} value={option}>
              {t(ROLE_LABELS[option])}
            </option>
          ))}
        </select>
      )}
    </Control>
  );
}
