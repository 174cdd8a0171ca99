import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import { api, apiLogin, browserAvailable, heading, PASSWORD, registerUser, screenshot, signIn, stageForTests, uniqueName, waitForPath } from './harness';

describe.skipIf(!browserAvailable())('notifications in Chromium', () => {
  const stage = stageForTests();

  it('the bell counts what is unread, its panel opens the task and marks read, and preferences are kept on the Account page', async () => {
    const owner = uniqueName('olivia');
    const member = uniqueName('marco');
    await registerUser(stage.baseUrl, owner, PASSWORD);
    await registerUser(stage.baseUrl, member, PASSWORD);
    const ownerToken = await apiLogin(stage.baseUrl, owner, PASSWORD);
    const project = await api<{ id: number }>(stage.baseUrl, ownerToken, 'POST', '/projects', { name: 'Garden' });
    const added = await api<{ userId: number }>(stage.baseUrl, ownerToken, 'POST', `/projects/${project.id}/members`, { username: member, role: 'editor' });
    await api(stage.baseUrl, ownerToken, 'POST', '/tasks', { projectId: project.id, title: 'Water the roses', assigneeId: added.userId });
    const talked = await api<{ id: number }>(stage.baseUrl, ownerToken, 'POST', '/tasks', { projectId: project.id, title: 'Prune the hedge' });
    await api(stage.baseUrl, ownerToken, 'POST', `/tasks/${talked.id}/comments`, { body: `@${member} can you do this one?` });

    const { page } = await stage.newContext({ viewport: { width: 1280, height: 900 } });
    await page.goto('/sign-in');
    await signIn(page, member, PASSWORD);
    await waitForPath(page, '/tasks');

    const bell = page.getByTestId('notification-bell');
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notifications, 2 unread');
    expect(await page.getByTestId('notification-count').textContent()).toBe('2');
    await bell.click();
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.getByRole('link').first().waitFor();
    const shown = () =>
      panel.locator('.bell-link').evaluateAll((links) => links.map((link) => Array.from(link.querySelectorAll('span'), (span) => span.textContent).join('')));
    expect(await shown()).toEqual([`Unread: ${owner} mentioned you on “Prune the hedge”`, `Unread: ${owner} assigned you “Water the roses”`]);
    expect(await bell.getAttribute('aria-expanded')).toBe('true');
    await screenshot(page, 'notifications-panel-en');
    await expectAccessible(page, 'the notifications panel');

    // Escape closes the panel and gives the focus back to the bell.
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    expect(await bell.evaluate((element) => element === document.activeElement)).toBe(true);

    // Opening a notification opens its task, and it is read from then on.
    await bell.click();
    await panel.getByRole('link', { name: /mentioned you on “Prune the hedge”/ }).click();
    await waitForPath(page, `/projects/${project.id}?task=${talked.id}`);
    const taskPanel = page.getByRole('dialog', { name: 'Prune the hedge' });
    await taskPanel.waitFor();
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notifications, 1 unread');
    // The task panel is modal: closed before the header is used again.
    await page.keyboard.press('Escape');
    await taskPanel.waitFor({ state: 'detached' });

    await bell.click();
    await panel.getByRole('button', { name: 'Mark all read' }).click();
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notifications');
    expect(await page.getByTestId('notification-count').count()).toBe(0);
    expect(await panel.getByText('Unread:').count()).toBe(0);
    await page.keyboard.press('Escape');

    // Preferences: turn assignments off in the console and choose the language of mail (which
    // goes to the account's confirmed address, of which it has none yet).
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await heading(page, 'Account');
    const form = page.getByTestId('notification-preferences');
    await form.getByRole('checkbox', { name: 'A task is assigned to you: in the console' }).uncheck();
    await form.getByText('No mail is sent until your account has a confirmed email address').waitFor();
    await form.getByLabel('Write mail to me in').selectOption('es');
    await form.getByRole('button', { name: 'Save notification settings' }).click();
    await page.getByText('Notification settings saved.').waitFor();
    await expectAccessible(page, 'the account page with notification preferences');
    const memberToken = await apiLogin(stage.baseUrl, member, PASSWORD);
    const saved = await api<{ kinds: Record<string, { inApp: boolean; mail: boolean }>; email: string | null; language: string }>(
      stage.baseUrl,
      memberToken,
      'GET',
      '/notifications/preferences',
    );
    expect(saved).toMatchObject({ email: null, language: 'es', kinds: { assigned: { inApp: false, mail: true }, mentioned: { inApp: true, mail: true } } });

    // A new notification shows when the window comes back into focus.
    await api(stage.baseUrl, ownerToken, 'POST', `/tasks/${talked.id}/comments`, { body: `@${member} thanks!` });
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await expect.poll(() => bell.getAttribute('aria-label'), { timeout: 40_000 }).toBe('Notifications, 1 unread');

    // In Spanish.
    await page.getByLabel('Language').selectOption('es');
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notificaciones, 1 sin leer');
    await bell.click();
    await page
      .getByRole('region', { name: 'Notificaciones' })
      .getByRole('link', { name: /te mencionó en «Prune the hedge»/ })
      // The same task can be in the panel twice (the mention, and the comment on a task one follows).
      .first()
      .waitFor();
    await screenshot(page, 'notifications-panel-es');
    await expectAccessible(page, 'the notifications panel in Spanish');
  });
});
