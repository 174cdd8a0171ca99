/**
 * The browser tests' stage: the real API (its bundle, or its sources when the bundle is older than
 * them; on a fresh embedded database) serving the built console, and Debian's Chromium driven by
 * playwright-core. Nothing is built or downloaded here: the test command builds the console and
 * the API first, and the browser is the system's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHORT_LIVED_PROCESS_FLAGS, serverCommand } from '@stm/api/testing/bundle';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page, type Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHROMIUM_PATH = '/usr/bin/chromium';
const CONSOLE_DIR = path.join(REPO_ROOT, 'apps/console/dist');
const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results/screenshots');

export const ADMIN = { username: 'root-admin', password: 'e2e admin passphrase 42' };
/** The password of the accounts the tests make for themselves. */
export const PASSWORD = 'correct horse battery staple';

/**
 * Whether the browser tests can run. CI installs Chromium with apt-get, so there a missing
 * browser is a failure; on a developer machine without it the tests are skipped, saying why.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const message = `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install chromium) to run the browser tests`;
  if (process.env.CI) throw new Error(message);
  console.warn(`Skipping browser tests: ${message}`);
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// Generous: on a loaded machine (CI runners, or several runs at once) the API can take minutes to be ready.
async function waitForReady(baseUrl: string, api: ChildProcess, output: () => string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) throw new Error(`The API exited with code ${api.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`The API was not ready within ${timeoutMs} ms:\n${output()}`);
}

export interface Stage {
  baseUrl: string;
  /** The API's DATA_DIR: its mail is written to `mail-outbox` in it as `.eml` files. */
  dataDir: string;
  browser: Browser;
  /** A fresh browser profile (cookies, storage) that fails its test on CSP violations or page errors. */
  newContext(options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
  /** The problems seen in any page so far (CSP violations, script errors, console errors). */
  problems: string[];
  close(): Promise<void>;
}

/** Responses the tests provoke on purpose; Chromium logs each as a console error. */
const EXPECTED_HTTP_ERRORS = /Failed to load resource: the server responded with a status of (400|401|403|404|409)\b/;

export async function startStage(environment: Record<string, string> = {}): Promise<Stage> {
  if (!existsSync(path.join(CONSOLE_DIR, 'index.html'))) {
    throw new Error(`${CONSOLE_DIR}/index.html is missing: build the console first (pnpm --filter @stm/console build)`);
  }
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stm-e2e-'));
  let log = '';
  const api = spawn(process.execPath, [...SHORT_LIVED_PROCESS_FLAGS, ...serverCommand()], {
    cwd: REPO_ROOT,
    // Only what the API needs, set explicitly: a developer's .env (read by the API for unset
    // variables) must not point this run at their PostgreSQL, Redis or HTTPS-only cookies.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      NODE_ENV: 'development',
      DATABASE_URL: '',
      REDIS_URL: '',
      COOKIE_SECURE: 'false',
      CORS_ORIGINS: '',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(48).toString('base64url').slice(0, 64),
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      BCRYPT_COST: '4',
      LOG_FILE: 'false',
      LOG_LEVEL: 'warn',
      LOG_PRETTY: 'false',
      CONSOLE_DIR,
      AUTH_RATE_LIMIT_MAX: '100000',
      RATE_LIMIT_MAX: '100000',
      RECOVERY_RATE_LIMIT_MAX: '100000',
      // Links in mail lead to this console; mail itself is written to DATA_DIR/mail-outbox.
      PUBLIC_URL: baseUrl,
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  api.stdout?.on('data', collect);
  api.stderr?.on('data', collect);

  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close().catch(() => {});
    if (api.exitCode === null) {
      const exited = new Promise((resolve) => api.once('exit', resolve));
      api.kill('SIGTERM');
      const timer = setTimeout(() => api.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  // The browser starts while the API does: neither needs the other until the first page.
  const launching = chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // A test's page lives seconds: V8's optimizing compilers (Maglev, TurboFan) spend more of the
      // busy test machine's CPU compiling the console's scripts, and axe's, than their faster code
      // gives back before the page goes. Their code behaves the same; only how fast differs. (As
      // SHORT_LIVED_PROCESS_FLAGS does for the operator's commands.)
      '--js-flags=--max-opt=1',
    ],
  });
  let launched: Browser;
  try {
    [launched] = await Promise.all([launching, waitForReady(baseUrl, api, () => log)]);
  } catch (error) {
    // The browser too, when it started though the API did not.
    browser = await launching.catch(() => undefined);
    await stop();
    throw error;
  }
  browser = launched;

  const problems: string[] = [];
  return {
    baseUrl,
    dataDir,
    browser: launched,
    problems,
    async newContext(options = {}) {
      const context = await launched.newContext({ baseURL: baseUrl, locale: 'en-GB', ...options });
      // Reported through the console so it reaches us whatever the page's own CSP allows.
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => {
          console.error(
            `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline code'} at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`,
          );
        });
      });
      context.on('console', (message) => {
        if (message.type() === 'error' && !EXPECTED_HTTP_ERRORS.test(message.text())) {
          problems.push(`console error on ${message.location().url}: ${message.text()}`);
        }
      });
      context.on('weberror', (error) => problems.push(`page error: ${error.error().message}`));
      trackCalls(context);
      const page = await context.newPage();
      return { context, page };
    },
    close: stop,
  };
}

