import type { DatabaseConnection, Dialect, Driver, Kysely } from 'kysely';

/**
 * Who is told of a transaction's change events once it commits, when that is not the database's
 * own NOTIFY (Redis pub/sub, for one). An event is announced only after the commit that made it
 * succeeded, never for a transaction that rolled back; the announcement names the newest id.
 */
export class CommitAnnouncements {
  /** Unset: events are announced with NOTIFY inside their transaction, delivered at its commit. */
  announcer: ((newestId: number) => void) | undefined;
  readonly #pending = new WeakMap<DatabaseConnection, number>();

  mark(connection: DatabaseConnection, newestId: number): void {
    this.#pending.set(connection, Math.max(newestId, this.#pending.get(connection) ?? 0));
  }

  committed(connection: DatabaseConnection): void {
    const newest = this.#pending.get(connection);
    if (newest === undefined) return;
    this.#pending.delete(connection);
    try {
      this.announcer?.(newest);
    } catch {
      // An announcer that fails is its own concern: the commit stands, and readers catch up.
    }
  }

  forget(connection: DatabaseConnection): void {
    this.#pending.delete(connection);
  }
}

/** The announcements of the database a connection belongs to. */
const announcementsOf = new WeakMap<DatabaseConnection, CommitAnnouncements>();

/** The dialect with commits and rollbacks reported to `announcements`; connections pass through unchanged. */
export function announcingDialect(dialect: Dialect, announcements: CommitAnnouncements): Dialect {
  return {
    createDriver: () => announcingDriver(dialect.createDriver(), announcements),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

function announcingDriver(driver: Driver, announcements: CommitAnnouncements): Driver {
  const announcing: Driver = {
    init: () => driver.init(),
    async acquireConnection(options) {
      const connection = await driver.acquireConnection(options);
      announcementsOf.set(connection, announcements);
      return connection;
    },
    beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
    async commitTransaction(connection) {
      try {
        await driver.commitTransaction(connection);
      } catch (error) {
        announcements.forget(connection);
        throw error;
      }
      announcements.committed(connection);
    },
    async rollbackTransaction(connection) {
      announcements.forget(connection);
      await driver.rollbackTransaction(connection);
    },
    releaseConnection: (connection, options) => driver.releaseConnection(connection, options),
    destroy: (options) => driver.destroy(options),
  };
  if (driver.savepoint) announcing.savepoint = driver.savepoint.bind(driver);
  if (driver.rollbackToSavepoint) announcing.rollbackToSavepoint = driver.rollbackToSavepoint.bind(driver);
  if (driver.releaseSavepoint) announcing.releaseSavepoint = driver.releaseSavepoint.bind(driver);
  return announcing;
}

/**
 * The announcements that will hear of `trx`'s commit, and its connection, when its database has
 * an announcer; undefined otherwise (the caller then announces with NOTIFY).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a transaction over any schema: only its connection is read
export async function commitAnnouncementsOf(trx: Kysely<any>): Promise<{ announcements: CommitAnnouncements; connection: DatabaseConnection } | undefined> {
  if (!trx.isTransaction) return undefined;
  return trx.getExecutor().provideConnection((connection) => {
    const announcements = announcementsOf.get(connection);
    return Promise.resolve(announcements?.announcer ? { announcements, connection } : undefined);
  });
}
