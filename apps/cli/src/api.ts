/**
 * The typed API client: `@stm/client`, the package other TypeScript apps use too. Nothing of
 * the server runs here. The API has no transformer: inputs and outputs are plain JSON, dates are
 * ISO strings.
 */
import { createStmClient, httpStatusOf, isStmClientError, type RouterOutputs, type SessionTokens, type StmClient, type StmClientError } from '@stm/client';

export type { ErrorReason, RouterInputs, RouterOutputs, SessionTokens } from '@stm/client';
export type ApiClient = StmClient;
export type ApiError = StmClientError;
export type TokenResponse = RouterOutputs['auth']['login'];

/** A request that hangs must not hang the terminal (or a lock other processes wait on). */
const REQUEST_TIMEOUT_MS = 30_000;
const USER_AGENT = 'stm-cli';

const common = (apiUrl: string) => ({ url: apiUrl, userAgent: USER_AGENT, timeoutMs: REQUEST_TIMEOUT_MS });

export const isApiError: (error: unknown) => error is ApiError = isStmClientError;
export { httpStatusOf };

/** For calls made without a session: signing in and renewing. */
export function createPublicClient(apiUrl: string): ApiClient {
  return createStmClient(common(apiUrl));
}

export function createSessionClient(apiUrl: string, session: SessionTokens): ApiClient {
  return createStmClient({ ...common(apiUrl), session });
}

/** Calls made with an API token (`STM_TOKEN`) instead of a signed-in session. */
export function createTokenClient(apiUrl: string, token: string): ApiClient {
  return createStmClient({ ...common(apiUrl), token });
}
