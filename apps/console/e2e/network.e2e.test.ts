import type { Page, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  api,
  apiLogin,
  browserAvailable,
  createTask,
  heading,
  PASSWORD,
  pathOf,
  registerUser,
  type Stage,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

const REFRESH = /\/trpc\/auth\.refresh\b/;
const TRPC = /\/trpc\//;

/** Chromium logs every failure these tests cause on purpose; anything else still fails the test. */
function forgetProvokedFailures(stage: Stage) {
  const kept = stage.problems.filter((problem) => !/status of (403|503)\b|net::ERR_FAILED|net::ERR_INTERNET_DISCONNECTED/.test(problem));
  stage.problems.splice(0, stage.problems.length, ...kept);
}

async function signedIn(stage: Stage, username: string, options: Parameters<Stage['newContext']>[0] = {}) {
  const session = await stage.newContext(options);
  await session.page.goto('/sign-in');
  // By the fields' names: the labels are in the context's language.
  await session.page.locator('input[name="username"]').fill(username);
  await session.page.locator('input[name="password"]').fill(PASSWORD);
  await session.page.locator('button[type="submit"]').click();
  await waitForPath(session.page, '/tasks');
  return session;
}

/** Every path the page was at, so a test can tell it never passed through sign-in. */
function pathsVisited(page: Page): string[] {
  const seen: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) seen.push(new URL(frame.url()).pathname);
  });
  // Client-side navigation does not fire framenavigated: poll the address too.
  const timer = setInterval(() => {
    if (!page.isClosed()) seen.push(new URL(page.url()).pathname);
  }, 50);
  page.once('close', () => clearInterval(timer));
  return seen;
}

describe.skipIf(!browserAvailable())('the console on a bad network', () => {
  const stage = stageForTests();

  it('a refresh that fails at page load (aborted, then 503) is retried, and the user stays signed in', async () => {
    const username = uniqueName('flaky');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await signedIn(stage, username);
    await heading(page, 'All tasks');

    const failures: Array<(route: Route) => Promise<void>> = [(route) => route.abort('failed'), (route) => route.fulfill({ status: 503, body: '' })];
    await page.route(REFRESH, async (route) => {
      const fail = failures.shift();
      await (fail ? fail(route) : route.continue());
    });
    const seen = pathsVisited(page);
    await page.reload();
    await heading(page, 'All tasks');
    expect(pathOf(page)).toBe('/tasks');
    expect(failures).toEqual([]);
    expect(seen).not.toContain('/sign-in');
    forgetProvokedFailures(stage);
    await context.close();
  });

  it('when the server stays unreachable at page load it says so (not "sign in"), in English and Spanish, and recovers', async () => {
    const username = uniqueName('offsrv');
    await registerUser(stage.baseUrl, username, PASSWORD);
    for (const [locale, title, retry, tasks] of [
      ['en-GB', 'Cannot reach the server', 'Try again', 'All tasks'],
      ['es-ES', 'No se puede contactar con el servidor', 'Reintentar', 'Todas las tareas'],
    ] as const) {
      const { context, page } = await signedIn(stage, username, { locale });
      await page.route(REFRESH, (route) => route.fulfill({ status: 503, body: '' }));
      const seen = pathsVisited(page);
      await page.reload();
      await heading(page, title);
      expect(seen).not.toContain('/sign-in');
      expect(pathOf(page)).toBe('/tasks');

      await page.unroute(REFRESH);
      await page.getByRole('button', { name: retry }).click();
      await heading(page, tasks);
      expect(seen).not.toContain('/sign-in');
      forgetProvokedFailures(stage);
      await context.close();
    }
  });

  it('a refresh the server refuses at page load signs out at once', async () => {
    const username = uniqueName('refused');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await signedIn(stage, username);
    await page.route(REFRESH, (route) =>
      route.fulfill({
        status: 401,
        contentType: 'application/json',
        body: JSON.stringify({ error: { message: 'no', code: -32001, data: { code: 'UNAUTHORIZED', httpStatus: 401, reason: 'REFRESH_TOKEN_INVALID' } } }),
      }),
    );
    await page.reload();
    await heading(page, 'Sign in');
    expect(pathOf(page)).toBe('/sign-in?next=%2Ftasks');
    await context.close();
  });

  it('a failed request keeps the list on screen, marked stale, and it refreshes when the network is back', async () => {
    const username = uniqueName('stale');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    for (const title of ['Water the plants', 'Pay the rent']) await createTask(stage.baseUrl, token, { title });
    const { context, page } = await signedIn(stage, username);
    await page.locator('.task-title', { hasText: 'Pay the rent' }).waitFor();

    await page.route(TRPC, (route) => route.abort('failed'));
    await page.getByRole('button', { name: 'Done: Water the plants' }).click();
    // The refusal is undone and the refresh after it fails, retried, for a few seconds.
    await page.getByText('Could not refresh: showing what was loaded before.').waitFor({ timeout: 15_000 });
    expect(await page.locator('.task-title').allTextContents()).toEqual(expect.arrayContaining(['Water the plants', 'Pay the rent']));
    // The list is not replaced by the error (the toast about the refused change says it elsewhere).
    expect(await page.locator('main').getByText('Could not reach the server. Check your connection and try again.').count()).toBe(0);

    // Someone else changes the list meanwhile; the network comes back.
    await createTask(stage.baseUrl, token, { title: 'Call the plumber' });
    await page.unroute(TRPC);
    await context.setOffline(true);
    await context.setOffline(false);
    await page.locator('.task-title', { hasText: 'Call the plumber' }).waitFor();
    await page.getByText('Could not refresh: showing what was loaded before.').waitFor({ state: 'detached' });
    forgetProvokedFailures(stage);
    await context.close();
  });

  it('quick add while offline says the task waits for the connection, and adds it when it is back', async () => {
    const username = uniqueName('offline');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await signedIn(stage, username);
    await page.getByLabel('Quick add a task').waitFor();
    await context.setOffline(true);
    await page.getByLabel('Quick add a task').fill('Buy stamps');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('You are offline: the task will be added as soon as the connection is back.').waitFor();
    await context.setOffline(false);
    await page.locator('.task-title', { hasText: 'Buy stamps' }).waitFor();
    await page.getByText('You are offline: the task will be added as soon as the connection is back.').waitFor({ state: 'detached' });
    forgetProvokedFailures(stage);
    await context.close();
  });

  it('a stale list refreshes when the window regains focus', async () => {
    const username = uniqueName('focus');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    await createTask(stage.baseUrl, token, { title: 'Book the flights' });
    const { context, page } = await signedIn(stage, username);
    await page.locator('.task-title', { hasText: 'Book the flights' }).waitFor();

    await page.route(TRPC, (route) => route.abort('failed'));
    await page.getByRole('button', { name: 'Done: Book the flights' }).click();
    await page.getByText('Could not refresh: showing what was loaded before.').waitFor({ timeout: 15_000 });

    await createTask(stage.baseUrl, token, { title: 'Renew the passport' });
    await page.unroute(TRPC);
    await page.evaluate(() => window.dispatchEvent(new Event('visibilitychange')));
    // Sooner than the periodic retry would.
    await page.locator('.task-title', { hasText: 'Renew the passport' }).waitFor({ timeout: 5_000 });
    forgetProvokedFailures(stage);
    await context.close();
  });

  it('the dashboard offers to try again when its figures could not be loaded', async () => {
    const username = uniqueName('dash');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    await createTask(stage.baseUrl, token, { title: 'Count me' });
    const { context, page } = await signedIn(stage, username);

    await page.route(TRPC, (route) => route.abort('failed'));
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await heading(page, 'Dashboard');
    await page.getByText('Could not reach the server. Check your connection and try again.').waitFor({ timeout: 15_000 });
    await page.unroute(TRPC);
    await page.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => page.getByTestId('stat-total').textContent()).toBe('1');
    forgetProvokedFailures(stage);
    await context.close();
  });
});

