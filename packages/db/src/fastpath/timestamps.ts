/*
 * Fast path: pg's timestamptz type parser (postgres-date), for the form the server sends for
 * current dates. Held to pg's parser by timestamps.unit.test.ts, and run stock (pg's own parser)
 * by the `stock` Vitest project on PostgreSQL.
 */
const ZERO = 48;
const DASH = 45;
const PLUS = 43;
const SPACE = 32;
const COLON = 58;
const DOT = 46;

/** The digit at `index`, or NaN when there is none. */
function digit(text: string, index: number): number {
  const value = text.charCodeAt(index) - ZERO;
  return value >= 0 && value <= 9 ? value : Number.NaN;
}

function twoDigits(text: string, index: number): number {
  return digit(text, index) * 10 + digit(text, index + 1);
}

/**
 * A parser for PostgreSQL's text form of `timestamptz` with a fast path for what the server
 * sends for every current date, `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM]`, and `fallback` (the
 * driver's own parser) for everything else: infinity, BC, years before 1000 or after 9999,
 * offsets with seconds. It gives the same Date as the fallback, milliseconds truncated. A page
 * of tasks carries several timestamps a row, and the general parser's regular expressions cost
 * more than this (the figures are in the commit that added it and in the bench results).
 */
export function timestamptzParser(fallback: (text: string) => unknown): (text: string) => unknown {
  return (text) => {
    if (
      text.length < 22 ||
      text.charCodeAt(0) === ZERO ||
      text.charCodeAt(4) !== DASH ||
      text.charCodeAt(7) !== DASH ||
      text.charCodeAt(10) !== SPACE ||
      text.charCodeAt(13) !== COLON ||
      text.charCodeAt(16) !== COLON
    ) {
      return fallback(text);
    }
    let index = 19;
    let milliseconds = 0;
    if (text.charCodeAt(index) === DOT) {
      index++;
      for (let scale = 100; ; scale /= 10) {
        const value = digit(text, index);
        if (Number.isNaN(value)) break;
        if (scale >= 1) milliseconds += value * scale;
        index++;
      }
      if (index === 20) return fallback(text);
    }
    const sign = text.charCodeAt(index);
    if (sign !== PLUS && sign !== DASH) return fallback(text);
    let offsetMinutes = twoDigits(text, index + 1) * 60;
    if (text.length === index + 6 && text.charCodeAt(index + 3) === COLON) offsetMinutes += twoDigits(text, index + 4);
    else if (text.length !== index + 3) return fallback(text);
    const time = Date.UTC(
      digit(text, 0) * 1000 + digit(text, 1) * 100 + twoDigits(text, 2),
      twoDigits(text, 5) - 1,
      twoDigits(text, 8),
      twoDigits(text, 11),
      twoDigits(text, 14),
      twoDigits(text, 17),
      milliseconds,
    );
    if (Number.isNaN(time) || Number.isNaN(offsetMinutes)) return fallback(text);
    return new Date(time - (sign === PLUS ? offsetMinutes : -offsetMinutes) * 60_000);
  };
}
