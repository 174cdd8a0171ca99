export { TokenError, type TokenProblem } from './errors';
export {
  decryptPrivateKey,
  deriveKey,
  encryptPrivateKey,
  generateSigningKey,
  importPrivateKey,
  importPublicKey,
  openSecret,
  sealSecret,
  SIGNING_ALGORITHM,
  type GeneratedSigningKey,
} from './keys';
export { isBcryptHash, legacyBcryptHash, PasswordHasher, type PasswordHasherOptions } from './password';
export { checkPassword, PASSWORD_MIN_STRENGTH, type PasswordPolicy, type PasswordProblem } from './password-policy';
export {
  ACCESS_TOKEN_TYPE,
  CLOCK_TOLERANCE_SECONDS,
  generateOpaqueToken,
  hashOpaqueToken,
  signAccessToken,
  verifyAccessToken,
  type AccessTokenClaims,
  type AccessTokenSubject,
  type KeyResolver,
  type SignedAccessToken,
  type TokenAudience,
  type VerifyOptions,
} from './tokens';
export { BusyError, WorkLimiter } from './work-limiter';
export type { CryptoKey, JWK } from 'jose';
export { generateRecoveryCodes, generateTotpSecret, hashRecoveryCode, matchTotpStep, normaliseRecoveryCode, totpCodeAt, totpStepAt, totpUri } from './totp';
