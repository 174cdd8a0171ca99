import { router } from '../trpc';
import { accountRouter } from './account';
import { adminTasksRouter } from './admin-tasks';
import { apiTokensRouter, serviceAccountsRouter } from './api-tokens';
import { auditRouter } from './audit';
import { authRouter } from './auth';
import { commentsRouter } from './comments';
import { keysRouter } from './keys';
import { labelsRouter } from './labels';
import { liveRouter } from './live';
import { membersRouter } from './members';
import { notificationsRouter } from './notifications';
import { mfaRouter } from './mfa';
import { adminProjectsRouter, projectsRouter } from './projects';
import { settingsRouter } from './settings';
import { tasksRouter } from './tasks';
import { usersRouter } from './users';
import { globalWebhooksRouter, webhooksRouter } from './webhooks';

export const appRouter = router({
  auth: authRouter,
  account: accountRouter,
  mfa: mfaRouter,
  tasks: tasksRouter,
  projects: projectsRouter,
  members: membersRouter,
  labels: labelsRouter,
  comments: commentsRouter,
  live: liveRouter,
  notifications: notificationsRouter,
  tokens: apiTokensRouter,
  webhooks: webhooksRouter,
  admin: router({
    keys: keysRouter,
    projects: adminProjectsRouter,
    tasks: adminTasksRouter,
    users: usersRouter,
    audit: auditRouter,
    serviceAccounts: serviceAccountsRouter,
    webhooks: globalWebhooksRouter,
  }),
  settings: settingsRouter,
});

export type AppRouter = typeof appRouter;
export type { LiveChange } from './live';
