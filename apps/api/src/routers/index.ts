import { router } from '../trpc';
import { adminTasksRouter } from './admin-tasks';
import { auditRouter } from './audit';
import { authRouter } from './auth';
import { commentsRouter } from './comments';
import { keysRouter } from './keys';
import { labelsRouter } from './labels';
import { membersRouter } from './members';
import { mfaRouter } from './mfa';
import { adminProjectsRouter, projectsRouter } from './projects';
import { settingsRouter } from './settings';
import { tasksRouter } from './tasks';
import { usersRouter } from './users';

export const appRouter = router({
  auth: authRouter,
  mfa: mfaRouter,
  tasks: tasksRouter,
  projects: projectsRouter,
  members: membersRouter,
  labels: labelsRouter,
  comments: commentsRouter,
  admin: router({
    keys: keysRouter,
    projects: adminProjectsRouter,
    tasks: adminTasksRouter,
    users: usersRouter,
    audit: auditRouter,
  }),
  settings: settingsRouter,
});

export type AppRouter = typeof appRouter;
