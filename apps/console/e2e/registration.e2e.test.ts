import { describe, expect, it } from 'vitest';
import { ADMIN, api, apiLogin, browserAvailable, heading, PASSWORD, stageForTests, uniqueName, waitForPath } from './harness';

/** How often an open sign-up page asks for the settings again (the console's POLICY_REFRESH_MS). */
const SETTINGS_POLL_MS = 10_000;

/** Its own server: these tests close registration, which would fail every other test's sign-up. */
describe.skipIf(!browserAvailable())('registration', () => {
  const stage = stageForTests();

  it('the password hint states the minimum length, and creating an account signs you in (English and Spanish)', async () => {
    for (const [locale, hint, submit, tasks] of [
      ['en-GB', 'At least 15 characters.', 'Create account', 'All tasks'],
      ['es-ES', 'Al menos 15 caracteres.', 'Crear cuenta', 'Todas las tareas'],
    ] as const) {
      const { context, page } = await stage.newContext({ locale });
      const seen: string[] = [];
      page.on('framenavigated', (frame) => seen.push(new URL(frame.url()).pathname));
      await page.goto('/register');
      await page.getByText(hint).waitFor();
      await page.locator('input[name="username"]').fill(uniqueName('newbie'));
      await page.locator('input[name="password"]').fill('too short pw');
      await page.locator('input[autocomplete="new-password"]').nth(1).fill('too short pw');
      await page.getByRole('button', { name: submit }).click();
      await page.locator('.field-error', { hasText: '15' }).first().waitFor();

      await page.locator('input[name="password"]').fill(PASSWORD);
      await page.locator('input[autocomplete="new-password"]').nth(1).fill(PASSWORD);
      await page.getByRole('button', { name: submit }).click();
      await waitForPath(page, '/tasks');
      await heading(page, tasks);
      expect(seen).not.toContain('/sign-in');
      await context.close();
    }
  });

  it('closing registration: sign-in stops offering it, and an open sign-up page says so before submit and keeps what was typed', async () => {
    const { context, page } = await stage.newContext();
    // The page's own clock, so that its next look at the settings need not be waited for.
    await context.clock.install();
    await page.goto('/sign-in');
    await page.getByRole('link', { name: 'Create one' }).waitFor();
    await page.getByRole('link', { name: 'Create one' }).click();
    await heading(page, 'Create an account');
    await page.getByLabel('Username').fill('latecomer');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);

    const admin = await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
    await api(stage.baseUrl, admin, 'PATCH', '/settings', { registrationOpen: false });

    // Without anyone touching the page: time passes.
    await page.clock.fastForward(SETTINGS_POLL_MS);
    await heading(page, 'Registration is closed');
    await page.getByText('Registration is closed. Ask an administrator for an account.').waitFor();
    expect(await page.getByLabel('Username').inputValue()).toBe('latecomer');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe(PASSWORD);
    expect(await page.getByRole('button', { name: 'Create account' }).isDisabled()).toBe(true);

    const other = await stage.newContext();
    await other.page.goto('/sign-in');
    await heading(other.page, 'Sign in');
    await other.page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await expect.poll(() => other.page.getByRole('link', { name: 'Create one' }).count()).toBe(0);

    // Opened again: the same page takes the same input.
    await api(stage.baseUrl, admin, 'PATCH', '/settings', { registrationOpen: true });
    await page.clock.fastForward(SETTINGS_POLL_MS);
    await heading(page, 'Create an account');
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await waitForPath(page, '/tasks');
    await other.context.close();
    await context.close();
  });
});