describe.skipIf(!browserAvailable())('a user deactivated while at work', () => {
  const stage = stageForTests();

  /** A new user, signed in, with the new-task dialog open; `deactivate` is the administrator's move. */
  async function typingANewTask(prefix: string) {
    const username = uniqueName(prefix);
    await registerUser(stage.baseUrl, username, PASSWORD);
    const own = await apiLogin(stage.baseUrl, username, PASSWORD);
    const { id } = await api<{ id: number }>(stage.baseUrl, own, 'GET', '/auth/me');
    const { context, page } = await signedIn(stage, username);
    await heading(page, 'All tasks');
    await page.getByRole('button', { name: 'New task' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'New task' });
    const deactivate = async () => {
      const admin = await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
      await api(stage.baseUrl, admin, 'PATCH', `/admin/users/${id}`, { isActive: false });
    };
    return { username, context, page, dialog, deactivate };
  }

  it('is told the account is deactivated on the next action, keeps what they typed, and hears it again at sign-in only with the right password', async () => {
    const { username, context, page, dialog, deactivate } = await typingANewTask('benched');
    await dialog.getByLabel('Title').fill('A long thought I do not want to lose');
    await dialog.getByLabel('Description').fill('Three paragraphs of notes');
    await deactivate();

    await dialog.getByRole('button', { name: 'Create task' }).click();
    await dialog.getByText('This account has been deactivated. Ask an administrator to reactivate it.').waitFor();
    expect(await dialog.getByLabel('Title').inputValue()).toBe('A long thought I do not want to lose');
    expect(await dialog.getByLabel('Description').inputValue()).toBe('Three paragraphs of notes');
    expect(pathOf(page)).toBe('/tasks');
    await page.getByText('This account has been deactivated: ask an administrator to reactivate it.').waitFor();

    await page.goto('/sign-in');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill('not the right password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Incorrect username or password.').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('This account has been deactivated. Ask an administrator to reactivate it.').waitFor();
    expect(pathOf(page)).toBe('/sign-in');
    forgetProvokedFailures(stage);
    await context.close();
  });

  // The page's live stream can hear of it first (its stream is closed, and the renewal that
  // follows is refused): the next action must still say why, not that the call was unauthorized.
  it('who heard it first from the live stream is told it again on the next action, and keeps what they typed', async () => {
    const { context, page, dialog, deactivate } = await typingANewTask('benched_live');
    await dialog.getByLabel('Title').fill('Typed before the news came');
    await deactivate();
    await page.getByText('This account has been deactivated: ask an administrator to reactivate it.').waitFor();

    await dialog.getByRole('button', { name: 'Create task' }).click();
    await dialog.getByText('This account has been deactivated. Ask an administrator to reactivate it.').waitFor();
    expect(await dialog.getByLabel('Title').inputValue()).toBe('Typed before the news came');
    forgetProvokedFailures(stage);
    await context.close();
  });
});
