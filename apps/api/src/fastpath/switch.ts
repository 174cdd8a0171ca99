/**
 * The fast paths: this folder's re-implementations of library behaviour, and packages/db's.
 * FAST_PATHS (env.ts) turns them all off, so the same suite and bench run on the stock libraries.
 */
export const FAST_PATH_NAMES = [
  /** tRPC calls: `trpc-adapter.ts`, against `fastifyTRPCPlugin`. */
  'trpc',
  /** tRPC subscriptions: `trpc-sse.ts`, against tRPC's own `sseStreamProducer`. */
  'sse',
  /** REST: `rest-bridge.ts`, against trpc-to-openapi's `fastifyTRPCOpenApiPlugin`. */
  'rest',
  /** Page answers: `sync-parse.ts`, against zod's own `parseAsync`. */
  'zod',
  /** packages/db: queries compiled once and run as named statements, against Kysely compiling each. */
  'statements',
] as const;

export type FastPathName = (typeof FAST_PATH_NAMES)[number];
export type FastPaths = Readonly<Record<FastPathName, boolean>>;

export const ALL_FAST_PATHS: FastPaths = Object.fromEntries(FAST_PATH_NAMES.map((name) => [name, true])) as Record<FastPathName, boolean>;
export const NO_FAST_PATHS: FastPaths = Object.fromEntries(FAST_PATH_NAMES.map((name) => [name, false])) as Record<FastPathName, boolean>;

/**
 * The fast paths of the output schemas. Schemas are module-level, shared by every app in the
 * process, so `buildApp` sets these for all of them (one app per process, or per test file).
 */
export const schemaFastPaths = { zod: true };

export function useSchemaFastPaths(fastPaths: FastPaths): void {
  schemaFastPaths.zod = fastPaths.zod;
}
