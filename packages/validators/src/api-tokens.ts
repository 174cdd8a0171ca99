import { z } from 'zod';
import { idSchema, NUL_MESSAGE, noNul } from './common';
import { roleSchema, usernameSchema } from './auth';

/**
 * What an API token may do. A procedure declares the one scope it needs; `admin:*` scopes are
 * given only to administrators' tokens and stop working when the owner stops being one.
 */
export const API_TOKEN_SCOPES = ['tasks:read', 'tasks:write', 'projects:manage', 'admin:read', 'admin:write'] as const;
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number];
export const apiTokenScopeSchema = z.enum(API_TOKEN_SCOPES);
export const ADMIN_TOKEN_SCOPES: readonly ApiTokenScope[] = ['admin:read', 'admin:write'];

/**
 * The prefixes that make a leaked token recognisable to secret scanners: `stm_pat_` for a
 * person's own token, `stm_sat_` for a service account's.
 */
export const PERSONAL_TOKEN_PREFIX = 'stm_pat_';
export const SERVICE_TOKEN_PREFIX = 'stm_sat_';

export function isApiToken(bearer: string): boolean {
  return bearer.startsWith(PERSONAL_TOKEN_PREFIX) || bearer.startsWith(SERVICE_TOKEN_PREFIX);
}

/** The longest lifetime the `apiTokenMaxLifetimeDays` setting may allow. */
export const API_TOKEN_LIFETIME_MAX_DAYS = 366;

export const apiTokenNameSchema = z.string().trim().min(1).max(100).refine(noNul, NUL_MESSAGE);

export const createApiTokenInput = z
  .object({
    name: apiTokenNameSchema.describe('What the token is for, e.g. "CI export"'),
    scopes: z
      .array(apiTokenScopeSchema)
      .min(1)
      .max(API_TOKEN_SCOPES.length)
      .refine((scopes) => new Set(scopes).size === scopes.length, 'Each scope once'),
    expiresInDays: z.number().int().min(1).max(API_TOKEN_LIFETIME_MAX_DAYS).describe('Required; at most the `apiTokenMaxLifetimeDays` setting'),
  })
  .strict();
export type CreateApiTokenInput = z.input<typeof createApiTokenInput>;

export const apiTokenIdInput = z.object({ id: z.uuid() }).strict();

export const createServiceAccountInput = z
  .object({ username: usernameSchema, role: roleSchema.default('user').describe('An administrator service account may hold admin scopes') })
  .strict();

export const serviceAccountIdInput = z.object({ id: idSchema }).strict();

export const createServiceAccountTokenInput = createApiTokenInput.extend({ accountId: idSchema });
