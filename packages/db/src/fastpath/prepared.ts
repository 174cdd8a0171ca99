/*
 * Fast path: Kysely's build-and-compile of each query (and pg's unnamed statements), replaced for
 * a few hot queries by a template compiled once and run as a named statement. Held to Kysely by
 * queries/tasks-page.test.ts (same SQL as the builder) and by the whole suite in the `stock`
 * Vitest project (FAST_PATHS=false), where these queries are built and compiled every time.
 */
import { type Compilable, CompiledQuery, DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type { Database } from '../schema';
import { compilesEachQuery } from './switch';

/** Builds queries without a connection, only to compile them (Kysely's "splitting build and execution"). */
export const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const SENTINEL = '\u0000param:';

/**
 * The value that stands for parameter `name` while a query template is built. It must reach the
 * compiled query as a parameter of its own, untransformed: a builder that computes with it
 * (a LIKE pattern, a sum) has to take the computed value as the parameter instead.
 */
export function placeholder(name: string): string {
  return `${SENTINEL}${name}`;
}

/** A compiled query whose parameters are filled in by name on each run. */
export interface QueryTemplate<R> {
  sql: string;
  /** The compiled query with `params` in the placeholders' places. */
  bind(params: Readonly<Record<string, unknown>>): CompiledQuery<R>;
}

/**
 * Compiles a query built with placeholders (see `placeholder`) once; each `bind` then costs an
 * array of parameters instead of a build and a compile. Kysely's builders are immutable and
 * allocate a node per step, which on the hottest paths costs more than the database's answer.
 */
export function compileTemplate<R>(query: Compilable<R>): QueryTemplate<R> {
  const compiled = query.compile();
  if (compiled.sql.includes(SENTINEL)) throw new Error('A placeholder reached the SQL text instead of a parameter');
  // Per parameter: the placeholder's name, or undefined for a constant the query was built with.
  const names = compiled.parameters.map((value) => {
    if (typeof value !== 'string' || !value.includes(SENTINEL)) return undefined;
    if (!value.startsWith(SENTINEL)) throw new Error(`A placeholder was transformed before it became a parameter: ${JSON.stringify(value)}`);
    return value.slice(SENTINEL.length);
  });
  return {
    sql: compiled.sql,
    bind(params) {
      const values = names.map((name, index) => {
        if (name === undefined) return compiled.parameters[index];
        if (!Object.hasOwn(params, name)) throw new Error(`No value for query parameter "${name}"`);
        return params[name];
      });
      return CompiledQuery.raw(compiled.sql, values);
    },
  };
}

/** Placeholders for every parameter of `P`, by name. */
function placeholders(): unknown {
  return new Proxy({}, { get: (_target, name) => placeholder(String(name)) });
}

/**
 * SQL text → statement name, for the PostgreSQL driver: a statement with a name is parsed and
 * planned once per connection and then only bound and run. Only these few fixed statements get
 * one; a name per dynamically built statement would pin a plan that suits one set of values.
 */
export const namedStatements = new Map<string, string>();

/** Gives the statement with this SQL text a name (see `namedStatements`), unless it has one. */
export function nameStatement(sqlText: string): void {
  if (!namedStatements.has(sqlText)) namedStatements.set(sqlText, `stm_prepared_${namedStatements.size + 1}`);
}

/**
 * A query built with Kysely once and then run with new parameters, skipping the builder and the
 * compiler on every call, and on PostgreSQL the server's parser and planner too (it runs as a
 * named statement). For the few queries on the hottest paths; everything else should
 * build queries normally. `build` receives placeholders standing for the named parameters.
 */
export function prepareQuery<P extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, params: P) => Compilable<R>,
): (db: Kysely<Database>, params: P) => Promise<R[]> {
  const template = compileTemplate(build(compiler, placeholders() as P));
  nameStatement(template.sql);
  return async (db, params) => (await db.executeQuery(compilesEachQuery(db) ? build(db, params) : template.bind(params))).rows;
}
