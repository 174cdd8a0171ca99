import { type ReactNode, useId, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { type MessageKey, useI18n } from '../i18n';
import { ColorDot, useProjectName } from './parts';
import { ProjectDialog } from './ProjectDialog';
import { type Project, useProjects } from './queries';

function SideLink({ href, children }: { href: string; children: ReactNode }) {
  const [location] = useLocation();
  const active = location === href;
  return (
    <Link href={href} className={active ? 'side-link active' : 'side-link'} aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function ProjectLinks({ projects }: { projects: Project[] }) {
  const nameOf = useProjectName();
  return (
    <ul className="side-list">
      {projects.map((project) => (
        <li key={project.id}>
          <SideLink href={`/projects/${project.id}`}>
            <ColorDot color={project.color} />
            <span className="side-name">{nameOf(project)}</span>
          </SideLink>
        </li>
      ))}
    </ul>
  );
}

function ArchivedProjects() {
  const { t } = useI18n();
  const { projects, isPending } = useProjects(true);
  if (isPending) return <p className="muted side-note">{t('common.loading')}</p>;
  if (projects.length === 0) return <p className="muted side-note">{t('projects.noArchived')}</p>;
  return <ProjectLinks projects={projects} />;
}

const VIEWS = [
  { href: '/my-work', label: 'nav.myWork' },
  { href: '/today', label: 'nav.today' },
  { href: '/upcoming', label: 'nav.upcoming' },
  { href: '/overdue', label: 'nav.overdue' },
  { href: '/tasks', label: 'nav.allTasks' },
] as const satisfies readonly { href: string; label: MessageKey }[];

/**
 * The task screens' frame: the reader's views and projects beside the content. On a phone the
 * list is folded behind a button naming where one is, above the content, and folds again once a
 * place is picked: unfolded, it pushed every page's content below a screenful of links.
 */
export function Workspace({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const { projects } = useProjects();
  const nameOf = useProjectName();
  const [location] = useLocation();
  const [creating, setCreating] = useState(false);
  const [archivedOpen, setArchivedOpen] = useState(false);
  const [listOpen, setListOpen] = useState(false);
  // Folded again on arriving somewhere (state that follows a value, set while rendering).
  const [listLocation, setListLocation] = useState(location);
  if (listLocation !== location) {
    setListLocation(location);
    setListOpen(false);
  }
  const headingId = useId();
  const listId = useId();
  const view = VIEWS.find((item) => item.href === location);
  const project = projects.find((item) => location === `/projects/${item.id}` || location.startsWith(`/projects/${item.id}/`));
  const here = view ? t(view.label) : project ? nameOf(project) : undefined;
  return (
    <div className="workspace">
      <nav className={listOpen ? 'sidebar open' : 'sidebar'} aria-labelledby={headingId}>
        <h2 id={headingId} className="visually-hidden">
          {t('projects.navigation')}
        </h2>
        <button type="button" className="btn sidebar-toggle" aria-expanded={listOpen} aria-controls={listId} onClick={() => setListOpen((open) => !open)}>
          <span>{t('projects.navigation')}</span>
          {here === undefined ? null : <span className="sidebar-here">{here}</span>}
        </button>
        <div id={listId} className="sidebar-list">
          <ul className="side-list">
            {VIEWS.map((item) => (
              <li key={item.href}>
                <SideLink href={item.href}>{t(item.label)}</SideLink>
              </li>
            ))}
          </ul>
          <div className="side-heading">
            <h3>{t('projects.title')}</h3>
            <button type="button" className="btn btn-small" onClick={() => setCreating(true)}>
              {t('projects.new')}
            </button>
          </div>
          <ProjectLinks projects={projects} />
          <details className="side-archived" onToggle={(event) => setArchivedOpen(event.currentTarget.open)}>
            <summary>{t('projects.archived')}</summary>
            {archivedOpen ? <ArchivedProjects /> : null}
          </details>
        </div>
      </nav>
      <div className="workspace-content">{children}</div>
      {creating ? <ProjectDialog project={null} onClose={() => setCreating(false)} /> : null}
    </div>
  );
}
