/**
 * How tests start the API's programs: the bundle the build makes when it is up to date, the
 * sources through tsx otherwise. Kept apart from the other helpers, which import the whole app,
 * so the browser tests can use it without loading the API into their own process.
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** apps/api: where `tsx` resolves and `src/` lives. */
export const API_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The CLI as the build bundles it (`pnpm --filter @stm/api build`). */
export const BUILT_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The embedded database before any migration, which the build writes beside the bundle. */
export const BUILT_EMPTY_TEMPLATE = fileURLToPath(new URL('../dist/pglite-empty-template.tar.gz', import.meta.url));

/** The server as the build bundles it, which deployments run. */
export const BUILT_SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

/** Where the bundle's code comes from: a source newer than the bundle means it is out of date. */
const BUNDLED_SOURCES = ['src', '../../packages/db/src', '../../packages/auth/src', '../../packages/validators/src', '../../packages/prompt/src', 'build.mjs'];

function newestChange(entry: string): number {
  const stats = statSync(entry, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestChange(path.join(entry, name)));
  return newest;
}

/** Whether every file of `outputs` exists and is at least as new as everything under `sources` (files or folders). */
export function builtAfter(outputs: string[], sources: string[]): boolean {
  const built = Math.min(...outputs.map((file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0));
  return built >= Math.max(...sources.map(newestChange));
}

let bundleFresh: boolean | undefined;

/**
 * Whether the bundle (dist/cli.js, dist/server.js) is at least as new as every source it is made
 * of. The test command builds it first, and it starts in a fraction of the time tsx takes (the
 * server from the sources also has no embedded database template, so it runs initdb and every
 * migration); when it is out of date, the sources run through tsx, so a test never runs code older
 * than it tests.
 */
export function bundleIsFresh(): boolean {
  bundleFresh ??= builtAfter(
    [BUILT_CLI, BUILT_SERVER],
    BUNDLED_SOURCES.map((source) => path.join(API_DIR, source)),
  );
  return bundleFresh;
}

/**
 * V8 flags for the processes the tests start on the embedded database: an operator's command,
 * which lives a second or two, and the server of a browser test file, which lives a minute on a
 * small database. V8 compiles PGlite's WebAssembly twice: a baseline first, then optimized code,
 * in the background, for what runs often (most of it while the database starts). Over such a
 * life the second compile costs the busy test machine more CPU than its faster code gives back;
 * the baseline alone behaves the same. (Operators keep both: a large restore, or a server that
 * runs for days, is faster with them.)
 */
export const SHORT_LIVED_PROCESS_FLAGS = ['--liftoff-only'];

/** tsx's loader, by URL, so a process started from any directory finds it. */
function fromSources(entry: string): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', tsx, path.join(API_DIR, entry)];
}

/** Node's arguments that start the operator CLI: the bundle when it is up to date, else the sources. */
export function cliCommand(): string[] {
  return bundleIsFresh() ? [BUILT_CLI] : fromSources('src/cli.ts');
}

/** Node's arguments that start the server: the bundle when it is up to date, else the sources. */
export function serverCommand(): string[] {
  return bundleIsFresh() ? [BUILT_SERVER] : fromSources('src/server.ts');
}
