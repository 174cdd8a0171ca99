import { router } from '../trpc';
import { auditRouter } from './audit';
import { authRouter } from './auth';
import { keysRouter } from './keys';
import { settingsRouter } from './settings';
import { usersRouter } from './users';

export const appRouter = router({
  auth: authRouter,
  admin: router({
    keys: keysRouter,
    users: usersRouter,
    audit: auditRouter,
  }),
  settings: settingsRouter,
});

export type AppRouter = typeof appRouter;
