import { describe, expect, it } from 'vitest';
import { libpqConnection, parseCopyData } from './pg-tools';

describe('libpqConnection', () => {
  it('takes the password out of the URL and into PGPASSWORD, decoded', () => {
    const { dbname, env } = libpqConnection('postgres://stm:p%40ss%3Aw%2Frd@db.internal:5433/stm?sslmode=require');
    expect(dbname).toBe('postgres://stm@db.internal:5433/stm?sslmode=require');
    expect(env.PGPASSWORD).toBe('p@ss:w/rd');
  });

  it('also moves a password given as a query parameter', () => {
    const { dbname, env } = libpqConnection('postgresql://stm@127.0.0.1/stm?password=s3cret&application_name=x');
    expect(dbname).toBe('postgresql://stm@127.0.0.1/stm?application_name=x');
    expect(env.PGPASSWORD).toBe('s3cret');
  });

  it("keeps a URL without a host as it is (the Unix socket, named by ?host= or libpq's default)", () => {
    const socket = libpqConnection('postgres://stm:secret@/stm?host=/var/run/postgresql');
    expect(socket.dbname).toBe('postgres://stm@/stm?host=/var/run/postgresql');
    expect(socket.env.PGPASSWORD).toBe('secret');
    expect(libpqConnection('postgresql:///stm').dbname).toBe('postgresql:///stm');
  });

  it('sets no password when the URL has none (libpq may still use ~/.pgpass or PGPASSWORD)', () => {
    const { dbname, env } = libpqConnection('postgres://postgres@127.0.0.1:5432/test');
    expect(dbname).toBe('postgres://postgres@127.0.0.1:5432/test');
    expect(env).not.toHaveProperty('PGPASSWORD');
  });
});

describe('parseCopyData', () => {
  it("reads pg_restore's COPY blocks: quoted column names, NULLs and backslash escapes", () => {
    const script = [
      'SET statement_timeout = 0;',
      'COPY public.kysely_migration (name, "timestamp") FROM stdin;',
      '2026_11_25_0001_accounts\t2026-11-25T10:00:00.000Z',
      '2026_11_25_0002_settings_and_audit\t2026-11-25T10:00:01.000Z',
      '\\.',
      '',
      'COPY public.signing_keys (kid, private_key, retired_at, "odd""name") FROM stdin;',
      'k1\tv1.a.b.c\t\\N\ttab\\there\\nnewline \\\\ back\\\\slash',
      '\\.',
    ].join('\n');
    const tables = parseCopyData(script);
    expect(tables.get('kysely_migration')).toEqual([
      { name: '2026_11_25_0001_accounts', timestamp: '2026-11-25T10:00:00.000Z' },
      { name: '2026_11_25_0002_settings_and_audit', timestamp: '2026-11-25T10:00:01.000Z' },
    ]);
    expect(tables.get('signing_keys')).toEqual([{ kid: 'k1', private_key: 'v1.a.b.c', retired_at: null, 'odd"name': 'tab\there\nnewline \\ back\\slash' }]);
  });

  it('gives an empty table no rows', () => {
    expect(parseCopyData('COPY public.settings (id, value) FROM stdin;\n\\.\n').get('settings')).toEqual([]);
  });
});
