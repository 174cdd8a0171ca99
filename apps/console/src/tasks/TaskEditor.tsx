import { createTaskInput, TASK_TITLE_MAX, updateTaskInput } from '@stm/validators';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useCallback, useEffect, useId, useMemo, useState } from 'react';
import { Alert } from '../components/Feedback';
import { Dialog } from '../components/Dialog';
import { Control, Field } from '../components/Field';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { LabelChip, useProjectName } from '../projects/parts';
import { abilities, useLabels, useMembers, useProjects } from '../projects/queries';
import { describeError, type FieldErrors, reasonOf, validate } from '../lib/errors';
import { isApiError, useTRPC } from '../lib/trpc';
import { type Task, useTaskCache } from './cache';
import { DATETIME_INPUT_MAX, DATETIME_INPUT_MIN, localInputToIso } from './dates';
import { TASK_PRIORITIES, TASK_STATUSES } from './filters';
import { EMPTY_TASK_FORM, formToInput, type TaskChanges, taskChanges, type TaskFormValues, valuesFromTask } from './form';
import { PRIORITY_LABELS, STATUS_LABELS } from './parts';
import { onRemoteSave } from '../projects/live';

type FormField = 'title' | 'description' | 'status' | 'priority' | 'dueAt' | 'projectId' | 'assigneeId' | 'labelIds';
const FORM_FIELDS: readonly string[] = ['title', 'description', 'status', 'priority', 'dueAt', 'projectId', 'assigneeId', 'labelIds'];

/** The edit the server refused because the task had moved on, kept for "overwrite". */
interface Conflict {
  changes: TaskChanges;
  currentVersion: number | undefined;
}

function currentVersionOf(error: unknown): number | undefined {
  const version = isApiError(error) ? error.data?.details?.currentVersion : undefined;
  return typeof version === 'number' ? version : undefined;
}

function timeZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return '';
  }
}

/**
 * What the due field says under it: once a date is chosen, that date spelled out in the console's
 * language, since the input itself shows it in the browser's format (an English browser shows a
 * Spanish reader 12/08/2026, which is 8 December to them only by luck).
 */
function useDueHint(due: string): string {
  const { t, language } = useI18n();
  const zone = timeZoneName();
  const spelled = useMemo(() => new Intl.DateTimeFormat(language, { dateStyle: 'full', timeStyle: 'short' }), [language]);
  const iso = due ? localInputToIso(due) : null;
  const when = iso && iso !== due.trim() && !Number.isNaN(Date.parse(iso)) ? spelled.format(new Date(iso)) : null;
  if (when) return zone ? t('tasks.dueChosenZone', { when, zone }) : t('tasks.dueChosen', { when });
  return zone ? t('tasks.dueHintZone', { zone }) : t('tasks.dueHint');
}

/**
 * Creating a task, or editing one. Edits send only what changed, with the version the form
 * started from; if someone else saved the task meanwhile the server refuses, and the user
 * chooses: reload (see their version, drop this edit) or overwrite (send this edit again over
 * the current version).
 */
