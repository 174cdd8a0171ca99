import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import { apiLogin, browserAvailable, createTask, heading, PASSWORD, registerUser, screenshot, signIn, stageForTests, uniqueName, waitForPath } from './harness';

async function expectTitles(page: Page, expected: string[]) {
  await expect.poll(() => page.locator('.task-title').allTextContents()).toEqual(expected);
}

describe.skipIf(!browserAvailable())('the agenda views in Chromium', () => {
  const stage = stageForTests();

  it("Today, Upcoming by day and Overdue count the reader's own days, and the dashboard's cards lead to them", async () => {
    const username = uniqueName('agenda');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    // UTC+14 all year: most instants fall on another day there than in UTC.
    const zone = 'Pacific/Kiritimati';
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(Date.now());
    const midnight = Date.parse(`${today}T00:00:00Z`) - 14 * 3_600_000;
    const hour = 3_600_000;
    const at = (offset: number) => new Date(midnight + offset).toISOString();
    await createTask(stage.baseUrl, token, { title: 'Early today', dueAt: at(60_000) });
    await createTask(stage.baseUrl, token, { title: 'Late today', dueAt: at(24 * hour - 60_000) });
    await createTask(stage.baseUrl, token, { title: 'Done today', dueAt: at(12 * hour), status: 'done' });
    await createTask(stage.baseUrl, token, { title: 'Tomorrow morning', dueAt: at(33 * hour) });
    await createTask(stage.baseUrl, token, { title: 'In three days', dueAt: at(3 * 24 * hour + 10 * hour) });
    await createTask(stage.baseUrl, token, { title: 'Far away', dueAt: at(9 * 24 * hour) });
    await createTask(stage.baseUrl, token, { title: 'Long late', dueAt: '2020-05-01T10:00:00.000Z' });
    await createTask(stage.baseUrl, token, { title: 'Undated' });

    const { page } = await stage.newContext({ timezoneId: zone });
    await page.goto('/sign-in');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');

    await page.getByRole('link', { name: 'Today' }).click();
    await waitForPath(page, '/today');
    await heading(page, 'Today');
    await expectTitles(page, ['Early today', 'Late today']);
    // A line without a date, typed in Today, is due by the end of today.
    await page.getByLabel('Quick add a task').fill('Water the plants !low');
    await expect
      .poll(() => page.getByRole('list', { name: 'What will be saved' }).getByRole('listitem').allTextContents())
      .toContainEqual(expect.stringMatching(/^Due .*, end of day$/));
    await page.keyboard.press('Enter');
    await expectTitles(page, ['Early today', 'Late today', 'Water the plants']);
    await expectAccessible(page, 'Today');

    await page.getByRole('link', { name: 'Upcoming' }).click();
    await waitForPath(page, '/upcoming');
    await expectTitles(page, ['Tomorrow morning', 'In three days']);
    const days = page.locator('.task-day-heading');
    await expect.poll(() => days.count()).toBe(2);
    expect(await days.first().textContent()).toMatch(/^Tomorrow, \w+day, \w+ \d+$/);
    expect(await page.getByRole('heading', { level: 3, name: 'In three days' }).count()).toBe(1);
    await screenshot(page, 'agenda-upcoming-en');
    await expectAccessible(page, 'Upcoming');

    await page.getByRole('link', { name: 'Overdue' }).click();
    await waitForPath(page, '/overdue');
    await expectTitles(page, ['Long late', 'Early today']);

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByTestId('stat-due-today').waitFor();
    expect(await page.getByTestId('stat-due-today').textContent()).toBe('3');
    expect(await page.getByTestId('stat-upcoming').textContent()).toBe('2');
    expect(await page.getByTestId('stat-overdue').textContent()).toBe('2');
    await page.getByRole('link', { name: 'Due today' }).click();
    await waitForPath(page, '/today');

    await page.getByLabel('Language').selectOption('es');
    await page.getByRole('link', { name: 'Próximos días' }).click();
    await heading(page, 'Próximos días');
    await expect.poll(() => days.first().textContent()).toMatch(/^Mañana, /);
    await screenshot(page, 'agenda-upcoming-es');
    await expectAccessible(page, 'Upcoming in Spanish');
  });

  it('a compact list shows at least 12 tasks on a 1280×800 screen, remembered, and stays accessible', async () => {
    const username = uniqueName('dense');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    for (let index = 1; index <= 20; index++) {
      await createTask(stage.baseUrl, token, {
        title: `Task number ${index} with a title of some length`,
        description: 'A description that the compact list leaves to the panel.',
        priority: index % 3 === 0 ? 'high' : 'medium',
        dueAt: new Date(Date.now() + index * 86_400_000).toISOString(),
      });
    }
    const { page } = await stage.newContext({ viewport: { width: 1280, height: 800 } });
    await page.goto('/sign-in');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');
    await expect.poll(() => page.locator('.task').count()).toBe(20);
    const visibleRows = () =>
      page.evaluate(() => {
        document.querySelector('.task')?.scrollIntoView({ block: 'start' });
        return Array.from(document.querySelectorAll('.task')).filter((row) => {
          const box = row.getBoundingClientRect();
          return box.top >= 0 && box.bottom <= window.innerHeight;
        }).length;
      });
    const comfortable = await visibleRows();
    const toggle = page.getByRole('button', { name: 'Compact list' });
    await toggle.click();
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    const compact = await visibleRows();
    expect(compact).toBeGreaterThanOrEqual(12);
    expect(compact).toBeGreaterThan(comfortable);
    await screenshot(page, 'tasks-compact');
    await expectAccessible(page, 'the compact list');
    await page.reload();
    await expect.poll(() => page.locator('.task-list-compact .task').count()).toBe(20);
    expect(await page.getByRole('button', { name: 'Compact list' }).getAttribute('aria-pressed')).toBe('true');
  });
});
