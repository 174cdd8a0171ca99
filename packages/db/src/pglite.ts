const INT8_OID = 20;
const DATE_OID = 1082;
const NUMERIC_OID = 1700;

/**
 * How both drivers read these types, so they return the same shapes. Counts and ids come back
 * as int8; every one we produce stays far below 2^53, so plain numbers. Calendar dates stay
 * strings so no time zone creeps in, and exact decimals (task positions) stay strings so no digit
 * is lost.
 */
export const sharedParsers: Record<number, (value: string) => unknown> = {
  [INT8_OID]: (value: string) => Number(value),
  [DATE_OID]: (value: string) => value,
  [NUMERIC_OID]: (value: string) => value,
};

/**
 * The embedded database's buffer cache (PostgreSQL's `shared_buffers`) for a process that lives
 * for one command or one test: PGlite clears the whole cache as it starts, which at PostgreSQL's
 * default (128MB) is most of the start. A server keeps the default, which it starts once.
 */
export const SHORT_LIVED_SHARED_BUFFERS = '16MB';

/**
 * PGlite and what every embedded database is opened with: the value parsers both drivers share,
 * the extensions the migrations create (trigram search), and `sharedBuffers` when given.
 */
export async function pgliteOptions(settings: { sharedBuffers?: string | undefined } = {}) {
  const [{ PGlite }, { pg_trgm }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm')]);
  return {
    PGlite,
    create: {
      parsers: sharedParsers,
      extensions: { pg_trgm },
      // Settings of this start only: postgresql.conf in the data folder stays as it is.
      ...(settings.sharedBuffers ? { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${settings.sharedBuffers}`] } : {}),
    },
  };
}
