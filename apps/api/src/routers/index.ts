import { router } from '../trpc';
import { adminTasksRouter } from './admin-tasks';
import { authRouter } from './auth';
import { keysRouter } from './keys';
import { tasksRouter } from './tasks';

export const appRouter = router({
  auth: authRouter,
  tasks: tasksRouter,
  admin: router({
    keys: keysRouter,
    tasks: adminTasksRouter,
  }),
});

export type AppRouter = typeof appRouter;
