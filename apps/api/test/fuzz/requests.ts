import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import type { FuzzProcedure } from './catalog';
import { notJson } from './hostile-values';
import { objectWithKeys, percentEncode, RawJson, toJsonText, toParameterText, toQueryString } from './json-text';

/** Ways to send a call that a well-behaved client would not choose. `none` is the ordinary way. */
/**
 * The browser's way to refresh: the refresh token in a cookie (any known one, or junk) and the
 * CSRF header absent, right for the user's current session, or junk.
 */
export interface CookieQuirk {
  kind: 'cookie';
  refresh: unknown;
  /** `absent`, `session` (the user's own token), or the text sent as the token. */
  csrf: string;
}

export type TrpcQuirk =
  | CookieQuirk
  | { kind: 'none' }
  | { kind: 'wrong-method' }
  | { kind: 'batch' }
  | { kind: 'not-json'; text: RawJson }
  | { kind: 'content-type'; value: string }
  | { kind: 'duplicate-input' };

export type RestQuirk =
  | CookieQuirk
  | { kind: 'none' }
  | { kind: 'path-parameter'; segment: string }
  | { kind: 'query-noise'; query: string }
  | { kind: 'content-type'; value: string }
  | { kind: 'not-json'; text: RawJson }
  | { kind: 'empty-body' }
  | { kind: 'form' }
  | { kind: 'put' }
  | { kind: 'path-shape'; shape: 'trailing-slash' | 'double-slash' | 'upper-case' | 'dot-segment' };

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  'application/json, text/plain',
  '',
];

/** Cookie and header text a client could send: printable ASCII (anything else never gets past an HTTP parser). */
const COOKIE_JUNK = ['', 'x', '%E0%A4%A', '"quoted"', 'a;b', ' ; stm_refresh=other', '=', '\\', '%00', 'a'.repeat(5_000), 'eyJhbGciOiJub25lIn0.e30.'];

export function cookieQuirkArbitrary(refreshTokens: fc.Arbitrary<unknown>): fc.Arbitrary<CookieQuirk> {
  return fc.record({
    kind: fc.constant('cookie' as const),
    refresh: fc.oneof({ arbitrary: refreshTokens, weight: 3 }, { arbitrary: fc.constantFrom(...COOKIE_JUNK), weight: 1 }),
    csrf: fc.oneof(fc.constant('absent'), fc.constant('session'), fc.constantFrom(...COOKIE_JUNK)),
  });
}

export const trpcQuirkArbitrary: fc.Arbitrary<TrpcQuirk> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 12 },
  { arbitrary: fc.constant({ kind: 'wrong-method' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'batch' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('not-json' as const), text: notJson }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('content-type' as const), value: fc.constantFrom(...CONTENT_TYPES) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'duplicate-input' as const }), weight: 1 },
);

/** Path segments that are not what the parameter wants, already percent-encoded (or badly so). */
const MALFORMED_SEGMENTS = [
  'abc',
  '-1',
  '0',
  '1.5',
  '1e3',
  '0x10',
  '2147483648',
  '99999999999999999999999',
  'Infinity',
  'NaN',
  '%00',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  '%2F',
  '..%2F..%2Fadmin',
  '%2E%2E',
  '%20',
  '%F0%9F%98%80',
  '__proto__',
  'constructor',
  '1;drop',
  'a'.repeat(300),
  '00000000-0000-0000-0000-000000000000',
];

/** Query-string pieces aimed at the parser: prototype keys, bad escapes, repeats, oddities. */
const QUERY_NOISE = [
  '__proto__[polluted]=1',
  '__proto__=x&__proto__=y',
  'constructor[prototype][polluted]=1',
  'constructor=1',
  'a=%',
  '%E0%A4%A=1',
  'limit=1&limit=2',
  'status=todo&status=todo&status=bogus',
  'a[]=1&a[]=2',
  '=&&=',
  '%00=%00',
  'search=%ED%A0%80',
  `${'x'.repeat(5_000)}=1`,
  'input=%7B%7D',
  'batch=1',
];

