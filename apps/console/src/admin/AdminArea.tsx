import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { type MessageKey, useI18n } from '../i18n';
import { NotFound } from '../pages/Status';
import { AllProjects } from './AllProjects';
import { AllTasks } from './AllTasks';
import { AuditLog } from './AuditLog';
import { ServiceAccounts } from './ServiceAccounts';
import { Settings } from './Settings';
import { SigningKeys } from './SigningKeys';
import { Users } from './Users';
import { GlobalWebhooks } from '../webhooks/Webhooks';
import '../styles/admin.css';

/**
 * The admin area: its own chunk, loaded only after the server has said the user is an admin.
 * Paths here are relative to `/admin`.
 */
const SECTIONS: { path: string; label: MessageKey }[] = [
  { path: '/users', label: 'admin.users' },
  { path: '/projects', label: 'admin.projects' },
  { path: '/tasks', label: 'admin.tasks' },
  { path: '/service-accounts', label: 'admin.serviceAccounts' },
  { path: '/webhooks', label: 'admin.webhooks' },
  { path: '/audit', label: 'admin.audit' },
  { path: '/settings', label: 'admin.settings' },
  { path: '/keys', label: 'admin.keys' },
];

export default function AdminArea() {
  const { t } = useI18n();
  const [location] = useLocation();
  return (
    <div className="admin">
      <nav aria-label={t('admin.navLabel')} className="subnav">
        <ul>
          {SECTIONS.map((section) => {
            const active = location === section.path || location.startsWith(`${section.path}/`);
            return (
              <li key={section.path}>
                <Link href={section.path} className={active ? 'subnav-link active' : 'subnav-link'} aria-current={active ? 'page' : undefined}>
                  {t(section.label)}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <Switch>
        <Route path="/">
          <Redirect to="/users" replace />
        </Route>
        <Route path="/users">
          <Users />
        </Route>
        <Route path="/projects">
          <AllProjects />
        </Route>
        <Route path="/tasks">
          <AllTasks />
        </Route>
        <Route path="/service-accounts">
          <ServiceAccounts />
        </Route>
        <Route path="/webhooks">
          <GlobalWebhooks />
        </Route>
        <Route path="/audit">
          <AuditLog />
        </Route>
        <Route path="/settings">
          <Settings />
        </Route>
        <Route path="/keys">
          <SigningKeys />
        </Route>
        <Route>
          <NotFound />
        </Route>
      </Switch>
    </div>
  );
}
