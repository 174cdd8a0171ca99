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
 * SQL text → statement name, for the PostgreSQL driver: a statement with a name is parsed and
 * planned once per connection and then only bound and run. Only these few fixed statements get
 * one; a name per dynamically built statement would pin a plan that suits one set of values.
 */
export const namedStatements = new Map<string, string>();

/**
 * A query built with Kysely once and then run with new parameters, skipping the builder and the
 * compiler on every call, and on PostgreSQL the server's parser and planner too (it runs as a
 * named statement). For the few queries on the hottest paths; everything else should
 * build queries normally. `build` receives placeholders standing for the named parameters.
 */
export function prepareQuery<P extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, params: P) => Compilable<R>,
): (db: Kysely<Database>, params: P) => Promise<R[]> {
  const placeholders = new Proxy({} as P, { get: (_target, name) => `${SENTINEL}${String(name)}` });
  const compiled = build(compiler, placeholders).compile();
  if (!namedStatements.has(compiled.sql)) namedStatements.set(compiled.sql, `stm_prepared_${namedStatements.size + 1}`);
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
