import { sql } from 'kysely';
import { expect, inject, it, vi } from 'vitest';

const template = inject('dbTemplate');

it.runIf(template.driver === 'postgres')(
  "one project's pages are prepared once per connection on PostgreSQL; pages across all projects are planned afresh (with the fast paths; pg's own path names none)",
  async () => {
    // Which shapes get a name depends on the shapes these modules have seen before (a budget of
    // names per process), and the worker may have run other files already: fresh modules.
    vi.resetModules();
    const { createTestDatabase } = await import('../testing');
    const { listTasksPage, pageStatement } = await import('./tasks');
    const database = await createTestDatabase(template);
    try {
      const query = { filters: { statuses: ['todo' as const] }, sort: 'updated_at' as const, order: 'asc' as const, limit: 3 };
      const viewer = { userId: 1, isAdmin: false };
      const ownText = pageStatement({ ...query, scope: { project: 1, viewer } }, 'keyed').sql;
      const everyoneText = pageStatement({ ...query, scope: { allProjects: true } }, 'keyed').sql;
      // One transaction: one connection, whose prepared statements the view lists.
      const prepared = await database.db.transaction().execute(async (trx) => {
        for (const project of [1, 2, 3]) await listTasksPage(trx, { ...query, scope: { project, viewer } });
        await listTasksPage(trx, { ...query, scope: { allProjects: true } });
        const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(trx);
        return rows.map((row) => row.statement);
      });
      if (template.fastPaths === false) {
        // FAST_PATHS=false: Kysely and pg as they come, which never name a statement.
        expect(prepared).toEqual([]);
      } else {
        expect(prepared.filter((statement) => statement === ownText)).toHaveLength(1);
        expect(prepared).not.toContain(everyoneText);
      }
    } finally {
      await database.close();
    }
  },
);
