import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';

/**
 * Sees every statement run through Kysely, on either engine, and runs it: to time it, trace it,
 * count it. It must call `execute` exactly once and pass its outcome on unchanged.
 */
export type QueryObserver = <R>(query: CompiledQuery, execute: () => Promise<QueryResult<R>>) => Promise<QueryResult<R>>;

/**
 * The dialect with each connection's statements passed through `observe`. Drivers are wrapped
 * rather than patched, so the engine's own connection objects (private fields and all) go back to
 * the driver untouched; transactions' begin and commit are the driver's own and are not observed.
 */
export function observedDialect(dialect: Dialect, observe: QueryObserver): Dialect {
  return {
    createDriver: () => observedDriver(dialect.createDriver(), observe),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

function observedDriver(driver: Driver, observe: QueryObserver): Driver {
  const originals = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const original = (connection: DatabaseConnection) => originals.get(connection) ?? connection;
  const observed: Driver = {
    init: (options) => driver.init(options),
    async acquireConnection(options) {
      const connection = await driver.acquireConnection(options);
      const wrapped: DatabaseConnection = {
        executeQuery: (query, queryOptions) => observe(query, () => connection.executeQuery(query, queryOptions)),
        streamQuery: (query, chunkSize, queryOptions) => connection.streamQuery(query, chunkSize, queryOptions),
      };
      if (connection.cancelQuery) wrapped.cancelQuery = connection.cancelQuery.bind(connection);
      if (connection.killSession) wrapped.killSession = connection.killSession.bind(connection);
      if (connection.collectSessionInfo) wrapped.collectSessionInfo = connection.collectSessionInfo.bind(connection);
      originals.set(wrapped, connection);
      return wrapped;
    },
    beginTransaction: (connection, settings) => driver.beginTransaction(original(connection), settings),
    commitTransaction: (connection) => driver.commitTransaction(original(connection)),
    rollbackTransaction: (connection) => driver.rollbackTransaction(original(connection)),
    releaseConnection: (connection, options) => driver.releaseConnection(original(connection), options),
    destroy: (options) => driver.destroy(options),
  };
  const { savepoint, rollbackToSavepoint, releaseSavepoint } = {
    savepoint: driver.savepoint?.bind(driver),
    rollbackToSavepoint: driver.rollbackToSavepoint?.bind(driver),
    releaseSavepoint: driver.releaseSavepoint?.bind(driver),
  };
  if (savepoint) observed.savepoint = (connection, name, compile) => savepoint(original(connection), name, compile);
  if (rollbackToSavepoint) observed.rollbackToSavepoint = (connection, name, compile) => rollbackToSavepoint(original(connection), name, compile);
  if (releaseSavepoint) observed.releaseSavepoint = (connection, name, compile) => releaseSavepoint(original(connection), name, compile);
  return observed;
}
