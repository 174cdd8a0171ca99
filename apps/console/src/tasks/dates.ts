/**
 * Dates between the API (ISO instants in UTC) and the reader (inputs in their own time zone).
 * Everything local here is the browser's time zone, through Date's local-time methods.
 */

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** Years the API stores (PostgreSQL and ISO strings both hold 1000–9999). */
export const MIN_YEAR = 1000;
export const MAX_YEAR = 9999;

/** The bounds for `<input type="datetime-local">`, so the picker offers only what the API takes. */
export const DATETIME_INPUT_MIN = `${MIN_YEAR}-01-01T00:00`;
export const DATETIME_INPUT_MAX = `${MAX_YEAR}-12-31T23:59`;

/** An ISO instant as the value of a `datetime-local` input in the local time zone ('' for none). */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * A `datetime-local` value, read in the local time zone, as an ISO instant in UTC. An empty
 * value is "no due date" (null). Anything unreadable is returned unchanged, so the shared schema
 * reports it as a malformed date instead of it silently becoming "no due date".
 */
export function localInputToIso(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  const match = LOCAL_DATETIME.exec(trimmed);
  if (!match) return trimmed;
  const [year, month, day, hours, minutes, seconds] = match.slice(1).map((part: string | undefined) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < MIN_YEAR || year > MAX_YEAR || hours > 23 || minutes > 59 || seconds > 59) return trimmed;
  const date = new Date(year, month - 1, day, hours, minutes, seconds);
  // new Date() rolls 31 February over into March; a calendar day that does not exist is an error.
  // (A wall-clock time skipped by a daylight-saving change moves forward, as the browser's own
  // picker does, and keeps its day.)
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return trimmed;
  return date.toISOString();
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Local midnight starting a `YYYY-MM-DD` day, or null when it is not a real calendar day. */
export function startOfLocalDay(value: string): Date | null {
  const match = DATE_ONLY.exec(value);
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  if (year < MIN_YEAR || year > MAX_YEAR) return null;
  const date = new Date(year, month - 1, day);
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return null;
  return date;
}

export function isDateOnly(value: string): boolean {
  return startOfLocalDay(value) !== null;
}

/**
 * A due-date range of whole local days, both ends included, as the API's strict bounds:
 * `dueAfter` one millisecond before the first day starts, `dueBefore` when the day after the
 * last one starts.
 */
export function dueRangeToApi(from: string | null, to: string | null): { dueAfter?: string; dueBefore?: string } {
  const range: { dueAfter?: string; dueBefore?: string } = {};
  const start = from ? startOfLocalDay(from) : null;
  if (start) range.dueAfter = new Date(start.getTime() - 1).toISOString();
  const end = to ? startOfLocalDay(to) : null;
  if (end) {
    const next = new Date(end.getFullYear(), end.getMonth(), end.getDate() + 1);
    range.dueBefore = next.toISOString();
  }
  return range;
}

/** Not done and due before now: the API's own definition, so the mark and the filter agree. */
export function isOverdue(task: { status: string; dueAt: string | null }, now: number = Date.now()): boolean {
  return task.status !== 'done' && task.dueAt !== null && Date.parse(task.dueAt) < now;
}

/** The agenda views: what is due today, in the seven days after it, or already late. */
export type DueWindow = 'today' | 'upcoming' | 'overdue';

/** Days in the Upcoming view, after today. */
export const UPCOMING_DAYS = 7;

/**
 * A view's tasks as `tasks.list` input: open tasks (not done) due in its local days, counted in
 * the reader's time zone as of `now`.
 */
export function dueWindowToApi(window: DueWindow, now: Date): { dueAfter?: string; dueBefore?: string; overdue?: true; status: ('todo' | 'in_progress')[] } {
  const status: ('todo' | 'in_progress')[] = ['todo', 'in_progress'];
  if (window === 'overdue') return { overdue: true, status };
  const day = (offset: number) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset);
  const [first, last] = window === 'today' ? [0, 1] : [1, 1 + UPCOMING_DAYS];
  return { dueAfter: new Date(day(first).getTime() - 1).toISOString(), dueBefore: day(last).toISOString(), status };
}

/** The local day of an instant, `YYYY-MM-DD`, for grouping a list by day. */
export function localDayOf(iso: string): string {
  return isoToLocalInput(iso).slice(0, 10);
}
