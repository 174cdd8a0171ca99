import { dictionary } from '@zxcvbn-ts/language-common';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  refuseCommon: boolean;
}

/** Why a password was refused; stable codes the console translates. */
export type PasswordProblem = 'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG' | 'PASSWORD_TOO_COMMON' | 'PASSWORD_TOO_WEAK' | 'PASSWORD_CONTAINS_USERNAME';

const commonPasswords = new Set<string>([
  ...dictionary['passwords-common'],
  // The defaults of the service this one replaces.
  'clave_secreta_super_segura',
  'secure-task-manager',
]);

/**
 * Characters as a person counts them (code points after NFKC), not UTF-16 units: the same measure
 * as `passwordLength` of @stm/validators, whose schema refuses what this policy would.
 */
export function passwordLength(password: string): number {
  return Array.from(password.normalize('NFKC')).length;
}

/** The least zxcvbn score (0–4) a password needs when common ones are refused: about 10^8 guesses. */
export const PASSWORD_MIN_STRENGTH = 3;

/**
 * NIST SP 800-63B: a length range, no composition rules, refuse passwords from breach and
 * common-password lists and ones built from the username. The checks that cost next to nothing;
 * the strength estimate (`PASSWORD_TOO_WEAK`) runs on the hasher's threads after them.
 */
export function checkPassword(password: string, username: string | undefined, policy: PasswordPolicy): PasswordProblem | undefined {
  const length = passwordLength(password);
  if (length < policy.minLength) return 'PASSWORD_TOO_SHORT';
  if (length > policy.maxLength) return 'PASSWORD_TOO_LONG';
  const folded = password.normalize('NFKC').toLowerCase();
  if (username && username.length > 0 && folded.includes(username.toLowerCase())) return 'PASSWORD_CONTAINS_USERNAME';
  if (policy.refuseCommon && commonPasswords.has(folded)) return 'PASSWORD_TOO_COMMON';
  return undefined;
}
