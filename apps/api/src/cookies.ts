import type { Context, CookieOptions } from './context';
import { DomainError } from './errors';
import type { IssuedTokens } from './services/auth';
import { KNOWN_DEVICE_SECONDS } from './services/known-devices';

/**
 * The console keeps its refresh token in an httpOnly cookie that scripts cannot read, plus a
 * readable CSRF cookie whose value it echoes in `X-CSRF-Token` (signed double-submit). Over HTTPS
 * both take the `__Host-` prefix: Secure, host-only, path `/`, unforgeable by a sibling domain.
 */
function names(ctx: Context) {
  const prefix = ctx.secureTransport ? '__Host-' : '';
  return { refresh: `${prefix}stm_refresh`, csrf: `${prefix}stm_csrf` };
}

function options(ctx: Context, httpOnly: boolean, maxAgeSeconds?: number): CookieOptions {
  return {
    httpOnly,
    secure: ctx.secureTransport || ctx.services.config.server.cookieSecure,
    sameSite: 'strict',
    path: '/',
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

export const CSRF_HEADER = 'x-csrf-token';

/**
 * Refuses to answer with a session cookie where another site could have made the request: a
 * form posted from anywhere would otherwise sign the victim's browser into the attacker's
 * account (login CSRF). Checked before any session is made.
 */
export function assertSessionCookieAllowed(ctx: Context): void {
  if (!ctx.sessionCookieAllowed) {
    throw new DomainError('CSRF_FAILED', 'The session cookie is set only in answer to a same-origin JSON request', {
      field: 'refresh_token_delivery',
    });
  }
}

export function setSessionCookies(ctx: Context, issued: IssuedTokens): void {
  const maxAge = Math.max(1, Math.floor((issued.refreshExpiresAt.getTime() - Date.now()) / 1000));
  const { refresh, csrf } = names(ctx);
  ctx.cookies.set(refresh, issued.refreshToken, options(ctx, true, maxAge));
  ctx.cookies.set(csrf, issued.csrfToken, options(ctx, false, maxAge));
}

export function clearSessionCookies(ctx: Context): void {
  const { refresh, csrf } = names(ctx);
  ctx.cookies.clear(refresh, options(ctx, true));
  ctx.cookies.clear(csrf, options(ctx, false));
}

export function readRefreshCookie(ctx: Context): string | undefined {
  return ctx.cookies.get(names(ctx).refresh);
}

/**
 * The device cookie of an account (see `KnownDevices`): httpOnly, one per account a browser
 * signed in to, kept across sign-outs, as it only tells the lockout this device signed in before.
 */
function deviceCookieName(ctx: Context, username: string): string {
  const prefix = ctx.secureTransport ? '__Host-' : '';
  return `${prefix}stm_device_${ctx.services.knownDevices.cookieTag(username)}`;
}

export function readDeviceCookie(ctx: Context, username: string): string | undefined {
  return ctx.cookies.get(deviceCookieName(ctx, username));
}

export function setDeviceCookie(ctx: Context, username: string, token: string): void {
  ctx.cookies.set(deviceCookieName(ctx, username), token, options(ctx, true, KNOWN_DEVICE_SECONDS));
}