export const restQuirkArbitrary: fc.Arbitrary<RestQuirk> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 14 },
  { arbitrary: fc.record({ kind: fc.constant('path-parameter' as const), segment: fc.constantFrom(...MALFORMED_SEGMENTS) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('query-noise' as const), query: fc.constantFrom(...QUERY_NOISE) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('content-type' as const), value: fc.constantFrom(...CONTENT_TYPES) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('not-json' as const), text: notJson }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'empty-body' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'form' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'put' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('path-shape' as const),
      shape: fc.constantFrom('trailing-slash' as const, 'double-slash' as const, 'upper-case' as const, 'dot-segment' as const),
    }),
    weight: 1,
  },
);

/** What the caller sends with every request: credentials, cookies. */
export type CallerHeaders = Record<string, string>;

/** A tRPC call over HTTP as `@trpc/client` makes it (no transformer), bent by the quirk. */
export function trpcRequest(procedure: FuzzProcedure, input: unknown, quirk: TrpcQuirk, callerHeaders: CallerHeaders): InjectOptions {
  const json = input === undefined ? undefined : toJsonText(input);
  const asQuery = (procedure.type === 'query') !== (quirk.kind === 'wrong-method');
  if (quirk.kind === 'batch') {
    const batch = toJsonText(
      objectWithKeys([
        ['0', input ?? null],
        ['1', input ?? null],
      ]),
    );
    const url = `/trpc/${procedure.path},${procedure.path}?batch=1`;
    if (procedure.type === 'query') return { method: 'GET', url: `${url}&input=${percentEncode(batch)}`, headers: { ...callerHeaders } };
    return { method: 'POST', url, headers: { ...callerHeaders, 'content-type': 'application/json' }, payload: batch };
  }
  const text = quirk.kind === 'not-json' ? quirk.text.text : json;
  if (asQuery) {
    let query = text === undefined ? '' : `?input=${percentEncode(text)}`;
    if (quirk.kind === 'duplicate-input') query = `?input=${percentEncode(toJsonText({}))}${query ? `&${query.slice(1)}` : ''}`;
    return { method: 'GET', url: `/trpc/${procedure.path}${query}`, headers: { ...callerHeaders } };
  }
  const contentType = quirk.kind === 'content-type' ? quirk.value : 'application/json';
  return {
    method: 'POST',
    url: `/trpc/${procedure.path}`,
    headers: text === undefined ? { ...callerHeaders } : { ...callerHeaders, 'content-type': contentType },
    ...(text === undefined ? {} : { payload: text }),
  };
}

function isFields(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof RawJson);
}

/** A REST call as the OpenAPI document describes it: path parameters, then the query string or a JSON body. */
export function restRequest(procedure: FuzzProcedure, input: unknown, quirk: RestQuirk, callerHeaders: CallerHeaders): InjectOptions {
  const { rest } = procedure;
  const fields = isFields(input) ? { ...input } : undefined;
  let path = rest.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (quirk.kind === 'path-parameter') return quirk.segment;
    const value = fields?.[name];
    if (fields) Reflect.deleteProperty(fields, name);
    return value === undefined ? '' : percentEncode(toParameterText(value));
  });
  if (quirk.kind === 'path-shape') {
    if (quirk.shape === 'trailing-slash') path = `${path}/`;
    else if (quirk.shape === 'double-slash') path = path.replace('/', '//');
    else if (quirk.shape === 'upper-case') path = path.toUpperCase();
    else path = `/x/..${path}`;
  }
  const method = quirk.kind === 'put' ? 'PUT' : rest.method;
  const remaining = fields ?? input;
  const headers = { ...callerHeaders };
  let url = `/api${path}`;
  let payload: string | undefined;
  if (rest.takesBody) {
    if (quirk.kind === 'not-json') payload = quirk.text.text;
    else if (quirk.kind === 'form' && fields) payload = toQueryString(fields);
    else if (quirk.kind !== 'empty-body' && remaining !== undefined) payload = toJsonText(remaining);
    if (payload !== undefined || quirk.kind === 'empty-body') {
      headers['content-type'] = quirk.kind === 'content-type' ? quirk.value : quirk.kind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
    }
  } else {
    const query = fields ? toQueryString(fields) : remaining === undefined ? '' : percentEncode(toParameterText(remaining));
    if (query) url += `?${query}`;
  }
  if (quirk.kind === 'query-noise') url += `${url.includes('?') ? '&' : '?'}${quirk.query}`;
  return { method, url, headers, ...(payload === undefined ? {} : { payload }) };
}
