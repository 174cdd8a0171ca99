import { lazy, Suspense } from 'react';
import { Redirect, Route, Switch } from 'wouter';
import { Loading } from './components/Feedback';
import { GuestOnly, RequireAdmin, RequireSession } from './components/Guards';
import { Layout } from './components/Layout';
import { useI18n } from './i18n';
import { Account } from './pages/Account';
import { Register } from './pages/Register';
import { SignIn } from './pages/SignIn';
import { ComingSoon, NotFound } from './pages/Status';

// Kept out of the first load: most users never see it (and non-admins never fetch it).
const AdminArea = lazy(() => import('./admin/AdminArea'));

export function App() {
  const { t } = useI18n();
  return (
    <Switch>
      <Route path="/sign-in">
        <GuestOnly>
          <SignIn />
        </GuestOnly>
      </Route>
      <Route path="/register">
        <GuestOnly>
          <Register />
        </GuestOnly>
      </Route>
      <Route>
        <RequireSession>
          <Layout>
            <Switch>
              <Route path="/">
                <Redirect to="/tasks" replace />
              </Route>
              {/* Phase 2: the tasks list and the dashboard replace these placeholders. */}
              <Route path="/tasks">
                <ComingSoon title={t('nav.tasks')} description={t('comingSoon.tasks')} />
              </Route>
              <Route path="/dashboard">
                <ComingSoon title={t('nav.dashboard')} description={t('comingSoon.dashboard')} />
              </Route>
              <Route path="/account">
                <Account />
              </Route>
              <Route path="/admin" nest>
                <RequireAdmin>
                  <Suspense fallback={<Loading block />}>
                    <AdminArea />
                  </Suspense>
                </RequireAdmin>
              </Route>
              <Route>
                <NotFound />
              </Route>
            </Switch>
          </Layout>
        </RequireSession>
      </Route>
    </Switch>
  );
}
