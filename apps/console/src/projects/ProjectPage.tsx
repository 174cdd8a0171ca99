import { useMutation } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { useLocation, useSearchParams } from 'wouter';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Alert, Loading } from '../components/Feedback';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { describeError, reasonOf } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { NotFound } from '../pages/Status';
import { TaskEditor } from '../tasks/TaskEditor';
import { TaskListView } from '../tasks/TasksPage';
import { TaskPanel } from '../tasks/TaskPanel';
import type { Task } from '../tasks/cache';
import { useOpenTask } from '../tasks/panel-state';
import { LabelsDialog } from './LabelsDialog';
import { MembersDialog } from './MembersDialog';
import { ProjectDialog, useProjectRefresh } from './ProjectDialog';
import { ColorDot, ROLE_LABELS, useProjectName } from './parts';
import { abilities, type Project, useProject } from './queries';
import { useLiveProject } from './live';
import { WebhooksDialog } from '../webhooks/Webhooks';

// Kept out of the first load, with its drag-and-drop library: the list is the default view.
const Board = lazy(() => import('../board/Board'));

type View = 'list' | 'board';

/** The list or the board, as the address says (`?view=board`). */
function useView(): [View, (view: View) => void] {
  const [params, setParams] = useSearchParams();
  const view: View = params.get('view') === 'board' ? 'board' : 'list';
  const set = (next: View) =>
    setParams(
      (previous) => {
        const updated = new URLSearchParams(previous);
        if (next === 'board') updated.set('view', 'board');
        else updated.delete('view');
        return updated;
      },
      { replace: true },
    );
  return [view, set];
}

type Opened = 'members' | 'labels' | 'settings' | 'webhooks' | 'archive' | 'delete' | null;

