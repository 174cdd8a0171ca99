import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from './schema';

/**
 * Runs `work` in a transaction whose statements may each take at most `milliseconds`, whatever
 * the pool's own limit: for queries whose cost the caller's input decides (a search). A statement
 * over the budget fails with SQLSTATE 57014 (`isQueryCanceled`). PGlite runs one statement at a
 * time in this process and has no such timer: there the budget does not apply.
 */
export async function withStatementTimeout<T>(db: Kysely<Database>, milliseconds: number, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('statement_timeout', ${String(Math.max(1, Math.round(milliseconds)))}, true)`.execute(trx);
    return work(trx);
  });
}
