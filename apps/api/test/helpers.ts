import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@stm/db/testing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type {} from '@stm/vitest-config/global-setup';
import { expect, inject, onTestFinished } from 'vitest';
import { API_VERSION, buildApp } from '../src/app';
import { buildOpenApiDocument } from '../src/openapi';
import { createContextInner } from '../src/context';
import { type AppConfig, loadConfig } from '../src/env';
import { appRouter } from '../src/routers';
import { createCallerFactory } from '../src/trpc';

/** This run has FAST_PATHS off (the `stock` project): every library's own code, none of src/fastpath/. */
export const stockLibraries = (): boolean => inject('dbTemplate').fastPaths === false;

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const PASSWORD = 'a long enough passphrase';

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  /** A tRPC caller, as a signed-in user when given an access token. */
  caller(accessToken?: string | null, client?: { ip: string; userAgent: string | null }): ReturnType<typeof createCaller>;
  close(): Promise<void>;
}

const createCaller = createCallerFactory(appRouter);

/**
 * The whole API on a fresh database of its own (PGlite or PostgreSQL, per the Vitest project),
 * with a cheap bcrypt cost so tests spend their time on behaviour, not hashing. Given another
 * app's `database`, it starts on that one instead (a restart) and leaves it open on close.
 */
export async function createTestApp(
  environment: Record<string, string> = {},
  options: { database?: TestDatabase; referenceRestBridge?: boolean; referenceSubscriptions?: boolean } = {},
): Promise<TestApp> {
  const build = { referenceRestBridge: options.referenceRestBridge ?? false, referenceSubscriptions: options.referenceSubscriptions ?? false };
  if (options.database) return startTestApp(options.database, environment, { closesDatabase: false, ...build });
  return startTestApp(await createTestDatabase(inject('dbTemplate')), environment, build);
}

/**
 * The configuration of an API under test: a fixed secret, a cheap bcrypt cost, no logs, no
 * console, rate limits out of the way; `environment` changes any of it.
 */
export function testConfig(environment: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    SECRET_KEY: TEST_SECRET,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    LOG_FILE: 'false',
    CONSOLE_DIR: '',
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '100000',
    RECOVERY_RATE_LIMIT_MAX: '100000',
    // Background timers that write would race the tests' own steps: tests run them by hand.
    NOTIFICATIONS_INTERVAL_MS: 'off',
    MAIL_POLL_MS: 'off',
    WEBHOOK_POLL_MS: 'off',
    // The `stock` project runs every test on the libraries' own paths (its template says so).
    FAST_PATHS: stockLibraries() ? 'false' : 'true',
    ...environment,
  });
}

/** The whole API on a database the caller opened, closed with the app (unless `closesDatabase` is false) or when the app fails to start. */
export async function startTestApp(
  database: TestDatabase,
  environment: Record<string, string> = {},
  {
    closesDatabase = true,
    referenceRestBridge = false,
    referenceSubscriptions = false,
  }: { closesDatabase?: boolean; referenceRestBridge?: boolean; referenceSubscriptions?: boolean } = {},
): Promise<TestApp> {
  let app: FastifyInstance;
  let answers: RestAnswer[];
  try {
    app = await buildApp({ config: testConfig(environment), database, referenceRestBridge, referenceSubscriptions });
    answers = recordRestAnswers(app);
    await app.ready();
  } catch (error) {
    if (closesDatabase) await database.close();
    throw error;
  }
  return {
    app,
    database,
    caller: (accessToken = null, client) => createCaller(createContextInner({ services: app.services, accessToken, ...(client ? { client } : {}) })),
    async close() {
      const undocumented = undocumentedAnswers(answers);
      await app.close();
      if (closesDatabase) await database.close();
      if (undocumented.length > 0) {
        throw new Error(`REST answers the OpenAPI document does not list:\n${undocumented.map((line) => `  ${line}`).join('\n')}`);
      }
    },
  };
}

interface RestAnswer {
  method: string;
  path: string;
  status: number;
}

/** Every answer of the REST bridge this app gives, so `close()` can hold them against the document. */
function recordRestAnswers(app: FastifyInstance): RestAnswer[] {
  const answers: RestAnswer[] = [];
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== '/api/*') return;
    answers.push({ method: request.method.toLowerCase(), path: request.requestPath, status: reply.statusCode });
  });
  return answers;
}

/**
 * The statuses any test saw an operation answer that its OpenAPI entry does not document. Calls
 * to paths or methods that are no operation (the bridge's own 404s) are not its concern.
 */
