import { type ApiClient, httpStatusOf, isApiError, type SessionTokens, type TokenResponse } from './api';
import { CliError, ExitCode } from './errors';
import type { SessionFile, StoredSession } from './session-file';

/** Renew this long before the access token expires, so it does not lapse in flight. */
const RENEW_MARGIN_MS = 30_000;

export function sessionFromTokens(apiUrl: string, username: string, tokens: TokenResponse, now = Date.now()): StoredSession {
  if (!tokens.refresh_token) throw new Error('The API kept the refresh token out of the response body');
  return {
    version: 1,
    apiUrl,
    username,
    accessToken: tokens.access_token,
    accessTokenExpiresAt: new Date(now + tokens.expires_in * 1000).toISOString(),
    refreshToken: tokens.refresh_token,
  };
}

export function notSignedIn(): CliError {
  return new CliError('Not signed in: run `stm login` first', ExitCode.signedOut);
}

/**
 * The saved session of this machine's user: hands out its access token, and renews the pair
 * with the refresh token when the access token has expired or the API refused it. Every renewal
 * is saved before the new token is used, since the old refresh token is spent.
 */
export class Session implements SessionTokens {
  constructor(
    private readonly file: SessionFile,
    private readonly publicClient: ApiClient,
    private readonly now: () => number = Date.now,
  ) {}

  async accessToken(): Promise<string> {
    const stored = await this.#stored();
    if (Date.parse(stored.accessTokenExpiresAt) - RENEW_MARGIN_MS > this.now()) return stored.accessToken;
    return this.renew(stored.accessToken);
  }

  renew(rejected: string): Promise<string> {
    return this.file.exclusive(async () => {
      const stored = await this.#stored();
      // Another stm process renewed while this one waited for the lock: its token is ours too.
      if (stored.accessToken !== rejected) return stored.accessToken;
      let tokens: TokenResponse;
      try {
        tokens = await this.publicClient.auth.refresh.mutate({ refresh_token: stored.refreshToken });
      } catch (error) {
        if (isRefusal(error)) {
          // The refresh token is spent, expired or revoked: nothing in the file can work again.
          await this.file.remove();
          const reason = isApiError(error) && error.data?.reason ? ` (${error.data.reason})` : '';
          throw new CliError(`Your session has ended${reason}: run \`stm login\` to sign in again`, ExitCode.signedOut);
        }
        throw error;
      }
      const renewed = sessionFromTokens(stored.apiUrl, stored.username, tokens, this.now());
      await this.file.write(renewed);
      return renewed.accessToken;
    });
  }

  async #stored(): Promise<StoredSession> {
    const stored = await this.file.read();
    if (!stored) throw notSignedIn();
    return stored;
  }
}

/** The API looked at the token and said no. Rate limits and outages may pass; keep the session then. */
function isRefusal(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}
