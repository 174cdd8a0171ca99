import { router } from '../trpc';
import { authRouter } from './auth';
import { keysRouter } from './keys';

export const appRouter = router({
  auth: authRouter,
  admin: router({
    keys: keysRouter,
  }),
});

export type AppRouter = typeof appRouter;
