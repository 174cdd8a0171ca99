/*
 * Fast path: `Date.prototype.toISOString`. Held to it by iso-timestamp.unit.test.ts (every date,
 * property-based), and replaced by it in the `stock` Vitest project (FAST_PATHS=false).
 */
const twoDigits = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const threeDigits = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `date.toISOString()`, to the character, at less cost: V8 formats through its C++ runtime,
 * and a page of tasks carries dozens of dates. Years outside
 * 1000–9999 (padded or signed) and invalid dates (which throw) are left to `toISOString` itself.
 */
export function isoTimestamp(date: Date): string {
  const year = date.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return date.toISOString();
  return `${year}-${twoDigits(date.getUTCMonth() + 1)}-${twoDigits(date.getUTCDate())}T${twoDigits(date.getUTCHours())}:${twoDigits(
    date.getUTCMinutes(),
  )}:${twoDigits(date.getUTCSeconds())}.${threeDigits(date.getUTCMilliseconds())}Z`;
}