function undocumentedAnswers(answers: RestAnswer[]): string[] {
  if (answers.length === 0) return [];
  // Built here rather than fetched, so checking leaves no request in the app's log.
  const document = buildOpenApiDocument(appRouter, API_VERSION) as unknown as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  // Literal paths first, so `/tasks/stats` is not taken for `/tasks/{id}`.
  const templates = Object.entries(document.paths)
    .map(([template, item]) => ({
      item,
      params: (template.match(/\{/g) ?? []).length,
      pattern: new RegExp(`^/api${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
    }))
    .sort((a, b) => a.params - b.params);
  const undocumented = new Set<string>();
  for (const answer of answers) {
    // As sent: the bridge routes by the raw path, so `/%61pi/auth/me` is no operation to it.
    const path = answer.path;
    const operation = templates.find((template) => template.pattern.test(path) && template.item[answer.method])?.item[answer.method];
    if (!operation || answer.status < 400) continue;
    if (!(String(answer.status) in operation.responses)) undocumented.add(`${answer.method.toUpperCase()} ${path} answered ${answer.status}`);
  }
  return [...undocumented];
}

/**
 * A copy of an answer without the fields each call changes (an id, a version, a time), each of
 * which must be there: for comparing two answers to the same call.
 */
export function withoutFields(record: Record<string, unknown>, fields: readonly string[], label: string): Record<string, unknown> {
  const copy = { ...record };
  for (const field of fields) {
    expect(copy[field], `${label}: ${field}`).toBeDefined();
    Reflect.deleteProperty(copy, field);
  }
  return copy;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unnecessary-type-parameters -- the tests' loose view of a JSON body; a caller names the type it reads
export function json<T = any>(response: LightMyRequestResponse): T {
  return response.json<T>();
}

/** REST call through the bridge. */
export function rest(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  options: { token?: string; body?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(options.body);
  }
  return app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
}

/** tRPC call over HTTP (no batching, no transformer: the body is the input). */
export function trpc(
  app: FastifyInstance,
  kind: 'query' | 'mutation',
  path: string,
  input?: unknown,
  options: { token?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (kind === 'query') {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return app.inject({ method: 'GET', url: `/trpc/${path}${query}`, headers });
  }
  headers['content-type'] = 'application/json';
  return app.inject({ method: 'POST', url: `/trpc/${path}`, headers, payload: JSON.stringify(input ?? null) });
}

/** Registers and signs in over the caller; returns the tokens. */
export async function signUp(t: TestApp, username: string, password = PASSWORD) {
  const user = await t.caller().auth.register({ username, password });
  const tokens = await t.caller().auth.login({ username, password });
  return { user, accessToken: tokens.access_token, refreshToken: tokens.refresh_token as string };
}

/** Gives the account a confirmed email address directly, as if its owner had opened the link. */
export async function giveConfirmedEmail(t: TestApp, userId: number, email: string | null): Promise<void> {
  await t.database.db
    .updateTable('users')
    .set({ email, email_verified_at: email === null ? null : new Date(), pending_email: null })
    .where('id', '=', userId)
    .execute();
}

/** Creates an administrator directly (registration never can) and signs in. */
export async function signUpAdmin(t: TestApp, username = 'root_admin', password = PASSWORD) {
  const passwordHash = await t.app.services.hasher.hash(password);
  const user = await t.app.services.auth.createUser({ username, passwordHash, role: 'admin' }, null, null, 'user.created');
  const tokens = await t.caller().auth.login({ username, password });
  return { user, accessToken: tokens.access_token, refreshToken: tokens.refresh_token as string };
}

/** The tRPC error code and reason of a rejected call. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; reason?: string; fieldErrors?: Record<string, string[]> }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code: string; cause?: { reason?: string; field?: string; message?: string; issues?: { path: PropertyKey[]; message: string }[] } };
    const cause = e.cause;
    const fieldErrors: Record<string, string[]> = {};
    if (cause?.field) fieldErrors[cause.field] = [cause.message ?? ''];
    for (const issue of cause?.issues ?? []) (fieldErrors[issue.path.map(String).join('.') || '_'] ??= []).push(issue.message);
    return { code: e.code, ...(cause?.reason ? { reason: cause.reason } : {}), fieldErrors };
  }
  throw new Error('expected the call to be rejected');
}

/** A new, empty folder for what one test writes (its log files, say), removed when the test ends. */
export function testFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), `stm-${prefix}-`));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** The day's log files in a log folder. */
export const datedFiles = (logDir: string) => readdirSync(logDir).filter((name) => /^app\.\d{4}-\d{2}-\d{2}\.\d+\.log$/.test(name));

/** A line of the log, with the fields tests read by name. */
export interface LogEntry {
  level: number;
  msg: string;
  requestId?: string;
  statusCode?: number;
  url?: string;
  [field: string]: unknown;
}

/** Everything a log folder's files hold, as text and as entries. */
export function readLog(logDir: string) {
  const text = datedFiles(logDir)
    .map((name) => readFileSync(path.join(logDir, name), 'utf8'))
    .join('\n');
  const entries = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogEntry);
  return { text, entries };
}
