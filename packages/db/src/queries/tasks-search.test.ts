import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedProject, seedTasks, seedUsers } from '../seed';
import { createTestDatabase, type TestDatabase } from '../testing';
import { likePattern, listTasksPage, pageStatement, type TaskScope } from './tasks';

/**
 * Search at a realistic size: 30,000 tasks (most in one shared project) and 10,000 comments.
 * A rare word is found through the trigram indexes, not by reading every row of the project;
 * a common one by reading the project's tasks in the page's order until a page is full.
 */
let database: TestDatabase;
let member: number;
let project: number;
const RARE = 'zebrafish';

beforeAll(async () => {
  database = await createTestDatabase(inject('dbTemplate'));
  const [owner, other] = await seedUsers(database.db, { count: 2, prefix: 'search_' });
  member = owner!;
  project = await seedProject(database.db, { name: 'Big', ownerId: owner!, members: [{ userId: other!, role: 'editor' }] });
  await seedTasks(database.db, { project: { id: project, creatorIds: [owner!, other!] }, count: 25_000 });
  await seedTasks(database.db, { ownerIds: [owner!, other!], count: 5_000, firstRow: 100_000 });
  await sql`
    insert into task_comments (task_id, author_id, body)
    select id, ${owner}, 'Notes on the ' || (array['invoice', 'report', 'deploy'])[1 + id % 3] || ' work, item ' || id
    from tasks where id % 3 = 0`.execute(database.db);
  await sql`update tasks set title = 'The rare ${sql.raw(RARE)} task' where id = (select max(id) from tasks where project_id = ${project})`.execute(
    database.db,
  );
  await sql`insert into task_comments (task_id, author_id, body) select min(id), ${owner}, 'A ${sql.raw(RARE.toUpperCase())} sighting' from tasks where project_id = ${project}`.execute(
    database.db,
  );
  // As a table that has lived a while is left by autovacuum, or on the embedded database by the
  // API's periodic `maintain()`: statistics gathered, the trigram indexes' pending lists merged.
  if (database.driver === 'pglite') await database.maintain();
  else await sql`vacuum analyze`.execute(database.db);
}, 120_000);
afterAll(() => database.close());

async function plan(scope: TaskScope, term: string): Promise<string> {
  const statement = pageStatement({ scope, filters: { searchPattern: likePattern(term) }, sort: 'created_at', order: 'desc', limit: 26 }, 'keyed');
  // EXPLAIN takes no parameters: the values go in as literals.
  const text = statement.sql.replace(/\$(\d+)/g, (_, index: string) => {
    const value = statement.parameters[Number(index) - 1];
    return typeof value === 'number' ? String(value) : `'${String(value).replaceAll("'", "''")}'`;
  });
  const { rows } = await sql.raw<{ 'QUERY PLAN': string }>(`explain ${text}`).execute(database.db);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

describe('search', () => {
  const scopes: [string, () => TaskScope][] = [
    ['one project', () => ({ project, viewer: { userId: member, isAdmin: false } })],
    ["every project of a member's", () => ({ memberOf: member })],
  ];

  it.each(scopes)('finds a rare word in %s through the trigram indexes of titles, descriptions and comments', async (_name, scope) => {
    const shown = await plan(scope(), RARE);
    expect(shown).toMatch(/Bitmap Index Scan on tasks_title_trgm_idx/);
    expect(shown).toMatch(/Bitmap Index Scan on tasks_description_trgm_idx/);
    expect(shown).toMatch(/Bitmap Index Scan on task_comments_body_trgm_idx/);
    expect(shown).not.toMatch(/Seq Scan on tasks\b/);
    const rows = await listTasksPage(database.db, { scope: scope(), filters: { search: RARE }, sort: 'created_at', order: 'desc', limit: 25 });
    expect(rows).toHaveLength(2);
  });

  it('reads a common word in the page’s order until the page is full', async () => {
    const shown = await plan({ project, viewer: { userId: member, isAdmin: false } }, 'invoice');
    expect(shown).toMatch(/Index Scan Backward using tasks_project_created_idx on tasks/);
    const rows = await listTasksPage(database.db, {
      scope: { project, viewer: { userId: member, isAdmin: false } },
      filters: { search: 'invoice' },
      sort: 'created_at',
      order: 'desc',
      limit: 25,
    });
    expect(rows).toHaveLength(25);
  });
});