export function TaskEditor({ task, projectId, onClose }: { task: Task | null; projectId?: number | undefined; onClose(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const cache = useTaskCache();
  const toast = useToast();
  const [base, setBase] = useState<Task | null>(task);
  const [values, setValues] = useState<TaskFormValues>(() => (task ? valuesFromTask(task) : { ...EMPTY_TASK_FORM, projectId }));
  // What the form started from (or was reloaded to): anything else is work Escape must not drop.
  const [pristine, setPristine] = useState(values);
  const edited = JSON.stringify(values) !== JSON.stringify(pristine);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [reloading, setReloading] = useState(false);
  const conflictBody = useId();
  const me = useMe();
  // Someone else saving this task meanwhile is said at once; the save itself is still guarded by the version.
  useEffect(() => {
    if (!base) return;
    return onRemoteSave((save) => {
      if (save.taskId === base.id && save.version > base.version && save.actorId !== me.data?.id) setNotice(t('live.savedElsewhere'));
    });
  }, [base, me.data?.id, t]);

  const create = useMutation(
    trpc.tasks.create.mutationOptions({
      onSuccess: () => {
        toast.show(t('tasks.created'));
        onClose();
      },
      onSettled: () => cache.invalidate(),
    }),
  );

  const update = useMutation(
    trpc.tasks.update.mutationOptions({
      onSuccess: (saved) => {
        cache.replace(saved);
        toast.show(t('tasks.saved'));
        onClose();
      },
      onError: (error, input) => {
        if (reasonOf(error) !== 'VERSION_CONFLICT') return;
        // What this form sent: its own checked values (ids as numbers), however the input type reads them.
        const { id: _id, expectedVersion: _version, ...changes } = input;
        setConflict({ changes: changes as TaskChanges, currentVersion: currentVersionOf(error) });
      },
      onSettled: () => cache.invalidate(),
    }),
  );

  const set =
    <K extends keyof TaskFormValues>(key: K) =>
    (value: TaskFormValues[K]) =>
      setValues((current) => ({ ...current, [key]: value }));
  const patchValues = useCallback((patch: Partial<TaskFormValues>) => setValues((current) => ({ ...current, ...patch })), []);

  function submit(event: SubmitEvent) {
    event.preventDefault();
    setNotice(null);
    if (!base) {
      const checked = validate(createTaskInput, formToInput(values), t);
      setErrors(checked.ok ? {} : checked.errors);
      if (checked.ok) create.mutate(checked.data);
      return;
    }
    const changes = taskChanges(base, values);
    if (Object.keys(changes).length === 0) {
      onClose();
      return;
    }
    const checked = validate(updateTaskInput, { id: base.id, ...changes, expectedVersion: base.version }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) update.mutate(checked.data);
  }

  async function reload() {
    if (!base) return;
    setReloading(true);
    try {
      const current = await queryClient.query({ ...trpc.tasks.get.queryOptions({ id: base.id }), staleTime: 0 });
      cache.replace(current);
      setBase(current);
      setValues(valuesFromTask(current));
      setPristine(valuesFromTask(current));
      setErrors({});
      update.reset();
      setNotice(t('conflict.reloaded'));
    } catch (error) {
      update.reset();
      setNotice(null);
      toast.show(describeError(error, t).message, 'error');
      if (reasonOf(error) === 'NOT_FOUND') onClose();
    } finally {
      setReloading(false);
      setConflict(null);
    }
  }

  async function overwrite() {
    if (!base || !conflict) return;
    let version = conflict.currentVersion;
    if (version === undefined) {
      try {
        version = (await queryClient.query({ ...trpc.tasks.get.queryOptions({ id: base.id }), staleTime: 0 })).version;
      } catch (error) {
        setConflict(null);
        toast.show(describeError(error, t).message, 'error');
        return;
      }
    }
    setConflict(null);
    update.mutate({ id: base.id, ...conflict.changes, expectedVersion: version });
  }

  const mutation = base ? update : create;
  // While the conflict is being decided its dialog says it all; dismissed, the form still says why saving failed.
  const failure = mutation.error && !conflict ? describeError(mutation.error, t) : null;
  const fieldError = (field: FormField) => errors[field] ?? (failure?.field === field ? failure.message : undefined);
  const formLevel = failure && !(failure.field && FORM_FIELDS.includes(failure.field)) ? failure.message : null;
  const busy = mutation.isPending || reloading;
  const dueHint = useDueHint(values.due);

  return (
    <>
      <Dialog open title={base ? t('tasks.editTitle') : t('tasks.createTitle')} onClose={onClose} busy={busy} confirmDiscard={edited} wide>
        <form onSubmit={submit} noValidate className="form task-form">
          <Alert message={notice} tone="info" />
          <Field
            label={t('field.title')}
            name="title"
            value={values.title}
            onValueChange={set('title')}
            error={fieldError('title')}
            maxLength={TASK_TITLE_MAX}
            autoComplete="off"
            required
          />
          <Control label={t('field.description')} error={fieldError('description')}>
            {(control) => (
              <textarea {...control} name="description" rows={4} value={values.description} onChange={(event) => set('description')(event.target.value)} />
            )}
          </Control>
          <div className="form-row">
            <Control label={t('field.status')} error={fieldError('status')}>
              {(control) => (
                <select {...control} name="status" value={values.status} onChange={(event) => set('status')(event.target.value as TaskFormValues['status'])}>
                  {TASK_STATUSES.map((status) => (
                    <option key={status} value={status}>
                      {t(STATUS_LABELS[status])}
                    </option>
                  ))}
                </select>
              )}
            </Control>
            <Control label={t('field.priority')} error={fieldError('priority')}>
              {(control) => (
                <select
                  {...control}
                  name="priority"
                  value={values.priority}
                  onChange={(event) => set('priority')(event.target.value as TaskFormValues['priority'])}
                >
                  {TASK_PRIORITIES.map((priority) => (
                    <option key={priority} value={priority}>
                      {t(PRIORITY_LABELS[priority])}
                    </option>
                  ))}
                </select>
              )}
            </Control>
          </div>
          <TaskPeopleFields values={values} onChange={patchValues} error={fieldError} />
          <div className="due-field">
            <Field
              label={t('field.due')}
              name="due"
              type="datetime-local"
              min={DATETIME_INPUT_MIN}
              max={DATETIME_INPUT_MAX}
              value={values.due}
              onValueChange={set('due')}
              error={fieldError('dueAt')}
              hint={dueHint}
            />
            {values.due ? (
              <button type="button" className="btn btn-small" onClick={() => set('due')('')}>
                {t('tasks.clearDue')}
              </button>
            ) : null}
          </div>
          <Alert message={formLevel} />
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={onClose} disabled={busy}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy} aria-busy={busy || undefined}>
              {mutation.isPending ? t('common.saving') : base ? t('tasks.save') : t('tasks.create')}
            </button>
          </div>
        </form>
      </Dialog>
      {conflict ? (
        <Dialog open title={t('conflict.title')} onClose={() => setConflict(null)} busy={reloading} describedBy={conflictBody}>
          <div id={conflictBody} className="dialog-body">
            <p>{t('conflict.body')}</p>
            <p>{t('conflict.choice')}</p>
          </div>
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={() => setConflict(null)} disabled={reloading}>
              {t('common.cancel')}
            </button>
            <button type="button" className="btn" onClick={() => void reload()} disabled={reloading} aria-busy={reloading || undefined}>
              {t('conflict.reload')}
            </button>
            <button type="button" className="btn btn-primary" onClick={() => void overwrite()} disabled={reloading}>
              {t('conflict.overwrite')}
            </button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}

/**
 * Where a task lives and who does it: the project (one the reader can write to; a new task goes to
 * their inbox by default), the assignee (a member of it) and its labels (the project's). Moving
 * to another project drops what does not exist there.
 */
function TaskPeopleFields({
  values,
  onChange,
  error,
}: {
  values: TaskFormValues;
  onChange(patch: Partial<TaskFormValues>): void;
  error(field: FormField): string | undefined;
}) {
  const { t } = useI18n();
  const me = useMe();
  const nameOf = useProjectName();
  const { projects } = useProjects();
  const writable = projects.filter((project) => abilities(project, me.data?.role === 'admin').write);
  const inbox = projects.find((project) => project.isInbox);
  const projectId = values.projectId ?? inbox?.id;
  const members = useMembers(projectId);
  const labels = useLabels(projectId);
  const labelsLegend = useId();
  const choose = (id: number) => {
    if (id === projectId) return;
    onChange({ projectId: id, labelIds: [] });
  };
  // An assignee who is not a member of the chosen project cannot stay.
  const assignees = members.data?.filter((member) => member.isActive || member.userId === values.assigneeId) ?? [];
  useEffect(() => {
    if (members.data && values.assigneeId !== null && !members.data.some((member) => member.userId === values.assigneeId)) {
      onChange({ assigneeId: null });
    }
  }, [members.data, values.assigneeId, onChange]);

  return (
    <>
      <div className="form-row">
        <Control label={t('field.project')} error={error('projectId')}>
          {(control) => (
            <select {...control} name="project" value={projectId ?? ''} onChange={(event) => choose(Number(event.target.value))}>
              {writable.map((project) => (
                <option key={project.id} value={project.id}>
                  {nameOf(project)}
                </option>
              ))}
            </select>
          )}
        </Control>
        <Control label={t('field.assignee')} error={error('assigneeId')}>
          {(control) => (
            <select
              {...control}
              name="assignee"
              value={values.assigneeId ?? ''}
              onChange={(event) => onChange({ assigneeId: event.target.value ? Number(event.target.value) : null })}
            >
              <option value="">{t('tasks.nobody')}</option>
              {assignees.map((member) => (
                <option key={member.userId} value={member.userId}>
                  {member.username}
                </option>
              ))}
            </select>
          )}
        </Control>
      </div>
      {labels.data && labels.data.length > 0 ? (
        <fieldset className="label-picker" aria-labelledby={labelsLegend}>
          <legend id={labelsLegend}>{t('field.labels')}</legend>
          <div className="checks">
            {labels.data.map((label) => (
              <label key={label.id} className="check">
                <input
                  type="checkbox"
                  checked={values.labelIds.includes(label.id)}
                  onChange={(event) =>
                    onChange({ labelIds: event.target.checked ? [...values.labelIds, label.id] : values.labelIds.filter((id) => id !== label.id) })
                  }
                />
                <LabelChip label={label} />
              </label>
            ))}
          </div>
          {error('labelIds') ? <p className="field-error">{error('labelIds')}</p> : null}
        </fieldset>
      ) : null}
    </>
  );
}
