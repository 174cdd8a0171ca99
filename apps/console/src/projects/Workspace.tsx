import { type ReactNode, useId, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { useI18n } from '../i18n';
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

/**
 * The task screens' frame: the reader's views and projects beside the content. On a phone the
 * list comes first, folded away until asked for.
 */
export function Workspace({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const { projects } = useProjects();
  const [creating, setCreating] = useState(false);
  const [archivedOpen, setArchivedOpen] = useState(false);
  const headingId = useId();
  return (
    <div className="workspace">
      <nav className="sidebar" aria-labelledby={headingId}>
        <h2 id={headingId} className="visually-hidden">
          {t('projects.navigation')}
        </h2>
        <ul className="side-list">
          <li>
            <SideLink href="/my-work">{t('nav.myWork')}</SideLink>
          </li>
          <li>
            <SideLink href="/today">{t('nav.today')}</SideLink>
          </li>
          <li>
            <SideLink href="/upcoming">{t('nav.upcoming')}</SideLink>
          </li>
          <li>
            <SideLink href="/overdue">{t('nav.overdue')}</SideLink>
          </li>
          <li>
            <SideLink href="/tasks">{t('nav.allTasks')}</SideLink>
          </li>
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
      </nav>
      <div className="workspace-content">{children}</div>
      {creating ? <ProjectDialog project={null} onClose={() => setCreating(false)} /> : null}
    </div>
  );
}
