import { describe, expect, it } from 'vitest';
import { passwordLength, passwordPolicyProblem } from './password';
import { RESET_PASSWORD_PATH, resetLinkUrl, resetTokenFromHash } from './reset-link';

describe('passwordPolicyProblem', () => {
  it('counts characters as a person does, as the server does', () => {
    expect(passwordLength('ñandú🙂')).toBe(6);
    expect(passwordPolicyProblem('ñandú🙂ab', undefined, 8)).toBe(undefined);
    expect(passwordPolicyProblem('ñandú🙂a', undefined, 8)).toBe('PASSWORD_TOO_SHORT');
  });

  it('refuses the username inside the password, in any case, and only once it is long enough', () => {
    expect(passwordPolicyProblem('my name is ALICE ok', 'alice', 8)).toBe('PASSWORD_CONTAINS_USERNAME');
    expect(passwordPolicyProblem('alice', 'alice', 8)).toBe('PASSWORD_TOO_SHORT');
    expect(passwordPolicyProblem('a long passphrase', 'alice', 8)).toBe(undefined);
  });
});

describe('reset links', () => {
  it('carry the token in the fragment, which browsers never send to the server', () => {
    const url = resetLinkUrl('https://tasks.example', 'abc_DEF-123');
    expect(url).toBe(`https://tasks.example${RESET_PASSWORD_PATH}#token=abc_DEF-123`);
    const parsed = new URL(url);
    expect(parsed.pathname + parsed.search).toBe('/reset-password');
    expect(resetTokenFromHash(parsed.hash)).toBe('abc_DEF-123');
  });

  it('read no token from an empty or unrelated fragment', () => {
    expect(resetTokenFromHash('')).toBe(null);
    expect(resetTokenFromHash('#token=')).toBe(null);
    expect(resetTokenFromHash('#other=1')).toBe(null);
  });
});
