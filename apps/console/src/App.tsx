import { lazy, Suspense } from 'react';
import { Redirect, Route, Switch } from 'wouter';
import { Loading } from './components/Feedback';
import { GuestOnly, RequireAdmin, RequireSession } from './components/Guards';
import { Layout } from './components/Layout';
import { Account } from './pages/Account';
import { Dashboard } from './pages/Dashboard';
import { ForgotPassword } from './pages/ForgotPassword';
import { Register } from './pages/Register';
import { ResetPassword } from './pages/ResetPassword';
import { Security } from './pages/Security';
import { SignIn } from './pages/SignIn';
import { VerifyEmail } from './pages/VerifyEmail';
import { NotFound } from './pages/Status';
import { ProjectPage } from './projects/ProjectPage';
import { Workspace } from './projects/Workspace';
import { AllTasksPage, MyWorkPage, OverduePage, TodayPage, UpcomingPage } from './tasks/TasksPage';

// Kept out of the first load: most users never see it (and non-admins never fetch it).
const AdminArea = lazy(() => import('./admin/AdminArea'));

export function App() {
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
      <Route path="/forgot-password">
        <GuestOnly>
          <ForgotPassword />
        </GuestOnly>
      </Route>
      {/* Not guest-only: the link is the proof, whichever account is signed in here. */}
      <Route path="/verify-email">
        <VerifyEmail />
      </Route>
      {/* Not guest-only: whoever holds the link sets the password, whichever account is signed in here. */}
      <Route path="/reset-password">
        <ResetPassword />
      </Route>
      <Route>
        <RequireSession>
          <Layout>
            <Switch>
              <Route path="/">
                <Redirect to="/tasks" replace />
              </Route>
              <Route path="/tasks">
                <Workspace>
                  <AllTasksPage />
                </Workspace>
              </Route>
              <Route path="/my-work">
                <Workspace>
                  <MyWorkPage />
                </Workspace>
              </Route>
              <Route path="/today">
                <Workspace>
                  <TodayPage />
                </Workspace>
              </Route>
              <Route path="/upcoming">
                <Workspace>
                  <UpcomingPage />
                </Workspace>
              </Route>
              <Route path="/overdue">
                <Workspace>
                  <OverduePage />
                </Workspace>
              </Route>
              <Route path="/projects/:id">
                {(params) => {
                  const id = /^[1-9][0-9]{0,9}$/.test(params.id) ? Number(params.id) : undefined;
                  return id === undefined ? (
                    <NotFound />
                  ) : (
                    <Workspace>
                      <ProjectPage key={id} id={id} />
                    </Workspace>
                  );
                }}
              </Route>
              <Route path="/dashboard">
                <Dashboard />
              </Route>
              <Route path="/account">
                <Account />
              </Route>
              <Route path="/security">
                <Security />
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
