// Brings in the request/reply cookie decorations, so this file type-checks wherever it is
// reached from (the console compiles the router's types, which lead here).
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger, RequestLogger } from './logger';
import type {} from './plugins/rate-limit';
import type { RateLimitClass } from './env';
import type { ClientInfo } from './services/audit';
import type { Services } from './services';

export interface CookieOptions {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'strict' | 'lax';
  path: string;
  maxAge?: number;
}

/** What a procedure may do with cookies, without knowing about Fastify. */
export interface CookieJar {
  get(name: string): string | undefined;
  set(name: string, value: string, options: CookieOptions): void;
  clear(name: string, options: CookieOptions): void;
}

export interface Context {
  services: Services;
  log: RequestLogger;
  client: ClientInfo;
  /** The bearer token of the request, if it sent one. */
  accessToken: string | null;
  /** An Authorization header was sent but is not `Bearer <token>`. */
  malformedAuthorization: boolean;
  /** Whether the request reached us over HTTPS (directly or through a trusted proxy). */
  secureTransport: boolean;
  /**
   * Whether a session cookie may be set in answer (login CSRF): the request is JSON, which a page
   * of another site cannot send without a CORS preflight, and the browser does not say it came
   * from another site, unless from an origin CORS allows.
   */
  sessionCookieAllowed: boolean;
  cookies: CookieJar;
  header(name: string): string | undefined;
  /** Tells the request log who the caller turned out to be. */
  identify(userId: number): void;
  /**
   * Spends one unit of the client address's budget for a class of procedures, refusing with
   * RATE_LIMITED once it is spent. Calls made without a transport (`createContextInner`) have none.
   */
  spendRateLimit(limit: RateLimitClass): Promise<void>;
}

/** An in-memory jar: what tests and non-HTTP callers use. */
export function memoryCookieJar(initial: Record<string, string> = {}): CookieJar & { values: Map<string, string> } {
  const values = new Map(Object.entries(initial));
  return {
    values,
    get: (name) => values.get(name),
    set: (name, value) => void values.set(name, value),
    clear: (name) => void values.delete(name),
  };
}

const noBudget = async () => {};

/** The context without any transport: tests build it directly and call procedures through `createCaller`. */
export function createContextInner(options: {
  services: Services;
  accessToken?: string | null;
  client?: ClientInfo;
  log?: Logger;
  cookies?: CookieJar;
  headers?: Record<string, string>;
  secureTransport?: boolean;
  sessionCookieAllowed?: boolean;
}): Context {
  const headers = options.headers ?? {};
  return {
    services: options.services,
    log: options.log ?? options.services.log,
    client: options.client ?? { ip: '127.0.0.1', userAgent: null },
    accessToken: options.accessToken ?? null,
    malformedAuthorization: false,
    secureTransport: options.secureTransport ?? false,
    sessionCookieAllowed: options.sessionCookieAllowed ?? true,
    cookies: options.cookies ?? memoryCookieJar(),
    header: (name) => headers[name.toLowerCase()],
    identify: () => {},
    spendRateLimit: noBudget,
  };
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;
const JSON_TYPE = /^application\/json[ \t]*(;|$)/i;

function singleHeader(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isSessionCookieAllowed(req: FastifyRequest, corsOrigins: readonly string[]): boolean {
  if (!JSON_TYPE.test(req.sentContentType ?? '')) return false;
  const origin = singleHeader(req, 'origin');
  if (origin !== undefined && corsOrigins.includes(origin)) return true;
  // Sent by browsers since 2020; `same-site` is refused too, a sibling subdomain is not us.
  const site = singleHeader(req, 'sec-fetch-site');
  return site === undefined || site === 'same-origin';
}

/** Reads only the request: the token, the client address (per `trustProxy`) and cookies. */
export function createContext(services: Services, req: FastifyRequest, reply: FastifyReply): Context {
  const authorization = req.headers.authorization;
  const match = authorization ? BEARER.exec(authorization) : null;
  const userAgent = req.headers['user-agent'];
  return {
    services,
    // Fastify's pino child for this request.
    log: req.log as RequestLogger,
    client: { ip: req.ip, userAgent: typeof userAgent === 'string' ? userAgent : null },
    accessToken: match?.[1] ?? null,
    malformedAuthorization: authorization !== undefined && match === null,
    secureTransport: req.protocol === 'https',
    sessionCookieAllowed: isSessionCookieAllowed(req, services.config.server.corsOrigins),
    cookies: {
      get: (name) => {
        const header = req.headers.cookie;
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- @fastify/cookie types it as always set, but its parser has not run on a request the tRPC adapter reads first
        req.cookies ??= header ? req.server.parseCookie(header) : {};
        return req.cookies[name];
      },
      set: (name, value, options) => void reply.setCookie(name, value, options),
      clear: (name, options) => void reply.clearCookie(name, options),
    },
    header: (name) => singleHeader(req, name.toLowerCase()),
    identify: (userId) => {
      req.userId = userId;
    },
    spendRateLimit: (limit) => req.server.spendRateLimit(req, reply, limit),
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, once known, for the request log. */
    userId?: number;
    /** The Content-Type as the client sent it (the REST bridge presents the OAuth2 form as JSON). */
    sentContentType: string | undefined;
  }
}
