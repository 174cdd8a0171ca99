import { createLabelInput, LABEL_NAME_MAX, type ProjectColor, updateLabelInput } from '@stm/validators';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Alert, Empty, Loading } from '../components/Feedback';
import { Dialog } from '../components/Dialog';
import { Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { ColorPicker, LabelChip } from './parts';
import { type Label, type Project, useLabels } from './queries';

function useLabelRefresh() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // A label's name and colour show on every task that has it.
  return () => Promise.all([queryClient.invalidateQueries(trpc.labels.pathFilter()), queryClient.invalidateQueries(trpc.tasks.pathFilter())]);
}

/** One label's name and colour, as a small form: to make a label, or to change one. */
function LabelForm({ project, label, onDone }: { project: Project; label: Label | null; onDone(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const refresh = useLabelRefresh();
  const [name, setName] = useState(label?.name ?? '');
  const [color, setColor] = useState<ProjectColor>(label?.color ?? 'slate');
  const [errors, setErrors] = useState<FieldErrors>({});
  const done = () => {
    setName('');
    setColor('slate');
    onDone();
  };
  const create = useMutation(
    trpc.labels.create.mutationOptions({
      onSuccess: (made) => {
        toast.show(t('labels.created', { name: made.name }));
        done();
      },
      onSettled: () => refresh(),
    }),
  );
  const update = useMutation(
    trpc.labels.update.mutationOptions({
      onSuccess: () => {
        toast.show(t('labels.saved'));
        done();
      },
      onSettled: () => refresh(),
    }),
  );
  const mutation = label ? update : create;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (label) {
      const checked = validate(updateLabelInput, { id: label.id, name, color }, t);
      setErrors(checked.ok ? {} : checked.errors);
      if (checked.ok) update.mutate(checked.data);
      return;
    }
    const checked = validate(createLabelInput, { projectId: project.id, name, color }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) create.mutate(checked.data);
  }

  const shown = formErrors(['name', 'color'] as const, errors, mutation.error ? describeError(mutation.error, t) : null);
  return (
    <form onSubmit={submit} noValidate className="form label-form">
      <Field
        label={label ? t('labels.nameOf', { name: label.name }) : t('labels.newName')}
        name="name"
        value={name}
        onValueChange={setName}
        error={shown.field('name')}
        maxLength={LABEL_NAME_MAX}
        autoComplete="off"
        required
      />
      <ColorPicker legend={t('field.color')} value={color} onChange={setColor} />
      <Alert message={shown.form} />
      <div className="form-actions">
        {label ? (
          <button type="button" className="btn" onClick={onDone} disabled={mutation.isPending}>
            {t('common.cancel')}
          </button>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={mutation.isPending} aria-busy={mutation.isPending || undefined}>
          {label ? t('labels.save') : t('labels.create')}
        </button>
      </div>
    </form>
  );
}

/** A project's labels: members see them; editors and owners make, change and delete them. */
export function LabelsDialog({ project, canWrite, onClose }: { project: Project; canWrite: boolean; onClose(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const refresh = useLabelRefresh();
  const labels = useLabels(project.id);
  const [editing, setEditing] = useState<Label | null>(null);
  const [deleting, setDeleting] = useState<Label | null>(null);
  const remove = useMutation(
    trpc.labels.delete.mutationOptions({
      onSuccess: () => toast.show(t('labels.deleted', { name: deleting?.name ?? '' })),
      onError: (error) => toast.show(describeError(error, t).message, 'error'),
      onSettled: () => {
        setDeleting(null);
        return refresh();
      },
    }),
  );

  return (
    <>
      <Dialog open title={t('labels.title', { name: project.name })} onClose={onClose} wide>
        {labels.isPending ? (
          <Loading block />
        ) : labels.isError ? (
          <Alert message={describeError(labels.error, t).message} />
        ) : labels.data.length === 0 ? (
          <Empty title={t('labels.empty')} />
        ) : (
          <ul className="label-list" aria-label={t('labels.listLabel')}>
            {labels.data.map((label) => (
              <li key={label.id} className="label-row">
                {editing?.id === label.id ? (
                  <LabelForm project={project} label={label} onDone={() => setEditing(null)} />
                ) : (
                  <>
                    <LabelChip label={label} />
                    {canWrite ? (
                      <span className="label-actions">
                        <button type="button" className="btn btn-small" onClick={() => setEditing(label)}>
                          {t('labels.edit')}
                          <span className="visually-hidden"> {label.name}</span>
                        </button>
                        <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setDeleting(label)}>
                          {t('labels.delete')}
                          <span className="visually-hidden"> {label.name}</span>
                        </button>
                      </span>
                    ) : null}
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
        {canWrite && editing === null ? (
          <>
            <h3 className="dialog-subtitle">{t('labels.add')}</h3>
            <LabelForm project={project} label={null} onDone={() => {}} />
          </>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        title={t('labels.deleteTitle', { name: deleting?.name ?? '' })}
        confirmLabel={t('labels.delete')}
        busy={remove.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
      >
        <p>{t('labels.deleteBody')}</p>
      </ConfirmDialog>
    </>
  );
}
