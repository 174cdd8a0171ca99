import {
  type Compilable,
  CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from 'kysely';
import type { Database } from './schema';

/** Builds queries without a connection, only to compile them (Kysely's "splitting build and execution"). */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const SENTINEL = '\u0000param:';

/**
 * A query built with Kysely once and then run with new parameters, skipping the builder and the
 * compiler on every call. For the few queries on the hottest paths; everything else should
 * build queries normally. `build` receives placeholders standing for the named parameters.
 */
export function prepareQuery<P extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, params: P) => Compilable<R>,
): (db: Kysely<Database>, params: P) => Promise<R[]> {
  const placeholders = new Proxy({} as P, { get: (_target, name) => `${SENTINEL}${String(name)}` });
  const compiled = build(compiler, placeholders).compile();
  const slots = compiled.parameters.map((value) =>
    typeof value === 'string' && value.startsWith(SENTINEL)
      ? { name: value.slice(SENTINEL.length) }
      : { constant: value },
  );
  return async (db, params) => {
    const values = slots.map((slot) => ('name' in slot ? params[slot.name as keyof P] : slot.constant));
    const result = await db.executeQuery<R>(CompiledQuery.raw(compiled.sql, values));
    return result.rows;
  };
}
