import type { ErrorReason } from './api';

/** Characters as a person counts them, the way the server counts them (code points after NFKC). */
export function passwordLength(password: string): number {
  return Array.from(password.normalize('NFKC')).length;
}

/**
 * The part of the server's password policy a form can check before sending: the live minimum
 * length, and the username inside the password. Whether it is too common only the server knows
 * (the list is large); that refusal comes back by reason code and is shown at the field.
 */
export function passwordPolicyProblem(
  password: string,
  username: string | undefined,
  minLength: number,
): Extract<ErrorReason, 'PASSWORD_TOO_SHORT' | 'PASSWORD_CONTAINS_USERNAME'> | undefined {
  if (passwordLength(password) < minLength) return 'PASSWORD_TOO_SHORT';
  if (username && password.normalize('NFKC').toLowerCase().includes(username.toLowerCase())) return 'PASSWORD_CONTAINS_USERNAME';
  return undefined;
}
