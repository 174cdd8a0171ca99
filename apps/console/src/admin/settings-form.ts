import type { Settings } from '@stm/validators';

export type NumberSetting = {
  [K in keyof Settings]: Settings[K] extends number ? K : never;
}[keyof Settings];
export type SwitchSetting = {
  [K in keyof Settings]: Settings[K] extends boolean ? K : never;
}[keyof Settings];

/** The settings form as its inputs hold it: numbers as typed, switches as booleans. */
export type SettingsFormValues = { [K in NumberSetting]: string } & { [K in SwitchSetting]: boolean };

export const NUMBER_SETTINGS: readonly NumberSetting[] = [
  'accessTokenTtlSeconds',
  'refreshTokenTtlSeconds',
  'sessionIdleTimeoutSeconds',
  'sessionMaxLifetimeSeconds',
  'rememberedSessionIdleTimeoutSeconds',
  'rememberedSessionMaxLifetimeSeconds',
  'lockoutThreshold',
  'lockoutWindowSeconds',
  'passwordMinLength',
  'quotaTasksPerUser',
  'quotaProjectsPerUser',
  'quotaCommentsPerUser',
  'apiTokenMaxLifetimeDays',
  'mfaAdminGraceDays',
  'mfaEveryoneGraceDays',
];
export const SWITCH_SETTINGS: readonly SwitchSetting[] = ['registrationOpen', 'passwordRefuseCommon', 'mfaRequiredForAdmins', 'mfaRequiredForEveryone'];

export function settingsToForm(settings: Settings): SettingsFormValues {
  const form: Partial<SettingsFormValues> = {};
  for (const key of SWITCH_SETTINGS) form[key] = settings[key];
  for (const key of NUMBER_SETTINGS) form[key] = String(settings[key]);
  return form as SettingsFormValues;
}

/**
 * A number as typed, for the shared schema to judge: anything that reads as a finite number
 * becomes one, anything else stays text so the schema reports it instead of it quietly becoming
 * NaN or 0 (`Number('')` is 0).
 */
function typedNumber(text: string): number | string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== '' && Number.isFinite(value) ? value : trimmed;
}

/**
 * Only the settings the admin changed against the ones the form started from: a concurrent change
 * to another setting is not undone by saving this form.
 */
export function settingsChanges(base: Settings, values: SettingsFormValues): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const key of SWITCH_SETTINGS) if (values[key] !== base[key]) changes[key] = values[key];
  for (const key of NUMBER_SETTINGS) {
    const value = typedNumber(values[key]);
    if (value !== base[key]) changes[key] = value;
  }
  return changes;
}

const UNITS = [
  { unit: 'day', seconds: 86_400 },
  { unit: 'hour', seconds: 3_600 },
  { unit: 'minute', seconds: 60 },
  { unit: 'second', seconds: 1 },
] as const;

export type DurationUnit = (typeof UNITS)[number]['unit'];
export const DURATION_UNITS: readonly DurationUnit[] = UNITS.map((entry) => entry.unit);
const SECONDS_PER = Object.fromEntries(UNITS.map((entry) => [entry.unit, entry.seconds])) as Record<DurationUnit, number>;
export const secondsPer = (unit: DurationUnit): number => SECONDS_PER[unit];

/** A duration in seconds as it reads best: the largest unit it is a whole number of ("900" → 15 minutes). */
export function durationInUnits(text: string): { amount: string; unit: DurationUnit } {
  const value = typedNumber(text);
  if (typeof value !== 'number' || value <= 0) return { amount: text, unit: 'second' };
  const { unit, seconds } = UNITS.find((entry) => value % entry.seconds === 0) ?? UNITS[3];
  return { amount: String(value / seconds), unit };
}

/**
 * An amount typed in a unit, as the seconds the setting holds; what does not read as a number is
 * passed on as typed, for the shared schema to refuse.
 */
export function durationToSeconds(amount: string, unit: DurationUnit): string {
  const value = typedNumber(amount);
  return typeof value === 'number' ? String(Math.round(value * secondsPer(unit) * 1000) / 1000) : amount;
}

/** "1 day, 12 hours" in the reader's language (Intl knows the unit names); null if not a whole number. */
export function describeDuration(text: string, language: string): string | null {
  const value = typedNumber(text);
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) return null;
  let rest = value;
  const parts: string[] = [];
  for (const { unit, seconds } of UNITS) {
    const count = Math.floor(rest / seconds);
    rest -= count * seconds;
    if (count > 0) parts.push(new Intl.NumberFormat(language, { style: 'unit', unit, unitDisplay: 'long' }).format(count));
  }
  return new Intl.ListFormat(language, { style: 'long', type: 'unit' }).format(parts);
}
