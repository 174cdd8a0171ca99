import { z } from 'zod';
import { strictBoolean } from './common';

const DAY = 86_400;

/** Live settings: stored in the database, in force on every instance within seconds. */
export const settingsSchema = z.object({
  registrationOpen: strictBoolean.default(true),
  accessTokenTtlSeconds: z.number().int().min(60).max(DAY).default(15 * 60),
  refreshTokenTtlSeconds: z.number().int().min(3_600).max(365 * DAY).default(30 * DAY),
  lockoutThreshold: z.number().int().min(1).max(1_000).default(5),
  lockoutWindowSeconds: z.number().int().min(60).max(DAY).default(15 * 60),
  passwordMinLength: z.number().int().min(8).max(64).default(8),
  passwordRefuseCommon: strictBoolean.default(true),
});
export type Settings = z.infer<typeof settingsSchema>;

export const settingsUpdateInput = settingsSchema
  .partial()
  .extend({ expectedVersion: z.number().int().positive().optional() })
  .strict();
export type SettingsUpdateInput = z.infer<typeof settingsUpdateInput>;

export const defaultSettings: Settings = settingsSchema.parse({});
