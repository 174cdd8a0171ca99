import { describe, expect, it } from 'vitest';
import { CliError, ExitCode } from './errors';
import { localDateTime, parseDueDate } from './dates';

// Expectations are built with Date's local-time constructor, so they hold in any time zone.
describe('parseDueDate', () => {
  it('passes an ISO instant with an offset through as it is', () => {
    expect(parseDueDate('2030-01-02T08:30:00+02:00')).toBe('2030-01-02T08:30:00+02:00');
    expect(parseDueDate('2030-01-02T08:30:00Z')).toBe('2030-01-02T08:30:00Z');
  });

  it('reads a date alone as the end of that local day', () => {
    expect(parseDueDate('2030-05-01')).toBe(new Date(2030, 4, 1, 23, 59).toISOString());
  });

  it('reads a date and time without an offset as local time', () => {
    expect(parseDueDate('2030-05-01 17:30')).toBe(new Date(2030, 4, 1, 17, 30).toISOString());
    expect(parseDueDate('2030-05-01T17:30:15')).toBe(new Date(2030, 4, 1, 17, 30, 15).toISOString());
  });

  it('refuses days and times that do not exist, and anything else, as wrong usage', () => {
    for (const value of ['2030-02-30', '2030-13-01', '2030-05-01 24:00', '2030-05-01 12:60', '0099-01-01', 'tomorrow', '']) {
      let thrown: unknown;
      try {
        parseDueDate(value);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, value).toBeInstanceOf(CliError);
      expect((thrown as CliError).exitCode).toBe(ExitCode.usage);
    }
  });

  it('shows an instant back in the local form it reads', () => {
    const iso = parseDueDate('2030-05-01 17:30');
    expect(localDateTime(iso)).toBe('2030-05-01 17:30');
    expect(parseDueDate(localDateTime(iso))).toBe(iso);
  });
});