/** What an owner does with the project itself, and what every member may look at. */
function ProjectActions({ project, opened, open }: { project: Project; opened: Opened; open(which: Opened): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const me = useMe();
  const [, navigate] = useLocation();
  const refresh = useProjectRefresh();
  const can = abilities(project, me.data?.role === 'admin');
  const fail = (error: unknown) => toast.show(describeError(error, t).message, 'error');
  /** Once answered, either way: the question closes and the project is read again. */
  const settled = () => {
    open(null);
    return refresh();
  };
  const archive = useMutation(
    trpc.projects.update.mutationOptions({
      onSuccess: (saved) => toast.show(saved.archived ? t('projects.archivedDone', { name: saved.name }) : t('projects.unarchivedDone', { name: saved.name })),
      onError: fail,
      onSettled: settled,
    }),
  );
  const remove = useMutation(
    trpc.projects.delete.mutationOptions({
      onSuccess: () => {
        toast.show(t('projects.deleted', { name: project.name }));
        navigate('/tasks');
      },
      onError: fail,
      onSettled: settled,
    }),
  );
  return (
    <>
      {!project.isInbox ? (
        <button type="button" className="btn" onClick={() => open('members')}>
          {t('projects.members', { count: project.memberCount })}
        </button>
      ) : null}
      <button type="button" className="btn" onClick={() => open('labels')}>
        {t('projects.labels')}
      </button>
      {can.manage && !project.isInbox ? (
        <>
          {project.archived ? null : (
            <button type="button" className="btn" onClick={() => open('settings')}>
              {t('projects.settings')}
            </button>
          )}
          <button type="button" className="btn" onClick={() => open('webhooks')}>
            {t('projects.webhooks')}
          </button>
          <button type="button" className="btn" onClick={() => (project.archived ? archive.mutate({ id: project.id, archived: false }) : open('archive'))}>
            {project.archived ? t('projects.unarchive') : t('projects.archive')}
          </button>
          <button type="button" className="btn btn-danger-outline" onClick={() => open('delete')}>
            {t('projects.delete')}
          </button>
        </>
      ) : null}
      {opened === 'members' ? <MembersDialog project={project} onClose={() => open(null)} /> : null}
      {opened === 'labels' ? <LabelsDialog project={project} canWrite={can.write} onClose={() => open(null)} /> : null}
      {opened === 'settings' ? <ProjectDialog project={project} onClose={() => open(null)} /> : null}
      {opened === 'webhooks' ? <WebhooksDialog project={project} onClose={() => open(null)} /> : null}
      <ConfirmDialog
        open={opened === 'archive'}
        title={t('projects.archiveTitle', { name: project.name })}
        confirmLabel={t('projects.archive')}
        tone="primary"
        busy={archive.isPending}
        onCancel={() => open(null)}
        onConfirm={() => archive.mutate({ id: project.id, archived: true })}
      >
        <p>{t('projects.archiveBody')}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={opened === 'delete'}
        title={t('projects.deleteTitle', { name: project.name })}
        confirmLabel={t('projects.delete')}
        busy={remove.isPending}
        onCancel={() => open(null)}
        onConfirm={() => remove.mutate({ id: project.id })}
      >
        <p>{t('projects.deleteBody')}</p>
      </ConfirmDialog>
    </>
  );
}

/** A project: its tasks as a list or a board, and what its members and owners do with it. */
export function ProjectPage({ id }: { id: number }) {
  const { t } = useI18n();
  const me = useMe();
  const nameOf = useProjectName();
  const project = useProject(id);
  const [view, setView] = useView();
  const [opened, setOpened] = useState<Opened>(null);
  const [openTask, setOpenTask] = useOpenTask();
  const [editing, setEditing] = useState<Task | 'new' | null>(null);
  const { accessLost } = useLiveProject(id);

  if (project.isPending) return <Loading block />;
  // Access lost while open: what is on screen stays (with anything typed), under a notice.
  if (project.isError && !(accessLost && project.data)) {
    if (accessLost) return <Alert message={t('projects.accessLost')} />;
    if (reasonOf(project.error) === 'NOT_FOUND') return <NotFound />;
    return <Alert message={describeError(project.error, t).message} />;
  }
  const current = project.data;
  const can = abilities(current, me.data?.role === 'admin');
  const title = nameOf(current);
  const actions = <ProjectActions project={current} opened={opened} open={setOpened} />;
  const before = (
    <div className="project-bar">
      <p className="project-identity">
        <ColorDot color={current.color} />
        <span>{current.description || (current.isInbox ? t('projects.inboxDescription') : '')}</span>
        {current.role ? <span className="badge">{t(ROLE_LABELS[current.role])}</span> : null}
      </p>
      <div className="view-switch" role="group" aria-label={t('projects.view')}>
        <button type="button" className="btn btn-small" aria-pressed={view === 'list'} onClick={() => setView('list')}>
          {t('projects.viewList')}
        </button>
        <button type="button" className="btn btn-small" aria-pressed={view === 'board'} onClick={() => setView('board')}>
          {t('projects.viewBoard')}
        </button>
      </div>
      {current.archived ? <Alert tone="info" message={t('projects.archivedNotice')} /> : null}
      {accessLost ? <Alert message={t('projects.accessLost')} /> : null}
    </div>
  );

  if (view === 'list') return <TaskListView scope={{ kind: 'project', project: current }} title={title} headerActions={actions} before={before} />;
  return (
    <Page
      title={title}
      className="tasks-page board-page"
      actions={
        <>
          {actions}
          {can.write ? (
            <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
              {t('tasks.new')}
            </button>
          ) : null}
        </>
      }
    >
      {before}
      <Suspense fallback={<Loading block />}>
        <Board project={current} canWrite={can.write} onOpen={(task) => setOpenTask(task.id)} />
      </Suspense>
      {editing ? (
        <TaskEditor
          key={editing === 'new' ? 'new' : editing.id}
          task={editing === 'new' ? null : editing}
          projectId={current.id}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {openTask !== null ? <TaskPanel taskId={openTask} onClose={() => setOpenTask(null)} onEdit={setEditing} /> : null}
    </Page>
  );
}
