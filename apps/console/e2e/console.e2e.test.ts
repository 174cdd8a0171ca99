import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  apiLogin,
  browserAvailable,
  callsSettled,
  heading,
  PASSWORD,
  pathOf,
  registerUser,
  screenshot,
  signIn,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

describe.skipIf(!browserAvailable())('the console in Chromium', () => {
  const stage = stageForTests();

  it('register, sign in, see the account, change the password, sign out, sign in with the new password', async () => {
    const { context, page } = await stage.newContext();
    const username = uniqueName('alice');
    const newPassword = 'a different long passphrase';

    await page.goto('/');
    await waitForPath(page, '/sign-in');
    await heading(page, 'Sign in');
    await screenshot(page, 'sign-in');

    await page.getByRole('link', { name: 'Create one' }).click();
    await heading(page, 'Create an account');
    // The form checks with the API's own schema before sending anything.
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('This field is required.').first().waitFor();
    await page.getByLabel('Username').fill('a b');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Use at least 4 characters.').waitFor();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(`${PASSWORD}!`);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('The two passwords do not match.').waitFor();
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await screenshot(page, 'register');
    await page.getByRole('button', { name: 'Create account' }).click();

    // Signed in straight away.
    await waitForPath(page, '/tasks');
    await heading(page, 'All tasks');
    await page.getByText('No tasks yet').waitFor();
    await screenshot(page, 'tasks-empty');
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    // On a wide screen the navigation is simply there; the menu button is for phones.
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await heading(page, 'Dashboard');
    await page.getByText('Create tasks on the All tasks page.').waitFor();

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await heading(page, 'Account');
    expect(await page.getByTestId('profile-username').textContent()).toBe(username);
    await page.getByText('This browser').waitFor();
    await screenshot(page, 'account');

    // A refusal from the server is shown at its field, in words from the dictionary.
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Repeat the new password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('The current password is not correct.').waitFor();

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await waitForPath(page, '/sign-in');

    await signIn(page, username, PASSWORD);
    await page.getByText('Incorrect username or password.').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(newPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await waitForPath(page, '/tasks');
    await heading(page, 'All tasks');
    await context.close();
  });

  it('ending another session from the account page sends that browser back to sign-in at once', async () => {
    const username = uniqueName('bob');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const laptop = await stage.newContext();
    const phone = await stage.newContext();
    for (const { page } of [laptop, phone]) {
      await page.goto('/sign-in');
      // The phone stays signed in for longer; the laptop does not.
      if (page === phone.page) await page.getByLabel('Keep me signed in').check();
      await signIn(page, username, PASSWORD);
      await waitForPath(page, '/tasks');
    }

    await laptop.page.getByRole('link', { name: 'Account', exact: true }).click();
    const sessions = laptop.page.locator('.session');
    await laptop.page.getByText('This browser').waitFor();
    expect(await sessions.count()).toBe(2);
    // Listed in a table, this browser first; only the phone's session is kept signed in.
    expect(await sessions.first().getByText('This browser').count()).toBe(1);
    expect(await laptop.page.getByText('Kept signed in').count()).toBe(1);
    expect(await sessions.nth(1).getByText('Kept signed in').count()).toBe(1);
    await screenshot(laptop.page, 'account-sessions');
    await laptop.page.getByRole('button', { name: /^End session:/ }).click();
    const dialog = laptop.page.getByRole('dialog', { name: 'End this session?' });
    await dialog.waitFor();
    await screenshot(laptop.page, 'confirm-dialog');
    await dialog.getByRole('button', { name: 'End session', exact: true }).click();
    await laptop.page.getByText('Session ended.').waitFor();
    await laptop.page.waitForFunction(() => document.querySelectorAll('.session').length === 1);

    // The phone's live stream hears at once that its session ended: it goes to sign-in by itself.
    await waitForPath(phone.page, '/sign-in?next=%2Ftasks');
    await heading(phone.page, 'Sign in');

    // The laptop's own session is untouched.
    await laptop.page.reload();
    await heading(laptop.page, 'Account');
    await laptop.context.close();
    await phone.context.close();
  });

  it('a user who types an admin address sees "not allowed", and never loads the admin code', async () => {
    const username = uniqueName('carol');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext();
    const adminChunks: string[] = [];
    page.on('request', (request) => {
      if (/\/assets\/AdminArea-[^/]+\.js$/.test(request.url())) adminChunks.push(request.url());
    });

    await page.goto('/sign-in');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);

    await page.goto('/admin/keys');
    await heading(page, 'Not allowed');
    expect(pathOf(page)).toBe('/admin/keys');
    await screenshot(page, 'not-allowed');
    expect(adminChunks).toEqual([]);

    // The server refuses anyway: the same call the admin screen makes, made by hand.
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    const response = await fetch(`${stage.baseUrl}/trpc/admin.keys.list`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(403);

    await page.goto('/no/such/page');
    await heading(page, 'Page not found');
    await context.close();
  });

  it('the admin rotates the signing key, and revoking the key in use keeps the admin signed in', async () => {
    const { context, page } = await stage.newContext();
    await page.goto('/sign-in');
    await signIn(page, ADMIN.username, ADMIN.password);
    await waitForPath(page, '/tasks');

    await page.getByRole('link', { name: 'Admin' }).click();
    await waitForPath(page, '/admin/users');
    await heading(page, 'Users');
    await screenshot(page, 'admin-users');
    await page.getByRole('link', { name: 'Signing keys' }).click();
    await heading(page, 'Signing keys');
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const firstKid = (await rows.first().locator('th').textContent())?.trim();

    await page.getByRole('button', { name: 'Rotate key' }).click();
    const rotateDialog = page.getByRole('dialog', { name: 'Rotate the signing key?' });
    await rotateDialog.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByText(/New signing key .+ is in use\./).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 2);
    await page
      .locator('tbody tr', { hasText: firstKid ?? '' })
      .getByText('Retired')
      .waitFor();
    await screenshot(page, 'admin-keys');

    // Revoking the key that signed the admin's own access token: the next call is refused, the
    // console renews through the refresh cookie and retries, and the admin never notices.
    const current = page.locator('tbody tr', { hasText: 'Current' });
    const currentKid = (await current.locator('th').textContent())?.trim() ?? '';
    await current.getByRole('button', { name: `Revoke key ${currentKid}` }).click();
    const revokeDialog = page.getByRole('dialog', { name: `Revoke key ${currentKid}?` });
    await revokeDialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByText(`Key ${currentKid} revoked;`, { exact: false }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 3);
    await page.locator('tbody tr', { hasText: currentKid }).getByText('Revoked').waitFor();

    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await heading(page, 'Account');
    expect(await page.getByTestId('profile-username').textContent()).toBe(ADMIN.username);
    expect(pathOf(page)).toBe('/account');
    await context.close();
  });

  it('a Spanish browser gets Spanish, and the language can be switched and is remembered', async () => {
    const username = uniqueName('dolores');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext({ locale: 'es-ES' });

    await page.goto('/sign-in');
    await heading(page, 'Iniciar sesión');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('es');
    await page.getByLabel('Nombre de usuario').fill(username);
    await page.getByLabel('Contraseña', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Entrar' }).click();
    // The API answers in English; the console translates its reason code.
    await page.getByText('Nombre de usuario o contraseña incorrectos.').waitFor();
    await screenshot(page, 'sign-in-es');

    await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await heading(page, 'Todas las tareas');
    await page.getByRole('link', { name: 'Cuenta' }).click();
    await heading(page, 'Cuenta');
    await page.getByText('Sesiones activas').waitFor();
    await screenshot(page, 'account-es');

    await page.getByLabel('Idioma').selectOption('en');
    await heading(page, 'Account');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.reload();
    await heading(page, 'Account');

    await page.getByLabel('Language').selectOption('es');
    await heading(page, 'Cuenta');
    await context.close();
  });

  it('when the server ends the session, the open console goes to sign-in at once and signing in returns there', async () => {
    const username = uniqueName('erin');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext();
    await page.goto('/sign-in');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');
    // Let the page's own calls finish first: one still in flight when the session ends would
    // send the browser to sign-in before the navigation this test is about.
    await callsSettled(page);

    // Another client of the same account signs out everywhere.
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    const ended = await fetch(`${stage.baseUrl}/api/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ended.status).toBe(200);

    // The open page hears it on its live stream and goes to sign-in without waiting for a click.
    await waitForPath(page, '/sign-in?next=%2Ftasks');
    await heading(page, 'Sign in');
    await page.getByText('Sign in to continue where you were.').waitFor();
    await screenshot(page, 'session-ended');

    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');
    await heading(page, 'All tasks');
    await context.close();
  });

  it('a reload keeps the user signed in through the cookie, and no token is left in storage', async () => {
    const username = uniqueName('frank');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext();
    await page.goto('/account');
    await waitForPath(page, '/sign-in?next=%2Faccount');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/account');

    await page.reload();
    await heading(page, 'Account');
    expect(await page.getByTestId('profile-username').textContent()).toBe(username);

    const cookies = await context.cookies();
    const refresh = cookies.find((cookie) => cookie.name === 'stm_refresh');
    expect(refresh).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.find((cookie) => cookie.name === 'stm_csrf')).toMatchObject({ httpOnly: false, sameSite: 'Strict' });
    const stored = await page.evaluate(() =>
      [localStorage, sessionStorage].flatMap((storage) => Object.keys(storage).map((key) => `${key}=${storage.getItem(key) ?? ''}`)).join('\n'),
    );
    expect(stored).not.toContain('eyJ');
    await context.close();
  });

  it('works from the keyboard: skip link first, dialogs take focus, Escape closes them and focus returns', async () => {
    const username = uniqueName('hana');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext();
    await page.goto('/sign-in?next=%2Faccount');
    await page.getByLabel('Username').focus();
    await page.keyboard.type(username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await heading(page, 'Account');

    await page.reload();
    await heading(page, 'Account');
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    expect(await focused()).toBe('Skip to content');

    const opener = page.getByRole('button', { name: 'Sign out everywhere' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Sign out everywhere?' });
    await dialog.waitFor();
    expect(await focused()).toBe('Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focused()).toBe('Sign out everywhere');

    // And through to the end: confirming from the keyboard signs out every session.
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Sign out everywhere');
    await page.keyboard.press('Enter');
    await waitForPath(page, '/sign-in');
    await context.close();
  });

  it('fits a phone screen, in the dark scheme, with the menu behind a button', async () => {
    const username = uniqueName('gina');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext({ viewport: { width: 360, height: 740 }, colorScheme: 'dark' });
    await page.goto('/sign-in');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/tasks');

    const account = page.getByRole('link', { name: 'Account', exact: true });
    expect(await account.isVisible()).toBe(false);
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    // Escape folds it, the focus back on its button.
    await page.keyboard.press('Escape');
    await expect.poll(() => account.isVisible()).toBe(false);
    expect([await menu.getAttribute('aria-expanded'), await page.evaluate(() => document.activeElement?.textContent)]).toEqual(['false', 'Menu']);
    await menu.click();
    await account.click();
    await heading(page, 'Account');
    expect(await account.isVisible()).toBe(false);

    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(20, 22, 26)');
    await screenshot(page, 'account-phone-dark');
    await context.close();
  });
});
