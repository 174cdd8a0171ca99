import { z } from 'zod';
import { passwordSchema, roleSchema, usernameSchema } from './auth';

/**
 * An administrator creates an account of any role. The password's length and commonness are
 * live settings the server checks on top of this shape.
 */
export const createUserInput = z.object({
  username: usernameSchema,
  password: passwordSchema,
  role: roleSchema.default('user'),
});
export type CreateUserInput = z.input<typeof createUserInput>;

export const USER_SEARCH_MAX = 64;