/**
 * The stage of a describe block: started before its first test, stopped after its last. After
 * each test, any CSP violation, script error or unexpected console error fails that test. Read
 * it inside tests and hooks: it exists from the block's first beforeAll on.
 */
export function stageForTests(environment: Record<string, string> = {}): Stage {
  let started: Stage | undefined;
  const stage = (): Stage => {
    if (!started) throw new Error('The stage starts before the first test: read it inside tests and hooks');
    return started;
  };
  beforeAll(async () => {
    started = await startStage(environment);
  }, 240_000);
  afterAll(async () => {
    await started?.close();
  });
  afterEach(() => {
    expect(stage().problems.splice(0)).toEqual([]);
  });
  return {
    get baseUrl() {
      return stage().baseUrl;
    },
    get dataDir() {
      return stage().dataDir;
    },
    get browser() {
      return stage().browser;
    },
    get problems() {
      return stage().problems;
    },
    newContext: (options) => stage().newContext(options),
    close: () => stage().close(),
  };
}

/** Each context's calls: those still waiting for an answer (but its live event streams, which stay open), and how many have started. */
const callsOf = new WeakMap<BrowserContext, { inFlight: Set<Request>; started: number }>();

function trackCalls(context: BrowserContext): void {
  const calls = { inFlight: new Set<Request>(), started: 0 };
  callsOf.set(context, calls);
  context.on('request', (request) => {
    const stream = (request.headers().accept ?? '').includes('text/event-stream') || /\/trpc\/live\.(project|mine)\b/.test(request.url());
    if (stream) return;
    calls.inFlight.add(request);
    calls.started++;
  });
  context.on('requestfinished', (request) => calls.inFlight.delete(request));
  context.on('requestfailed', (request) => calls.inFlight.delete(request));
}

/** How long no call may be in flight before the page is asked whether it has more to start. */
const QUIET_MS = 150;

/**
 * Waits until the page's calls have been answered and it starts no more: what Playwright's
 * `networkidle` means, except that the live event streams (open for as long as the page is) do
 * not count. Rather than `networkidle`'s half second of silence, the page itself is asked: once
 * nothing has been in flight for a moment, a frame and a task of its own go by (the answers it
 * just took render, and a render may start the next call), and nothing may have started meanwhile.
 */
export async function callsSettled(page: Page, timeoutMs = 30_000): Promise<void> {
  const calls = callsOf.get(page.context()) ?? { inFlight: new Set<Request>(), started: 0 };
  const deadline = Date.now() + timeoutMs;
  let quietSince = Date.now();
  let startedBefore = calls.started;
  for (;;) {
    // A call that started and ended between two looks still breaks the quiet.
    if (calls.inFlight.size > 0 || calls.started !== startedBefore) {
      quietSince = Date.now();
      startedBefore = calls.started;
    } else if (Date.now() - quietSince >= QUIET_MS) {
      // A navigation meanwhile ends the page's context, and the quiet with it.
      if ((await pageCaughtUp(page)) && calls.inFlight.size === 0 && calls.started === startedBefore) return;
      quietSince = Date.now();
      startedBefore = calls.started;
    }
    if (Date.now() > deadline)
      throw new Error(`calls still in flight after ${timeoutMs} ms: ${[...calls.inFlight].map((request) => request.url()).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a frame and then a task of the page's own went by (false if its document went away meanwhile). */
function pageCaughtUp(page: Page): Promise<boolean> {
  return page
    .evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          // A page in the background gets no frames: the timer stands in for one.
          const fallback = setTimeout(() => resolve(true), 100);
          requestAnimationFrame(() =>
            setTimeout(() => {
              clearTimeout(fallback);
              resolve(true);
            }, 0),
          );
        }),
    )
    .catch(() => false);
}

/** The path and query the page is at. */
export function pathOf(page: Page): string {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
}

/** Waits until the address is exactly this path and query (globs would read `?` as a wildcard). */
export async function waitForPath(page: Page, expected: string): Promise<void> {
  await page.waitForURL((url) => `${url.pathname}${url.search}` === expected);
}

/** Waits for the screen's title, the one h1. */
export async function heading(page: Page, name: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}

/** A picture for people to look at (test-results/screenshots, git-ignored): the whole page, or only the window as the reader sees it. */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage });
}

/** Creates an account through the REST bridge: tests that are not about registering skip the form. */
export async function registerUser(baseUrl: string, username: string, password: string): Promise<void> {
  const response = await fetch(`${baseUrl}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new Error(`register ${username}: ${response.status} ${await response.text()}`);
}

/** Signs in through the REST bridge, as another client of the same account would. */
export async function apiLogin(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, grant_type: 'password' }).toString(),
  });
  if (!response.ok) throw new Error(`login ${username}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

let counter = 0;
/** A username no other test in this run uses (usernames are 4-20 of [A-Za-z0-9_.-]). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}${randomBytes(2).toString('hex')}`.slice(0, 20);
}

export interface ApiTask {
  id: number;
  title: string;
  description: string;
  status: 'todo' | 'in_progress' | 'done';
  priority: 'low' | 'medium' | 'high';
  dueAt: string | null;
  version: number;
}

/** Calls the REST bridge as a signed-in client (tests that are not about a form skip it). */
export async function api<T>(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export function createTask(baseUrl: string, token: string, task: Partial<Omit<ApiTask, 'id' | 'version'>> & { title: string }): Promise<ApiTask> {
  return api<ApiTask>(baseUrl, token, 'POST', '/tasks', task);
}
