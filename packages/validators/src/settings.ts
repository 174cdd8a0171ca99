import { z } from 'zod';
import { API_TOKEN_LIFETIME_MAX_DAYS } from './api-tokens';
import { strictBoolean } from './common';

const DAY = 86_400;

/** The longest an access token may be set to live; a retired signing key verifies this long. */
export const ACCESS_TOKEN_TTL_MAX_SECONDS = DAY;

/** The least any password policy may ask for (NIST SP 800-63B): what holds before the live policy is known. */
export const LOWEST_PASSWORD_MIN_LENGTH = 8;

const idleTimeout = z
  .number()
  .int()
  .min(5 * 60)
  .max(365 * DAY);
const sessionLifetime = z
  .number()
  .int()
  .min(3_600)
  .max(365 * DAY);

/** Each setting's rule, without a default: an update names only what it changes. */
const settingsFields = {
  registrationOpen: strictBoolean,
  accessTokenTtlSeconds: z.number().int().min(60).max(ACCESS_TOKEN_TTL_MAX_SECONDS),
  refreshTokenTtlSeconds: z
    .number()
    .int()
    .min(3_600)
    .max(365 * DAY),
  sessionIdleTimeoutSeconds: idleTimeout,
  sessionMaxLifetimeSeconds: sessionLifetime,
  rememberedSessionIdleTimeoutSeconds: idleTimeout,
  rememberedSessionMaxLifetimeSeconds: sessionLifetime,
  lockoutThreshold: z.number().int().min(1).max(1_000),
  lockoutWindowSeconds: z.number().int().min(60).max(DAY),
  passwordMinLength: z.number().int().min(LOWEST_PASSWORD_MIN_LENGTH).max(64),
  passwordRefuseCommon: strictBoolean,
  quotaTasksPerUser: z.number().int().min(1).max(10_000_000),
  quotaProjectsPerUser: z.number().int().min(1).max(100_000),
  quotaCommentsPerUser: z.number().int().min(1).max(10_000_000),
  apiTokenMaxLifetimeDays: z.number().int().min(1).max(API_TOKEN_LIFETIME_MAX_DAYS),
  mfaRequiredForAdmins: strictBoolean,
  mfaAdminGraceDays: z.number().int().min(0).max(365),
  mfaRequiredForEveryone: strictBoolean,
  mfaEveryoneGraceDays: z.number().int().min(0).max(365),
};

/** Live settings: stored in the database, in force on every instance within seconds. */
export const settingsSchema = z.object({
  registrationOpen: settingsFields.registrationOpen.default(true),
  accessTokenTtlSeconds: settingsFields.accessTokenTtlSeconds.default(15 * 60),
  refreshTokenTtlSeconds: settingsFields.refreshTokenTtlSeconds.default(30 * DAY),
  // ASVS 4.0.3 V3.3.2 at level 2: administrators' sessions, and users' who did not ask to stay signed in.
  sessionIdleTimeoutSeconds: settingsFields.sessionIdleTimeoutSeconds.default(30 * 60),
  sessionMaxLifetimeSeconds: settingsFields.sessionMaxLifetimeSeconds.default(12 * 3_600),
  // Users who ticked "keep me signed in" (never administrators).
  rememberedSessionIdleTimeoutSeconds: settingsFields.rememberedSessionIdleTimeoutSeconds.default(7 * DAY),
  rememberedSessionMaxLifetimeSeconds: settingsFields.rememberedSessionMaxLifetimeSeconds.default(30 * DAY),
  lockoutThreshold: settingsFields.lockoutThreshold.default(5),
  lockoutWindowSeconds: settingsFields.lockoutWindowSeconds.default(15 * 60),
  // NIST SP 800-63B-4: at least 15 characters where the password is the only factor.
  passwordMinLength: settingsFields.passwordMinLength.default(15),
  passwordRefuseCommon: settingsFields.passwordRefuseCommon.default(true),
  // What one account (not an administrator) may hold at once: far above what a person makes, low
  // enough that a script or a stolen account cannot fill the database.
  quotaTasksPerUser: settingsFields.quotaTasksPerUser.default(50_000),
  quotaProjectsPerUser: settingsFields.quotaProjectsPerUser.default(500),
  quotaCommentsPerUser: settingsFields.quotaCommentsPerUser.default(50_000),
  // The longest an API token may be created for; lowering it leaves tokens already made as they are.
  apiTokenMaxLifetimeDays: settingsFields.apiTokenMaxLifetimeDays.default(90),
  // Second factors: offered to everyone, required of nobody until an administrator says so. The
  // grace period of an account runs from its first sign-in under the rule; past it, a sign-in
  // without a factor can do nothing but enrol one.
  mfaRequiredForAdmins: settingsFields.mfaRequiredForAdmins.default(false),
  mfaAdminGraceDays: settingsFields.mfaAdminGraceDays.default(7),
  mfaRequiredForEveryone: settingsFields.mfaRequiredForEveryone.default(false),
  mfaEveryoneGraceDays: settingsFields.mfaEveryoneGraceDays.default(14),
});
export type Settings = z.infer<typeof settingsSchema>;

/**
 * A partial update. Built from the fields without their defaults: zod 4 fills a default even for
 * an optional key, which would turn every update into "and reset everything else".
 */
export const settingsUpdateInput = z.object(settingsFields).partial().extend({ expectedVersion: z.number().int().positive().optional() }).strict();
export type SettingsUpdateInput = z.infer<typeof settingsUpdateInput>;

export const defaultSettings: Settings = settingsSchema.parse({});
