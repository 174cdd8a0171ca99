import { router } from '../trpc';
import { adminTasksRouter } from './admin-tasks';
import { auditRouter } from './audit';
import { authRouter } from './auth';
import { keysRouter } from './keys';
import { settingsRouter } from './settings';
import { tasksRouter } from './tasks';
import { usersRouter } from './users';

export const appRouter = router({
  auth: authRouter,
  tasks: tasksRouter,
  admin: router({
    keys: keysRouter,
    tasks: adminTasksRouter,
    users: usersRouter,
    audit: auditRouter,
  }),
  settings: settingsRouter,
});

export type AppRouter = typeof appRouter;
