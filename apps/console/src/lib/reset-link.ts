/**
 * Password-reset links. The token travels in the fragment: browsers never send it to the server
 * (so it is in no access log) nor in a Referer header, and the page that reads it removes it from
 * the address bar.
 */
export const RESET_PASSWORD_PATH = '/reset-password';

export function resetLinkUrl(origin: string, token: string): string {
  return `${origin}${RESET_PASSWORD_PATH}#${new URLSearchParams({ token }).toString()}`;
}

/** The token in a `#token=…` fragment, or null. */
export function resetTokenFromHash(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return token ? token : null;
}

/** Email confirmation links have the same shape: the token in a `#token=…` fragment. */
export const VERIFY_EMAIL_PATH = '/verify-email';
export const linkTokenFromHash = resetTokenFromHash;
