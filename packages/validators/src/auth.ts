import { z } from 'zod';
import { cursorSchema, limitSchema, NUL_MESSAGE, noNul, queryBoolean } from './common';

export const roleSchema = z.enum(['admin', 'user']);
export type Role = z.infer<typeof roleSchema>;

/**
 * ASCII letters, digits and `_ . -` only: no spaces, no invisible characters and no look-alike
 * letters from other scripts, so one name cannot impersonate another.
 */
export const usernameSchema = z
  .string()
  .min(4, 'Username must be at least 4 characters')
  .max(20, 'Username must be at most 20 characters')
  .regex(/^[A-Za-z0-9_.-]+$/, 'Username may contain only letters, digits, "_", "." and "-"');

/** The longest password anyone may set or send (NIST SP 800-63B asks for at least 64). */
export const PASSWORD_MAX_LENGTH = 128;

/** Characters as a person counts them: code points after NFKC normalisation, not UTF-16 units. */
export function passwordLength(password: string): number {
  return Array.from(password.normalize('NFKC')).length;
}

/**
 * The shape of a password. Its minimum length and how common it may be are live settings checked
 * by the server; the maximum is fixed, and refused with the same code (`PASSWORD_TOO_LONG`,
 * carried in the params) whether the schema or the server's policy sees it first.
 */
export const passwordSchema = z
  .string()
  .min(1, 'Password is required')
  .refine((password) => passwordLength(password) <= PASSWORD_MAX_LENGTH, {
    message: `Password must be at most ${PASSWORD_MAX_LENGTH} characters`,
    params: { reason: 'PASSWORD_TOO_LONG', maximum: PASSWORD_MAX_LENGTH },
  })
  // What JSON Schema readers (the OpenAPI document) see of the check above.
  .meta({ maxLength: PASSWORD_MAX_LENGTH });

export const registerInput = z.object({
  username: usernameSchema,
  password: passwordSchema,
  role: roleSchema.optional(),
});
export type RegisterInput = z.infer<typeof registerInput>;

export const refreshTokenDelivery = z.enum(['body', 'cookie']);

/**
 * The OAuth2 password grant form (Swagger UI's Authorize button, the old client) or JSON.
 * `grant_type`, `scope` and `client_id` are accepted for compatibility and otherwise unused.
 */
export const loginInput = z.object({
  username: z.string().min(1, 'Username is required').max(64).refine(noNul, NUL_MESSAGE),
  password: passwordSchema,
  grant_type: z.literal('password').optional(),
  scope: z.string().max(200).optional(),
  client_id: z.string().max(200).optional(),
  client_secret: z.string().max(200).optional(),
  /** Browsers ask for the refresh token in an httpOnly cookie instead of the body. */
  refresh_token_delivery: refreshTokenDelivery.optional(),
  /** "Keep me signed in": a user's session gets the longer idle timeout and lifetime (never an administrator's). */
  remember_me: queryBoolean
    .optional()
    .describe('Keep me signed in: the longer idle timeout and lifetime for a user (not an administrator). A form sends `true` or `false`.'),
});
export type LoginInput = z.infer<typeof loginInput>;

export const refreshInput = z.object({
  /** Absent when the browser sends it as a cookie. */
  refresh_token: z.string().min(1).max(200).optional(),
  grant_type: z.literal('refresh_token').optional(),
  refresh_token_delivery: refreshTokenDelivery.optional(),
});

/** A page of the caller's live sessions, newest sign-in first. */
export const sessionListInput = z.object({
  limit: limitSchema.describe('Sessions per page, 1–100'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});
export type SessionListInput = z.infer<typeof sessionListInput>;

export const changePasswordInput = z.object({
  currentPassword: passwordSchema,
  newPassword: passwordSchema,
});
export type ChangePasswordInput = z.infer<typeof changePasswordInput>;

export const resetPasswordInput = z.object({
  token: z.string().min(1).max(200),
  newPassword: passwordSchema,
});
export type ResetPasswordInput = z.infer<typeof resetPasswordInput>;
