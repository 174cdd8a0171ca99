import { usageError } from './errors';

const pad = (value: number) => String(value).padStart(2, '0');
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const WITH_OFFSET = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * A due date as typed: an ISO 8601 instant with an offset is taken as it is; a local date and
 * time (`2026-05-01 17:30`) is read in this machine's time zone; a date alone means the end of
 * that local day (23:59). The result is an ISO instant for the API, which checks it again.
 */
export function parseDueDate(value: string, option = '--due'): string {
  const trimmed = value.trim();
  if (WITH_OFFSET.test(trimmed) && trimmed.includes('T')) return trimmed;
  const match = LOCAL.exec(trimmed);
  if (match) {
    const [year, month, day, hours, minutes, seconds] = (match.slice(1) as (string | undefined)[]).map((part) =>
      part === undefined ? undefined : Number(part),
    );
    const dateOnly = hours === undefined;
    const date = new Date(year as number, (month as number) - 1, day, dateOnly ? 23 : hours, dateOnly ? 59 : minutes, seconds ?? 0);
    // new Date() rolls 31 February into March; a day that does not exist is a mistake to report.
    const sameDay = date.getFullYear() === year && date.getMonth() === (month as number) - 1 && date.getDate() === day;
    if (sameDay && (dateOnly || (hours < 24 && (minutes as number) < 60 && (seconds ?? 0) < 60))) return date.toISOString();
  }
  throw usageError(
    `${option} must be a date (YYYY-MM-DD), a local date and time (YYYY-MM-DD HH:MM) or an ISO 8601 instant (2026-05-01T17:30:00Z); got "${value}"`,
  );
}

/** An ISO instant as local wall-clock time, to the minute: the form `parseDueDate` reads back. */
export function localDateTime(iso: string): string {
  const date = new Date(iso);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
