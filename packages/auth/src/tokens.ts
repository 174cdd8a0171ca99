import { randomBytes, createHash, randomUUID } from 'node:crypto';
import { type CryptoKey, errors, type FlattenedJWSInput, jwtVerify, type JWTHeaderParameters, SignJWT } from 'jose';
import { TokenError } from './errors';
import { SIGNING_ALGORITHM } from './keys';

/** RFC 9068: the media type that marks a JWT as an access token and nothing else. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenAudience {
  issuer: string;
  audience: string;
}

export interface AccessTokenSubject {
  userId: number;
  role: 'admin' | 'user';
  sessionId: string;
}

export interface SignedAccessToken {
  token: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
  expiresIn: number;
}

export interface AccessTokenClaims extends AccessTokenSubject {
  jti: string;
  kid: string;
  issuedAt: number;
  expiresAt: number;
}

export async function signAccessToken(
  key: { kid: string; privateKey: CryptoKey },
  subject: AccessTokenSubject,
  options: TokenAudience & { ttlSeconds: number; now?: number },
): Promise<SignedAccessToken> {
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  const expiresAt = issuedAt + options.ttlSeconds;
  const jti = randomUUID();
  const token = await new SignJWT({ role: subject.role, sid: subject.sessionId })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
    .setSubject(String(subject.userId))
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(jti)
    .sign(key.privateKey);
  return { token, jti, issuedAt, expiresAt, expiresIn: options.ttlSeconds };
}

export type KeyResolver = (kid: string) => Promise<CryptoKey | undefined>;

export const CLOCK_TOLERANCE_SECONDS = 5;

export interface VerifyOptions extends TokenAudience {
  /** The longest lifetime (`exp - iat`) a token may have been given; a longer one is refused. */
  maxLifetimeSeconds: number;
  now?: number;
}

/**
 * Verifies signature, algorithm (pinned), type, issuer, audience and times, and the shape of
 * our own claims. Any failure is a `TokenError`; nothing else escapes.
 */
export async function verifyAccessToken(token: string, resolveKey: KeyResolver, options: VerifyOptions): Promise<AccessTokenClaims> {
  let kid = '';
  const getKey = async (header: JWTHeaderParameters, _token: FlattenedJWSInput) => {
    if (typeof header.kid !== 'string' || header.kid.length === 0) throw new TokenError('unknown_key');
    kid = header.kid;
    const key = await resolveKey(header.kid);
    if (!key) throw new TokenError('unknown_key');
    return key;
  };
  const nowSeconds = options.now === undefined ? undefined : Math.floor(options.now / 1000);
  let payload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      algorithms: [SIGNING_ALGORITHM],
      issuer: options.issuer,
      audience: options.audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'sid', 'role', 'jti', 'iat', 'exp', 'nbf'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(nowSeconds === undefined ? {} : { currentDate: new Date(nowSeconds * 1000) }),
    }));
  } catch (error) {
    throw toTokenError(error);
  }
  const now = nowSeconds ?? Math.floor(Date.now() / 1000);
  const userId = Number(payload.sub);
  const { sid, role, jti, iat, exp } = payload as Record<string, unknown>;
  if (
    !Number.isSafeInteger(userId) ||
    userId <= 0 ||
    String(userId) !== payload.sub ||
    typeof sid !== 'string' ||
    !UUID.test(sid) ||
    (role !== 'admin' && role !== 'user') ||
    typeof jti !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  ) {
    throw new TokenError('bad_claims');
  }
  if (iat > now + CLOCK_TOLERANCE_SECONDS) throw new TokenError('not_yet_valid');
  // A token signed with our key but made to outlive what we issue is not one we issued as it is.
  if (exp - iat > options.maxLifetimeSeconds) throw new TokenError('lifetime_too_long');
  return { userId, role, sessionId: sid, jti, kid, issuedAt: iat, expiresAt: exp };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function toTokenError(error: unknown): TokenError {
  if (error instanceof TokenError) return error;
  if (error instanceof errors.JWTExpired) return new TokenError('expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return new TokenError('not_yet_valid', { cause: error });
    if (error.claim === 'typ') return new TokenError('wrong_type', { cause: error });
    return new TokenError('bad_claims', { cause: error });
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TokenError('bad_signature', { cause: error });
  if (error instanceof errors.JOSEAlgNotAllowed) return new TokenError('bad_signature', { cause: error });
  return new TokenError('malformed', { cause: error });
}

/**
 * An opaque 256-bit secret (refresh tokens, reset and confirmation codes); only its hash is ever
 * stored. People paste the codes into commands (`stm account email verify`), where one starting
 * with "-" would be read as an option, so none does.
 */
export function generateOpaqueToken(): string {
  let token: string;
  do token = randomBytes(32).toString('base64url');
  while (token.startsWith('-'));
  return token;
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
