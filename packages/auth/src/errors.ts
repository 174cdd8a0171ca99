/** Why a token was refused. Only `expired` tells the client something it can act on (refresh). */
export type TokenProblem =
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'unknown_key'
  | 'bad_claims'
  | 'wrong_type'
  /** Made to live longer (`exp - iat`) than any token we issue may. */
  | 'lifetime_too_long';

export class TokenError extends Error {
  constructor(
    readonly problem: TokenProblem,
    options?: { cause?: unknown },
  ) {
    super(`Invalid token: ${problem}`, options);
    this.name = 'TokenError';
  }
}
