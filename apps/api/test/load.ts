/**
 * HTTP over real sockets for the tests that drive API processes under load: every call is
 * bounded in time and never throws, so a loop can record what each request got, including "no
 * answer at all".
 */
import { PASSWORD } from './helpers';

export interface Answer {
  /** The HTTP status; 0 when no answer came (connection refused or reset, or the time ran out). */
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
  body: any;
  /** When the request was sent and how long it took, in ms (Date.now() clock). */
  startedAt: number;
  ms: number;
  /** Why there was no answer. */
  failure?: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export async function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const startedAt = Date.now();
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: kept as text for the assertion message.
    }
    return { status: response.status, headers: response.headers, body, startedAt, ms: Date.now() - startedAt };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return {
      status: 0,
      headers: new Headers(),
      body: undefined,
      startedAt,
      ms: Date.now() - startedAt,
      failure: `${(error as Error).name}: ${(error as Error).message}${cause?.code ? ` (${cause.code})` : ''}`,
    };
  }
}

/** Registers an account and signs it in; returns its access token. */
export async function signUpOverHttp(baseUrl: string, username: string): Promise<string> {
  const registered = await call(baseUrl, 'POST', '/api/auth/register', { body: { username, password: PASSWORD } });
  if (registered.status !== 201) throw new Error(`register ${username}: ${registered.status} ${JSON.stringify(registered.body)}`);
  const login = await call(baseUrl, 'POST', '/api/auth/login', { body: { username, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
  return login.body.access_token as string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; returns how long that took, or throws when `ms` ran out. */
export async function within(ms: number, check: () => Promise<boolean>, everyMs = 50): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await sleep(everyMs);
  }
  throw new Error(`not within ${ms} ms`);
}
