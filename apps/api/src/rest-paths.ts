import { normalizePath } from 'trpc-to-openapi';

/**
 * Spellings of a path that a URL parser resolves to another path: dot segments (`.` and `..`, also
 * percent-encoded), backslashes (slashes to a URL parser), encoded slashes and backslashes, and a
 * fragment, which a request target never has.
 */
const RESOLVES_ELSEWHERE = /[\\#]|%2f|%5c|(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * Whether a REST path, as sent, is spelled so as to resolve to another one. trpc-to-openapi's
 * adapter resolves those (`/api/x/../auth/login` is sign-in); here they name no operation (404),
 * with the fast bridge and the stock adapter alike, so that an operation has one spelling and
 * whatever judges a request by its path (a proxy's rules, the access log, the OAuth2 form paths)
 * sees the operation that answers it.
 */
export function resolvesElsewhere(requestPath: string): boolean {
  return RESOLVES_ELSEWHERE.test(requestPath);
}

/**
 * The operation path a request names (its path, as sent, after the base path), or undefined where
 * the path is spelled so as to resolve to another one (`resolvesElsewhere`).
 */
export function operationPathOf(requestPath: string, basePath: string): string | undefined {
  if (!requestPath.startsWith(`${basePath}/`) || resolvesElsewhere(requestPath)) return undefined;
  return pathOf(requestPath.slice(basePath.length));
}

/** The path as the adapter matches it: percent-encoded where a URL parser would encode it. */
function pathOf(path: string): string {
  try {
    return normalizePath(new URL(`http://127.0.0.1${path}`).pathname);
  } catch {
    return '';
  }
}
