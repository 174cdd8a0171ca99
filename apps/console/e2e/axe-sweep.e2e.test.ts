import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import {
  ADMIN,
  api,
  type ApiTask,
  apiLogin,
  browserAvailable,
  callsSettled,
  createTask,
  PASSWORD,
  registerUser,
  screenshot,
  signIn,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

/** The window as the reader sees it, not the whole page. */
const viewShot = (page: Page, name: string) => screenshot(page, name, { fullPage: false });

interface Combination {
  language: 'en' | 'es';
  theme: 'light' | 'dark';
  width: 1280 | 390;
}

/**
 * Each language in each theme, each language at each width, each theme at each width: every pair
 * of the three choices is walked, in four walks rather than all eight. A fault needs one pair to
 * show (Spanish text overflowing a phone, a dark-theme contrast at one width); none has needed
 * all three.
 */
const COMBINATIONS: Combination[] = [
  { language: 'en', theme: 'light', width: 1280 },
  { language: 'en', theme: 'dark', width: 390 },
  { language: 'es', theme: 'light', width: 390 },
  { language: 'es', theme: 'dark', width: 1280 },
];

/**
 * A client-side move to another screen, as a link would make it: no reload, no new sign-in. It
 * has arrived when the document's title (each screen's own) has changed, or `marker` is there.
 */
async function visit(page: Page, path: string, marker?: string): Promise<void> {
  const before = await page.title();
  await page.evaluate((to) => {
    history.pushState(null, '', to);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
  if (marker) await page.locator(marker).first().waitFor();
  else await expect.poll(() => page.title(), { timeout: 30_000 }).not.toBe(before);
  await settled(page);
}

/** Signs the administrator in through the form, in the page's language. */
async function signInAsAdmin(page: Page, language: Combination['language']): Promise<void> {
  if (language === 'en') return signIn(page, ADMIN.username, ADMIN.password);
  await page.getByLabel('Nombre de usuario').fill(ADMIN.username);
  await page.getByLabel('Contraseña', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Entrar' }).click();
}

/** The screen has its data: its calls answered and no spinner left. */
async function settled(page: Page): Promise<void> {
  await callsSettled(page);
  await page.locator('.loading').first().waitFor({ state: 'detached' });
}

/**
 * Every screen of the console, in both languages, both themes, and at desktop and phone widths,
 * with no axe violation. One browser page per combination walks them all, signed in once.
 */
describe.skipIf(!browserAvailable())('axe on every screen', () => {
  const stage = stageForTests();
  let projectId = 0;
  let taskId = 0;

  beforeAll(async () => {
    const token = await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
    const project = await api<{ id: number }>(stage.baseUrl, token, 'POST', '/projects', { name: 'Garden' });
    projectId = project.id;
    const label = await api<{ id: number }>(stage.baseUrl, token, 'POST', `/projects/${project.id}/labels`, { name: 'outdoor' });
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const task = await createTask(stage.baseUrl, token, { title: 'Water the roses', description: 'Before noon, the ones by the wall.' });
    taskId = task.id;
    await api(stage.baseUrl, token, 'POST', `/tasks/${task.id}/comments`, { body: 'The hose leaks a little.' });
    await api<ApiTask>(stage.baseUrl, token, 'POST', '/tasks', {
      projectId: project.id,
      title: 'Mow the lawn',
      dueAt: `${today}T23:59:00Z`,
      priority: 'high',
      labelIds: [label.id],
    });
    await api<ApiTask>(stage.baseUrl, token, 'POST', '/tasks', {
      projectId: project.id,
      title: 'Buy seeds',
      dueAt: `${tomorrow}T10:00:00Z`,
      status: 'in_progress',
    });
    await createTask(stage.baseUrl, token, { title: 'Fix the fence', dueAt: '2024-03-01T09:00:00Z', priority: 'low' });
    await createTask(stage.baseUrl, token, { title: 'Rake the leaves', status: 'done' });
    // A day's worth of chores, so that the compact list shows how many rows a screen holds.
    const chores = [
      'Prune the apple tree',
      'Clean the gutters',
      'Oil the hinges',
      'Sharpen the shears',
      'Turn the compost',
      'Repot the basil',
      'Weed the borders',
      'Feed the birds',
      'Check the sprinklers',
      'Sweep the patio',
      'Paint the shed door',
      'Order more mulch',
    ];
    for (const [index, title] of chores.entries()) {
      await api<ApiTask>(stage.baseUrl, token, 'POST', '/tasks', {
        projectId: project.id,
        title,
        priority: (['low', 'medium', 'high'] as const)[index % 3],
        ...(index % 4 === 0 ? { dueAt: `${today}T${String(12 + (index % 10)).padStart(2, '0')}:30:00Z` } : {}),
        ...(index % 5 === 1 ? { labelIds: [label.id] } : {}),
      });
    }
    // Someone who works with the administrator, so there is a notification to show.
    const friend = uniqueName('axe_friend');
    await registerUser(stage.baseUrl, friend, PASSWORD);
    const friendToken = await apiLogin(stage.baseUrl, friend, PASSWORD);
    const shared = await api<{ id: number }>(stage.baseUrl, friendToken, 'POST', '/projects', { name: 'Shared plot' });
    await api(stage.baseUrl, friendToken, 'POST', `/projects/${shared.id}/members`, { username: ADMIN.username, role: 'editor' });
    const me = await api<{ id: number }>(stage.baseUrl, token, 'GET', '/auth/me');
    await api(stage.baseUrl, friendToken, 'POST', '/tasks', { projectId: shared.id, title: 'Plant the beans', assigneeId: me.id });
  }, 120_000);

  it.each(COMBINATIONS)(
    '$language, $theme, $width px wide',
    async ({ language, theme, width }) => {
      const where = `${language} ${theme} ${width}px`;
      const { context, page } = await stage.newContext({
        locale: language === 'es' ? 'es-ES' : 'en-GB',
        colorScheme: theme,
        viewport: { width, height: width > 800 ? 800 : 844 },
        timezoneId: 'UTC',
      });
      // Every screen is checked, and all their violations reported together.
      const failures: string[] = [];
      const check = async (screen: string) => {
        try {
          await expectAccessible(page, `${screen} (${where})`);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      };

      await page.goto('/register');
      await settled(page);
      await check('register');
      await page.goto('/sign-in');
      await settled(page);
      await check('sign in');
      await signInAsAdmin(page, language);
      await waitForPath(page, '/tasks');
      await settled(page);
      await page.locator('.task-title').first().waitFor();
      await check('tasks');

      // Quick add with its chips, then the shortcuts sheet.
      const quickAdd = page.locator('.quick-add input').first();
      await quickAdd.fill('Call the bank tomorrow 17:00 !high');
      await page.locator('.quick-add li').first().waitFor();
      await check('quick add');
      await quickAdd.fill('');
      await page.locator('main h1').focus();
      await page.keyboard.press('?');
      await page.locator('dialog[open]').waitFor();
      await check('shortcuts help');
      await page.keyboard.press('Escape');
      await page.locator('dialog[open]').waitFor({ state: 'detached' });

      await visit(page, `/tasks?task=${taskId}`, 'dialog[open]');
      await page.locator('dialog[open] .comment, dialog[open] .comments').first().waitFor();
      await settled(page);
      await check('task panel');
      await page.keyboard.press('Escape');
      await page.locator('dialog[open]').waitFor({ state: 'detached' });

      for (const path of ['/my-work', '/today', '/upcoming', '/overdue', `/projects/${projectId}`]) {
        await visit(page, path);
        await check(path);
      }
      await visit(page, `/projects/${projectId}?view=board`, '.board-column');
      await check('board');
      for (const path of ['/dashboard', '/account', '/security']) {
        await visit(page, path);
        await check(path);
      }

      // The notifications panel, from the bell (behind the menu on a phone).
      const bell = page.getByTestId('notification-bell');
      if (!(await bell.isVisible())) await page.locator('button[aria-expanded][aria-controls]').first().click();
      await bell.click();
      await page.getByTestId('notification-panel').waitFor();
      await settled(page);
      await check('notifications panel');
      await page.keyboard.press('Escape');

      for (const path of [
        '/admin/users',
        '/admin/projects',
        '/admin/tasks',
        '/admin/service-accounts',
        '/admin/webhooks',
        '/admin/audit',
        '/admin/settings',
        '/admin/keys',
      ]) {
        await visit(page, path);
        await check(path);
      }
      await context.close();
      expect(failures).toEqual([]);
    },
    600_000,
  );

  /** Pictures of the compact list, quick add and Today, in both languages, for people to look at. */
  it.each(['en', 'es'] as const)(
    'takes screenshots of the compact list, quick add and Today (%s)',
    async (language) => {
      const { context, page } = await stage.newContext({
        locale: language === 'es' ? 'es-ES' : 'en-GB',
        viewport: { width: 1280, height: 800 },
        timezoneId: 'UTC',
      });
      await page.goto('/sign-in');
      await signInAsAdmin(page, language);
      await waitForPath(page, '/tasks');
      await settled(page);
      await visit(page, `/projects/${projectId}`);
      await page.locator('.task-title').first().waitFor();
      await page.locator('.density-toggle').click();
      await page.locator('.task-list-compact').waitFor();
      // Scrolled to the list, at least 12 rows fit in a 1280×800 window.
      await page.locator('.list-toolbar').evaluate((toolbar) => toolbar.scrollIntoView({ block: 'start' }));
      await viewShot(page, `compact-list-${language}`);
      const visibleRows = await page
        .locator('.task')
        .evaluateAll((rows) => rows.filter((row) => row.getBoundingClientRect().top >= 0 && row.getBoundingClientRect().bottom <= window.innerHeight).length);
      expect(visibleRows).toBeGreaterThanOrEqual(12);
      await page.evaluate(() => window.scrollTo(0, 0));

      const quickAdd = page.locator('.quick-add input').first();
      await quickAdd.fill(language === 'es' ? 'Llamar al banco mañana 17:00 !high #outdoor' : 'Call the bank tomorrow 17:00 !high #outdoor');
      await page.locator('.quick-add li').nth(3).waitFor();
      await viewShot(page, `quick-add-${language}`);
      await quickAdd.fill('');

      await visit(page, '/today');
      await page.locator('.task-title').first().waitFor();
      await page.locator('.task-list-compact').waitFor();
      await viewShot(page, `today-${language}`);
      await context.close();
    },
    300_000,
  );
});
