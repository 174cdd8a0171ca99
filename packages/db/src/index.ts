export { createDb, DataDirInUseError } from './client';
export type { DatabaseHandle, DbConfig, DbDriver, PoolOptions } from './client';
export type { QueryObserver } from './observed-dialect';
export { ALL_DB_FAST_PATHS, compilesEachQuery, type DbFastPaths } from './fastpath/switch';
export type { CommitAnnouncements } from './commit-announcements';
export { SHORT_LIVED_SHARED_BUFFERS } from './pglite';
export { writePgliteTemplates } from './pglite-template';
export { migrateDown, migrateTo, migrateToLatest, migrateToLatestLocked, migrationNames, schemaState } from './migrate';
export type { MigrationReport, SchemaState } from './migrate';
export {
  isDatabaseLoginRefused,
  isDatabaseUnavailable,
  isForeignKeyViolation,
  isInvalidParameter,
  isQueryCanceled,
  isRetryableTransactionError,
  isUniqueViolation,
} from './errors';
export * from './schema';
export { withStatementTimeout } from './statement-timeout';
export * as apiTokens from './queries/api-tokens';
export * as audit from './queries/audit';
export * as changeEvents from './queries/change-events';
export * as comments from './queries/comments';
export * as emails from './queries/emails';
export * as factors from './queries/factors';
export * as labels from './queries/labels';
export * as mailOutbox from './queries/mail-outbox';
export * as notifications from './queries/notifications';
export * as passwordResets from './queries/password-resets';
export * as projects from './queries/projects';
export * as sessions from './queries/sessions';
export * as settings from './queries/settings';
export * as signingKeys from './queries/signing-keys';
export * as taskEvents from './queries/task-events';
export * as tasks from './queries/tasks';
export * as usage from './queries/usage';
export * as users from './queries/users';
export * as webhooks from './queries/webhooks';
export { sql } from 'kysely';
export type { Kysely, Transaction } from 'kysely';
