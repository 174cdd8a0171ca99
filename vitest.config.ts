import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * One run covers every package. Files named `*.test.ts` touch a database and run twice: on the
 * embedded PGlite and, when TEST_DATABASE_URL is set, on PostgreSQL (the `stm` client's tests,
 * which never see the database, once: `clientTests`). `*.unit.test.ts` need no
 * database, `*.pg.test.ts` need a real server (several processes sharing it), `*.e2e.test.ts`
 * drive what the build makes: the console in Chromium, the bundled server and CLI. `stock` (with
 * STM_TEST_STOCK=1) runs the database tests once more with FAST_PATHS=false. `pnpm test` runs the
 * one-file-at-a-time projects beside the others (tooling/vitest/run-all.mjs).
 */
const postgresUrl = process.env.TEST_DATABASE_URL;
const roots = ['apps/*/src', 'apps/*/test', 'apps/*/e2e', 'packages/*/src', 'tooling/*/src'];
const files = (pattern: string) => roots.map((root) => `${root}/**/${pattern}`);
const special = [...files('*.unit.test.ts'), ...files('*.e2e.test.ts'), ...files('*.pg.test.ts'), '**/node_modules/**'];
const globalSetup = ['./tooling/vitest/global-setup.ts'];
/**
 * The database tests share their worker's modules from one file to the next, so the API's sources
 * load once per worker rather than once per file; each file still gets its own database and its
 * own app. What a file sets for the whole process (fake timers) it puts back when it ends.
 */
const databaseTests = { exclude: special, globalSetup, isolate: false };
/**
 * The `stm` client's tests: a process per command talking HTTP to the API, which never sees the
 * database. They run once, on PostgreSQL when there is one (what a deployed server runs), else on
 * PGlite; the API's own tests hold both databases to the same answers.
 */
const clientTests = ['apps/cli/test/**/*.test.ts'];

const projects: TestProjectInlineConfiguration[] = [
  { extends: true, test: { name: 'unit', include: files('*.unit.test.ts') } },
  {
    extends: true,
    test: {
      name: 'pglite',
      include: files('*.test.ts'),
      env: { STM_TEST_DB: 'pglite' },
      ...databaseTests,
      exclude: [...special, ...(postgresUrl ? clientTests : [])],
    },
  },
  {
    extends: true,
    test: {
      name: 'e2e',
      include: files('*.e2e.test.ts'),
      env: { STM_TEST_DB: 'pglite' },
      globalSetup,
      fileParallelism: false,
      testTimeout: 90_000,
      hookTimeout: 120_000,
    },
  },
];
// The same database tests with FAST_PATHS=false: every fast path (src/fastpath/ in apps/api and
// packages/db) replaced by the library it re-implements, so the suite is their differential test
// and checking a library upgrade is one command (`pnpm test:stock`). On PostgreSQL when there is
// one: a fast path (named statements) exists only there. Asked for with
// STM_TEST_STOCK=1: it doubles the database tests' time, which the everyday command cannot carry.
if (process.env.STM_TEST_STOCK === '1')
  projects.push({
    extends: true,
    test: {
      name: 'stock',
      include: files('*.test.ts'),
      env: { STM_TEST_DB: postgresUrl ? 'postgres' : 'pglite', FAST_PATHS: 'false' },
      ...databaseTests,
    },
  });
if (postgresUrl) {
  projects.push(
    {
      extends: true,
      test: { name: 'postgres', include: files('*.test.ts'), env: { STM_TEST_DB: 'postgres' }, ...databaseTests },
    },
    {
      extends: true,
      test: {
        name: 'postgres-processes',
        include: files('*.pg.test.ts'),
        env: { STM_TEST_DB: 'postgres' },
        globalSetup,
        fileParallelism: false,
        testTimeout: 120_000,
        hookTimeout: 120_000,
      },
    },
  );
}

/**
 * Vitest runs the projects' files in the order of the projects' names, which put `unit` last: its
 * embedded-database template test (several initdbs) then ran alone at the end of the run with a
 * core idle. The unit tests go first instead, beside the first database tests; within a project,
 * Vitest's own order (the longest first when it has timings from a run before, else the largest).
 */
class UnitTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const unit = (file: TestSpecification) => file.project.name === 'unit';
    return [...sorted.filter(unit), ...sorted.filter((file) => !unit(file))];
  }
}

export default defineConfig({
  test: {
    projects,
    sequence: { sequencer: UnitTestsFirst },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The machine is shared; a worker per core is what it can carry.
    maxWorkers: 2,
  },
});
