import { createProjectInput, PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, type ProjectColor, updateProjectInput } from '@stm/validators';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { useLocation } from 'wouter';
import { Alert } from '../components/Feedback';
import { Dialog } from '../components/Dialog';
import { Control, Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { ColorPicker } from './parts';
import type { Project } from './queries';

const FIELDS = ['name', 'description', 'color'] as const;

/** The project queries to refresh after a change to one: the sidebar's lists and the project itself. */
export function useProjectRefresh() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.projects.pathFilter()),
      queryClient.invalidateQueries(trpc.members.pathFilter()),
      queryClient.invalidateQueries(trpc.tasks.pathFilter()),
    ]);
}

/** Making a project, or renaming, describing and recolouring one (owners). */
export function ProjectDialog({ project, onClose }: { project: Project | null; onClose(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const [, navigate] = useLocation();
  const refresh = useProjectRefresh();
  const [name, setName] = useState(project?.name ?? '');
  const [description, setDescription] = useState(project?.description ?? '');
  const [color, setColor] = useState<ProjectColor>(project?.color ?? 'blue');
  const [errors, setErrors] = useState<FieldErrors>({});

  const create = useMutation(
    trpc.projects.create.mutationOptions({
      onSuccess: (created) => {
        toast.show(t('projects.created', { name: created.name }));
        onClose();
        navigate(`/projects/${created.id}`);
      },
      onSettled: () => refresh(),
    }),
  );
  const update = useMutation(
    trpc.projects.update.mutationOptions({
      onSuccess: () => {
        toast.show(t('projects.saved'));
        onClose();
      },
      onSettled: () => refresh(),
    }),
  );
  const mutation = project ? update : create;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (!project) {
      const checked = validate(createProjectInput, { name, description, color }, t);
      setErrors(checked.ok ? {} : checked.errors);
      if (checked.ok) create.mutate(checked.data);
      return;
    }
    const changes = {
      ...(name.trim() !== project.name ? { name } : {}),
      ...(description !== project.description ? { description } : {}),
      ...(color !== project.color ? { color } : {}),
    };
    if (Object.keys(changes).length === 0) {
      onClose();
      return;
    }
    const checked = validate(updateProjectInput, { id: project.id, ...changes, expectedVersion: project.version }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) update.mutate(checked.data);
  }

  const shown = formErrors(FIELDS, errors, mutation.error ? describeError(mutation.error, t) : null);
  return (
    <Dialog open title={project ? t('projects.editTitle') : t('projects.createTitle')} onClose={onClose} busy={mutation.isPending}>
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('field.name')}
          name="name"
          value={name}
          onValueChange={setName}
          error={shown.field('name')}
          maxLength={PROJECT_NAME_MAX}
          autoComplete="off"
          required
        />
        <Control label={t('field.description')} error={shown.field('description')}>
          {(control) => (
            <textarea
              {...control}
              name="description"
              rows={3}
              maxLength={PROJECT_DESCRIPTION_MAX}
              value={description}
              onChange={(event) => setDescription(event.target.value)}
            />
          )}
        </Control>
        <ColorPicker legend={t('field.color')} value={color} onChange={setColor} />
        <Alert message={shown.form} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={mutation.isPending}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={mutation.isPending} aria-busy={mutation.isPending || undefined}>
            {mutation.isPending ? t('common.saving') : project ? t('projects.save') : t('projects.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
