import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/** RFC 6238 as every authenticator app reads it: SHA-1, six digits, 30-second steps. */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** A code of the step before or after now is accepted too: a phone's clock drifts, a person types slowly. */
const WINDOW = 1;

/** A new 160-bit TOTP secret (RFC 4226 recommends 160), base32 as apps take it typed. */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://` URI a QR code carries. */
export function totpUri(secret: string, account: { issuer: string; label: string }): string {
  return new TOTP({ issuer: account.issuer, label: account.label, secret: Secret.fromBase32(secret), period: PERIOD_SECONDS, digits: DIGITS }).toString();
}

export function totpStepAt(epochMs: number): number {
  return Math.floor(epochMs / 1000 / PERIOD_SECONDS);
}

/** The code of a time step (for tests and tools that act as the app). */
export function totpCodeAt(secret: string, epochMs: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), period: PERIOD_SECONDS, digits: DIGITS, timestamp: epochMs });
}

/**
 * The time step whose code `code` is, within the window around `epochMs`, or null. Every step of
 * the window is computed and compared in constant time, with no early exit, so how long the
 * check takes says nothing about which digits were right. Refusing a step already used (replay)
 * is the caller's: it knows the last one.
 */
export function matchTotpStep(secret: string, code: string, epochMs: number): number | null {
  const given = Buffer.from(code.padEnd(DIGITS, ' ').slice(0, DIGITS));
  const wellFormed = code.length === DIGITS && /^\d+$/.test(code);
  const now = totpStepAt(epochMs);
  let matched: number | null = null;
  for (let delta = -WINDOW; delta <= WINDOW; delta++) {
    const step = now + delta;
    const expected = Buffer.from(totpCodeAt(secret, step * PERIOD_SECONDS * 1000));
    if (timingSafeEqual(expected, given) && wellFormed && matched === null) matched = step;
  }
  return matched;
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * Ten codes of 10 characters from a 31-letter alphabet without look-alikes (about 49 bits each),
 * shown as `xxxxx-xxxxx`. They are random enough that a plain hash stores them safely.
 */
export function generateRecoveryCodes(count = 10): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((byte) => RECOVERY_ALPHABET[byte % RECOVERY_ALPHABET.length]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Case, spaces and dashes do not matter in a typed recovery code. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(normaliseRecoveryCode(code), 'utf8').digest('hex');
}
