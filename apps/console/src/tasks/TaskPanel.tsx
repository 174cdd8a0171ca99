import { useQuery } from '@tanstack/react-query';
import { Alert, Loading } from '../components/Feedback';
import { Dialog } from '../components/Dialog';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { describeError } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { ColorDot, LabelChip, useProjectName } from '../projects/parts';
import { abilities, useProject } from '../projects/queries';
import type { Task } from './cache';
import { Comments } from './Comments';
import { History } from './History';
import { DueLabel, PriorityLabel, StatusBadge } from './parts';

/**
 * One task in full, beside the list or board it was opened from: its details, its comments
 * and its history. Opened by its address (`?task=`), so it can be linked to and Back closes it.
 */
export function TaskPanel({ taskId, onClose, onEdit }: { taskId: number; onClose(): void; onEdit(task: Task): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const me = useMe();
  const nameOf = useProjectName();
  const task = useQuery(trpc.tasks.get.queryOptions({ id: taskId }));
  const project = useProject(task.data?.projectId);
  const isAdmin = me.data?.role === 'admin';
  const can = abilities(project.data, isAdmin);

  let body;
  if (task.isPending) body = <Loading block />;
  else if (task.isError) body = <Alert message={describeError(task.error, t).message} />;
  else {
    const current = task.data;
    body = (
      <>
        <dl className="task-facts">
          {project.data ? (
            <>
              <dt>{t('field.project')}</dt>
              <dd>
                <ColorDot color={project.data.color} /> {nameOf(project.data)}
              </dd>
            </>
          ) : null}
          <dt>{t('field.status')}</dt>
          <dd>
            <StatusBadge status={current.status} />
          </dd>
          <dt>{t('field.priority')}</dt>
          <dd>
            <PriorityLabel priority={current.priority} short />
          </dd>
          <dt>{t('field.assignee')}</dt>
          <dd>{current.assignee?.username ?? t('tasks.nobody')}</dd>
          {current.dueAt ? (
            <>
              <dt>{t('field.due')}</dt>
              <dd>
                <DueLabel task={current} short />
              </dd>
            </>
          ) : null}
          {current.labels.length > 0 ? (
            <>
              <dt>{t('field.labels')}</dt>
              <dd className="chips">
                {current.labels.map((label) => (
                  <LabelChip key={label.id} label={label} />
                ))}
              </dd>
            </>
          ) : null}
        </dl>
        {current.description ? <p className="task-panel-description">{current.description}</p> : null}
        <div className="panel-actions">
          {can.write ? (
            <button type="button" className="btn" onClick={() => onEdit(current)}>
              {t('tasks.edit')}
            </button>
          ) : null}
          <button type="button" className="btn" onClick={onClose}>
            {t('common.close')}
          </button>
        </div>
        <Comments taskId={taskId} canWrite={can.write} canModerate={can.manage} />
        <History taskId={taskId} />
      </>
    );
  }

  return (
    <Dialog open title={task.data?.title ?? t('tasks.panelTitle')} onClose={onClose} side>
      {body}
    </Dialog>
  );
}
