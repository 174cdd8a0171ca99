import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { timestamptzParser } from './timestamps';

const driverParser = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => unknown;

/** The text PostgreSQL sends for `instant` in a session whose offset is `offsetMinutes`. */
function postgresText(instant: number, offsetMinutes: number, fractionDigits: number): string {
  const local = new Date(instant + offsetMinutes * 60_000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const micros = pad(local.getUTCMilliseconds(), 3) + pad(((Math.abs(instant) % 7) * 111) % 1000, 3);
  // PostgreSQL drops trailing zeros of the fraction, and the fraction when it is all zeros.
  const fraction = micros.slice(0, fractionDigits).replace(/0+$/, '');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const offset = Math.abs(offsetMinutes);
  const zone = `${sign}${pad(Math.floor(offset / 60))}${offset % 60 ? `:${pad(offset % 60)}` : ''}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction ? `.${fraction}` : ''}${zone}`
  );
}

describe('timestamptz parser', () => {
  const parse = timestamptzParser(driverParser);

  it('gives the Date the driver gives, for every fraction length and offset', () => {
    const offsets = [0, 60, -300, 330, -570, 765, 840, -720];
    let compared = 0;
    for (let i = 0; i < 4_000; i++) {
      // Instants from 1001 to 9998, spread unevenly so every field takes many values.
      const instant = Math.round(-30_000_000_000_000 + ((i * 7_919_993_431_337) % 280_000_000_000_000));
      const text = postgresText(instant, offsets[i % offsets.length]!, i % 7);
      const parsed = parse(text);
      expect(parsed, text).toEqual(driverParser(text));
      expect(parsed).toBeInstanceOf(Date);
      compared++;
    }
    expect(compared).toBe(4_000);
  });

  it.each(['2026-12-02 06:07:32.123456+00', '2026-12-02 06:07:32+00', '2026-02-28 23:59:59.999999-03:30', '2024-02-29 00:00:00.5+14'])('reads %s', (text) => {
    expect(parse(text)).toEqual(driverParser(text));
  });

  it.each([
    'infinity',
    '-infinity',
    '0099-03-01 10:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '12026-01-01 00:00:00+00',
    '1890-01-01 00:00:00+00:53:28',
    '2026-12-02 06:07:32.+00',
  ])('leaves %s to the driver', (text) => {
    const fallback = (value: string) => ({ fellBack: value });
    expect(timestamptzParser(fallback)(text)).toEqual({ fellBack: text });
  });
});
