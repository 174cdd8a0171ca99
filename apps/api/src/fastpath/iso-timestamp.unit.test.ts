import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimestamp } from './iso-timestamp';

describe('isoTimestamp', () => {
  it('writes every instant exactly as toISOString does', () => {
    const sameAsToISOString = (date: Date) => {
      expect(isoTimestamp(date)).toBe(date.toISOString());
    };
    // The years it formats itself, to the millisecond...
    const ownRange = fc.date({ min: new Date('1000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
    fc.assert(fc.property(ownRange, sameAsToISOString), { numRuns: 20_000 });
    // ...and every other valid Date, signed and padded years included.
    fc.assert(fc.property(fc.date({ noInvalidDate: true }), sameAsToISOString), { numRuns: 2_000 });
  });

  it('writes the edges of each field as toISOString does', () => {
    for (const text of [
      '1000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '2026-02-28T09:05:07.010Z',
      '2024-02-29T10:10:10.100Z',
      '0999-12-31T23:59:59.999Z',
      '+010000-01-01T00:00:00.000Z',
    ]) {
      const date = new Date(text);
      expect(isoTimestamp(date)).toBe(date.toISOString());
      expect(isoTimestamp(date)).toBe(text);
    }
  });

  it('refuses an invalid date as toISOString does', () => {
    expect(() => isoTimestamp(new Date(Number.NaN))).toThrow(RangeError);
  });
});
