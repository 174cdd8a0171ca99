import type { Dialect, DialectAdapter, Kysely } from 'kysely';
import type { Database } from '../schema';

/**
 * Which of this package's fast paths a database runs; each off runs the library's own way
 * instead. The app decides (its FAST_PATHS setting); every one is on unless it says otherwise.
 */
export interface DbFastPaths {
  /**
   * Hot queries compiled once and filled in per call (`prepared.ts`), run on PostgreSQL as named
   * statements; off, Kysely builds and compiles each query and pg sends it unnamed.
   */
  statements: boolean;
}

export const ALL_DB_FAST_PATHS: DbFastPaths = { statements: true };

/** The adapters of databases whose queries Kysely compiles on every call (see `compilesEachQuery`). */
const compilingAdapters = new WeakSet<DialectAdapter>();

/**
 * The dialect with its adapter marked, so that any Kysely instance on it, and every transaction
 * opened from one (they share the adapter), says it compiles each query.
 */
export function compilingEachQuery(dialect: Dialect): Dialect {
  return {
    createDriver: () => dialect.createDriver(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => {
      const adapter = dialect.createAdapter();
      compilingAdapters.add(adapter);
      return adapter;
    },
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

/** Whether `db` (or the transaction) runs every query the way Kysely builds it, with no template. */
export function compilesEachQuery(db: Kysely<Database>): boolean {
  return compilingAdapters.has(db.getExecutor().adapter);
}
