/**
 * What the API takes and returns, and how it refuses: the types of `@stm/client`, the typed
 * client other apps use (nothing is generated here). The console keeps its own links (cookie
 * refresh, CSRF, batching), so it takes the package's types and error helpers, not its client.
 */
export {
  type ErrorReason,
  mayRenewAfter,
  httpStatusOf,
  isStmClientError as isApiError,
  type RouterInputs,
  type RouterOutputs,
  type StmClientError as ApiError,
} from '@stm/client';
