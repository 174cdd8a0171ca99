import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  api,
  apiLogin,
  browserAvailable,
  callsSettled,
  createTask,
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

const LAST_ADMIN = 'This is the last active administrator: it cannot be demoted, deactivated or deleted. Make another user an administrator first.';

interface ApiUser {
  id: number;
  username: string;
  role: 'admin' | 'user';
  isActive: boolean;
}

/** The usernames in the users table, top to bottom, once they equal what is expected. */
async function expectUsernames(page: Page, expected: string[]) {
  await expect.poll(() => page.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-username')))).toEqual(expected);
}

async function findUser(baseUrl: string, token: string, username: string): Promise<ApiUser | undefined> {
  const page = await api<{ items: ApiUser[] }>(baseUrl, token, 'GET', `/admin/users?search=${encodeURIComponent(username)}`);
  return page.items.find((user) => user.username === username);
}

describe.skipIf(!browserAvailable())('the admin screens in Chromium', () => {
  const stage = stageForTests();
  let adminToken: string;
  // One admin browser for the whole file: signing in again for every test would only add time.
  let admin: { context: BrowserContext; page: Page };

  beforeAll(async () => {
    adminToken = await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
    admin = await stage.newContext();
    await admin.page.goto('/sign-in?next=%2Fadmin%2Fusers');
    await signIn(admin.page, ADMIN.username, ADMIN.password);
    await waitForPath(admin.page, '/admin/users');
  });

  /** The admin's browser, on an admin screen. */
  async function adminAt(path: string, title: string): Promise<Page> {
    await admin.page.goto(path);
    await heading(admin.page, title);
    return admin.page;
  }

  it("the header holds an administrator's whole menu in one row at desktop widths, in both languages", async () => {
    const page = await adminAt('/admin/users', 'Users');
    const rows = async () => {
      const tops = await page
        .locator('.topbar :is(.brand, .nav-link, .topbar-user > *)')
        .evaluateAll((found) => found.map((el) => el.getBoundingClientRect().top));
      return Math.max(...tops) - Math.min(...tops) < 20 ? 1 : 2;
    };
    for (const width of [1024, 1280, 1600]) {
      await page.setViewportSize({ width, height: 800 });
      expect(await rows(), `English, ${width}`).toBe(1);
    }
    await page.getByLabel('Language').selectOption('es');
    for (const width of [1024, 1280, 1600]) {
      await page.setViewportSize({ width, height: 800 });
      expect(await rows(), `Spanish, ${width}`).toBe(1);
    }
    await page.getByLabel('Idioma').selectOption('en');
    // As the context opened (Playwright's default), for the tests after.
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  it('the last active admin is told at once, before any confirmation, that they cannot lock themself out', async () => {
    const page = await adminAt('/admin/users', 'Users');
    const own = page.locator('tbody tr', { has: page.getByText('You', { exact: true }) });
    expect(await own.getAttribute('data-username')).toBe(ADMIN.username);

    await own.getByRole('button', { name: `Make user: ${ADMIN.username}` }).click();
    await page.getByRole('alert').getByText(LAST_ADMIN).waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);

    await own.getByRole('button', { name: `Deactivate ${ADMIN.username}` }).click();
    await expect.poll(() => page.getByRole('alert').getByText(LAST_ADMIN).count()).toBe(2);
    expect(await page.getByRole('dialog').count()).toBe(0);

    // Nothing changed, and the admin is still here.
    const me = await findUser(stage.baseUrl, adminToken, ADMIN.username);
    expect(me).toMatchObject({ role: 'admin', isActive: true });
    await page.reload();
    await heading(page, 'Users');
  });

  it('creates a user, changes their role, deactivates them (their open console says so), hands them a reset link they use, and deletes them', async () => {
    const page = await adminAt('/admin/users', 'Users');
    const username = uniqueName('dora');
    const newPassword = 'a brand new passphrase';

    // The form checks with the server's schema and live password policy before sending.
    await page.getByRole('button', { name: 'New user' }).click();
    const create = page.getByRole('dialog', { name: 'New user' });
    await create.getByRole('button', { name: 'Create user' }).click();
    await create.getByText('This field is required.').first().waitFor();
    await create.getByLabel('Username').fill(username);
    await create.getByLabel('Password', { exact: true }).fill(`${username} is my secret`);
    await create.getByRole('button', { name: 'Create user' }).click();
    await create.getByText('The password must not contain the username.').waitFor();
    await create.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await create.getByLabel('Repeat the password').fill(PASSWORD);
    await create.getByText('At least 15 characters, not containing the username. Common and easily guessed passwords are refused.').waitFor();
    await screenshot(page, 'admin-user-create');
    await create.getByRole('button', { name: 'Create user' }).click();
    await create.waitFor({ state: 'detached' });
    await page.getByText(`User ${username} created.`).waitFor();
    const row = page.locator(`tbody tr[data-username="${username}"]`);
    await row.getByText('User', { exact: true }).waitFor();

    // The same name again: the server's refusal is shown at the field.
    await page.getByRole('button', { name: 'New user' }).click();
    await create.getByLabel('Username').fill(username.toUpperCase());
    await create.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await create.getByLabel('Repeat the password').fill(PASSWORD);
    await create.getByRole('button', { name: 'Create user' }).click();
    await create.getByText('This username is already taken.').waitFor();
    await page.keyboard.press('Escape');
    await create.waitFor({ state: 'detached' });

    // Filters live in the address.
    const filters = page.getByRole('search', { name: 'Filter users' });
    await filters.getByLabel('Search by username').fill(username);
    await waitForPath(page, `/admin/users?q=${username}`);
    await expectUsernames(page, [username]);
    await filters.getByLabel('Role').selectOption('admin');
    await waitForPath(page, `/admin/users?q=${username}&role=admin`);
    await page.getByText('No users match these filters').waitFor();
    await filters.getByRole('button', { name: 'Clear filters' }).click();
    await waitForPath(page, '/admin/users');
    await filters.getByLabel('Status').selectOption('false');
    await waitForPath(page, '/admin/users?active=false');
    await page.getByText('No users match these filters').waitFor();
    await filters.getByLabel('Status').selectOption('');
    await waitForPath(page, '/admin/users');

    // Role: granted, then taken back, each after confirming.
    await row.getByRole('button', { name: `Make admin: ${username}` }).click();
    const grant = page.getByRole('dialog', { name: `Make ${username} an administrator?` });
    await grant.getByRole('button', { name: 'Make admin' }).click();
    await page.getByText(`${username} is now an administrator.`).waitFor();
    await row.getByText('Administrator', { exact: true }).waitFor();
    expect(await findUser(stage.baseUrl, adminToken, username)).toMatchObject({ role: 'admin' });
    // No longer the last admin: acting on one's own account is asked, with a warning.
    const own = page.locator('tbody tr', { has: page.getByText('You', { exact: true }) });
    await expect
      .poll(async () => {
        await own.getByRole('button', { name: `Make user: ${ADMIN.username}` }).click();
        return page.getByRole('dialog', { name: 'Remove your own administrator role?' }).isVisible();
      })
      .toBe(true);
    const demote = page.getByRole('dialog', { name: 'Remove your own administrator role?' });
    await demote.getByText(/^⚠ This is your own account: you lose access to the admin area/).waitFor();
    await screenshot(page, 'admin-users-self-warning');
    await demote.getByRole('button', { name: 'Cancel' }).click();
    await demote.waitFor({ state: 'hidden' });
    await row.getByRole('button', { name: `Make user: ${username}` }).click();
    await page
      .getByRole('dialog', { name: `Make ${username} a regular user?` })
      .getByRole('button', { name: 'Make user' })
      .click();
    await page.getByText(`${username} is now a regular user.`).waitFor();
    expect(await findUser(stage.baseUrl, adminToken, username)).toMatchObject({ role: 'user' });

    // Deactivation ends the user's open console on its next call, which says why.
    const user = await stage.newContext();
    await user.page.goto('/sign-in');
    await signIn(user.page, username, PASSWORD);
    await waitForPath(user.page, '/tasks');
    await callsSettled(user.page);
    await row.getByRole('button', { name: `Deactivate ${username}` }).click();
    const deactivate = page.getByRole('dialog', { name: `Deactivate ${username}?` });
    await deactivate.getByText(/Every session of the account ends at once/).waitFor();
    await deactivate.getByRole('button', { name: 'Deactivate', exact: true }).click();
    await page.getByText(`${username} was deactivated; their sessions have ended.`).waitFor();
    await row.getByText('Deactivated').waitFor();
    await user.page.getByRole('link', { name: 'Account', exact: true }).click();
    const banner = user.page.getByRole('alert').filter({ hasText: 'This account has been deactivated: ask an administrator to reactivate it.' });
    await banner.waitFor();
    await banner.getByRole('link', { name: 'Sign in' }).click();
    await waitForPath(user.page, '/sign-in?next=%2Faccount');
    await signIn(user.page, username, PASSWORD);
    await user.page.getByText('This account has been deactivated. Ask an administrator to reactivate it.').waitFor();

    await row.getByRole('button', { name: `Activate ${username}` }).click();
    await page
      .getByRole('dialog', { name: `Activate ${username}?` })
      .getByRole('button', { name: 'Activate' })
      .click();
    await page.getByText(`${username} can sign in again.`).waitFor();
    // Signed in again from the banner's link: back on the page the banner was shown on.
    await signIn(user.page, username, PASSWORD);
    await waitForPath(user.page, '/account');

    // A reset link, shown once, copied, and used by the user.
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stage.baseUrl });
    await row.getByRole('button', { name: `Reset link: ${username}` }).click();
    const linkDialog = page.getByRole('dialog', { name: `Reset link for ${username}` });
    await linkDialog.getByText('It expires in one hour, at').waitFor();
    const link = await linkDialog.getByLabel('Reset link').inputValue();
    expect(link).toMatch(new RegExp(`^${stage.baseUrl}/reset-password#token=[A-Za-z0-9_-]{20,}$`));
    await linkDialog.getByRole('button', { name: 'Copy link' }).click();
    await linkDialog.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    await screenshot(page, 'admin-reset-link');
    await linkDialog.getByRole('button', { name: 'Done' }).click();
    await linkDialog.waitFor({ state: 'detached' });

    // The server saw only the path: the token stayed in the fragment, which then left the address bar.
    const requested: string[] = [];
    user.page.on('request', (request) => requested.push(request.url()));
    await user.page.goto(link);
    await heading(user.page, 'Set a new password');
    expect(new URL(user.page.url()).hash).toBe('');
    expect(requested.some((url) => url.includes(new URL(link).hash.slice(1)))).toBe(false);
    // The live policy reached the form although this console's session ended on the way here.
    await user.page.getByText('At least 15 characters.', { exact: false }).waitFor();
    await user.page.getByLabel('New password', { exact: true }).fill('short');
    await user.page.getByRole('button', { name: 'Set new password' }).click();
    await user.page.getByText('The password must be at least 15 characters.').waitFor();
    await user.page.getByLabel('New password', { exact: true }).fill(newPassword);
    await user.page.getByLabel('Repeat the new password').fill(newPassword);
    await screenshot(user.page, 'reset-password');
    await user.page.getByRole('button', { name: 'Set new password' }).click();
    await heading(user.page, 'Password set');
    await user.page.getByRole('link', { name: 'Go to sign in' }).click();
    await signIn(user.page, username, newPassword);
    await waitForPath(user.page, '/tasks');
    await callsSettled(user.page);

    // The link works once.
    const reuse = await stage.newContext();
    await reuse.page.goto(link);
    await reuse.page.getByLabel('New password', { exact: true }).fill('yet another passphrase');
    await reuse.page.getByLabel('Repeat the new password').fill('yet another passphrase');
    await reuse.page.getByRole('button', { name: 'Set new password' }).click();
    await heading(reuse.page, 'This link does not work');
    await reuse.page.getByText('This reset link is invalid, used or expired.', { exact: false }).waitFor();
    await reuse.context.close();

    // Deleted, with the tasks, after confirming; their console is signed out on its next call.
    await api(stage.baseUrl, await apiLogin(stage.baseUrl, username, newPassword), 'POST', '/tasks', { title: 'Soon gone' });
    await row.getByRole('button', { name: `Delete ${username}` }).click();
    const remove = page.getByRole('dialog', { name: `Delete ${username}?` });
    await remove.getByText('The account and all of its tasks are deleted').waitFor();
    await remove.getByRole('button', { name: 'Delete user' }).click();
    await page.getByText(`${username} was deleted, with their tasks.`).waitFor();
    await row.waitFor({ state: 'detached' });
    expect(await findUser(stage.baseUrl, adminToken, username)).toBeUndefined();
    const left = await api<{ items: unknown[] }>(stage.baseUrl, adminToken, 'GET', `/admin/tasks?owner=${username}`);
    expect(left.items).toEqual([]);
    // Signed out: at once by its live stream, or at the latest when it next loads a page.
    await user.page.goto('/dashboard');
    await waitForPath(user.page, '/sign-in?next=%2Fdashboard');
    await user.context.close();
  });

  it('pages through many users as the admin reaches the end', async () => {
    const prefix = `pg${Date.now().toString(36).slice(-4)}`;
    for (let index = 0; index < 27; index += 1) {
      await api(stage.baseUrl, adminToken, 'POST', '/admin/users', { username: `${prefix}_${String(index).padStart(2, '0')}`, password: PASSWORD });
    }
    const page = await adminAt(`/admin/users?q=${prefix}`, 'Users');
    await page.getByText('25 users shown. More load as you scroll.').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(25);
    // The rest loads from the button, or by itself when the list's end scrolls into view first
    // (a busy machine can be slow to paint the button before the list grows under it).
    const allShown = page.getByText('27 users shown.', { exact: true });
    await Promise.race([page.getByRole('button', { name: 'Load more' }).click(), allShown.waitFor()]);
    await allShown.waitFor();
    expect(await page.locator('tbody tr').last().getAttribute('data-username')).toBe(`${prefix}_26`);
    await screenshot(page, 'admin-users-list');
  });

  it('reads the audit log and narrows it by action, actor and time, all in the address', async () => {
    const subject = uniqueName('audited');
    const created = await api<ApiUser>(stage.baseUrl, adminToken, 'POST', '/admin/users', { username: subject, password: PASSWORD });
    await api(stage.baseUrl, adminToken, 'PATCH', `/admin/users/${created.id}`, { role: 'admin' });
    await api(stage.baseUrl, adminToken, 'DELETE', `/admin/users/${created.id}`);
    const page = await adminAt('/admin/tasks', 'All tasks');
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Audit log' }).click();
    await waitForPath(page, '/admin/audit');
    await heading(page, 'Audit log');
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    // Newest first: the deletion a moment ago, in the reader's language and to the second.
    const newest = rows.first();
    await newest.getByText('User deleted').waitFor();
    const time = newest.locator('time');
    expect(Math.abs(Date.parse((await time.getAttribute('datetime')) ?? '') - Date.now())).toBeLessThan(120_000);
    expect(await time.textContent()).toMatch(/^\w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M$/);
    await screenshot(page, 'admin-audit');

    const filters = page.getByRole('search', { name: 'Filter the audit log' });
    await filters.getByLabel('Action').selectOption('user.deleted');
    await waitForPath(page, '/admin/audit?action=user.deleted');
    await expect.poll(async () => new Set(await page.locator('tbody tr td:nth-child(2) code').allTextContents())).toEqual(new Set(['user.deleted']));
    const deleted = rows.first();
    await deleted.getByText(`User ${subject}`).waitFor();
    await deleted.getByText('role: admin', { exact: true }).waitFor();
    await deleted.getByText('endedSessions: 0', { exact: true }).waitFor();

    await filters.getByLabel('Action').selectOption('user.role_changed');
    await waitForPath(page, '/admin/audit?action=user.role_changed');
    await rows.first().getByText(`User ${subject}`).waitFor();
    await rows.first().getByText('user → admin', { exact: true }).waitFor();

    // An actor's name narrows to what they did.
    await filters.getByLabel('Action').selectOption('');
    await page
      .getByRole('button', { name: `Show only events by ${ADMIN.username}` })
      .first()
      .click();
    await waitForPath(page, `/admin/audit?actor=${ADMIN.username}`);
    await expect.poll(async () => new Set(await page.locator('tbody tr td:nth-child(3)').allTextContents())).toEqual(new Set([ADMIN.username]));
    // Who, from where, with what: this browser's own sign-in.
    await filters.getByLabel('Action').selectOption('auth.login_succeeded');
    await waitForPath(page, `/admin/audit?actor=${ADMIN.username}&action=auth.login_succeeded`);
    const signInRow = rows.filter({ hasText: 'Headless Chrome · Linux' }).first();
    await signInRow.getByText('Signed in').waitFor();
    await signInRow.getByText('127.0.0.1').waitFor();
    await signInRow.getByText(/^Session [0-9a-f-]{36}$/).waitFor();
    await filters.getByLabel('Action').selectOption('');
    await waitForPath(page, `/admin/audit?actor=${ADMIN.username}`);

    // A time range in local time: the future holds nothing; a range that ends before it starts is refused here.
    await filters.getByLabel('From').fill('2099-01-01T00:00');
    await waitForPath(page, `/admin/audit?actor=${ADMIN.username}&from=2099-01-01T00%3A00`);
    await page.getByText('No events match these filters').waitFor();
    await filters.getByLabel('Until').fill('2098-12-31T23:59');
    await filters.getByText('The start of the range must not be after its end.').waitFor();
    expect(await filters.getByLabel('From').getAttribute('aria-invalid')).toBe('true');
    await filters.getByLabel('From').fill('2000-01-01T00:00');
    await page.reload();
    await heading(page, 'Audit log');
    expect(await filters.getByLabel('Actor (username)').inputValue()).toBe(ADMIN.username);
    expect(await filters.getByLabel('From').inputValue()).toBe('2000-01-01T00:00');
    await rows.first().waitFor();
    await filters.getByRole('button', { name: 'Clear filters' }).click();
    await waitForPath(page, '/admin/audit');
    expect(pathOf(page)).toBe('/admin/audit');
  });

  it('changes a setting: closing registration reaches the sign-up page and the server', async () => {
    const page = await adminAt('/admin/users', 'Users');
    await page.getByRole('link', { name: 'Settings' }).click();
    await heading(page, 'Settings');
    const save = page.getByRole('button', { name: 'Save settings' });
    await save.click();
    await page.getByText('Nothing has changed, so there is nothing to save.').waitFor();

    // Checked with the shared schema before anything is sent.
    // Durations are typed in the unit that suits them, and their bounds said in words.
    const access = page.getByLabel('Access token lifetime', { exact: true });
    const accessUnit = page.getByLabel('Unit of Access token lifetime');
    expect(await access.inputValue()).toBe('15');
    expect(await accessUnit.inputValue()).toBe('minute');
    await page.locator('.field', { has: access }).getByText('From 1 minute to 1 day.', { exact: false }).waitFor();
    expect(await page.getByLabel('Unit of Refresh token lifetime').inputValue()).toBe('day');
    await access.fill('30');
    await accessUnit.selectOption('second');
    await save.click();
    await page.getByText('Must be at least 1 minute.').waitFor();
    expect(await access.getAttribute('aria-invalid')).toBe('true');
    await access.fill('0.25');
    await accessUnit.selectOption('hour');

    await page.getByLabel('Anyone can create an account').uncheck();
    await screenshot(page, 'admin-settings');
    const sent: unknown[] = [];
    page.on('request', (request) => {
      if (request.url().includes('settings.update')) sent.push(request.postDataJSON());
    });
    await save.click();
    await page.getByText('Settings saved.').waitFor();
    await page.getByText(/^Saved\. In force everywhere within seconds/).waitFor();
    // Only what changed went to the server, with the version the form started from.
    expect(JSON.stringify(sent)).toMatch(/"registrationOpen":false,"expectedVersion":\d+/);
    expect(JSON.stringify(sent)).not.toContain('accessTokenTtlSeconds');

    const guest = await stage.newContext();
    await guest.page.goto('/register');
    await heading(guest.page, 'Registration is closed');
    await guest.page.getByText('Registration is closed. Ask an administrator for an account.').waitFor();
    const refused = await fetch(`${stage.baseUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: uniqueName('late'), password: PASSWORD }),
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ data: { reason: 'REGISTRATION_CLOSED' } });

    // Someone else changes the settings meanwhile: saving is refused, and reloading shows theirs.
    await api(stage.baseUrl, adminToken, 'PATCH', '/settings', { lockoutThreshold: 7 });
    await page.getByLabel('Anyone can create an account').check();
    await save.click();
    await page.getByText('Another administrator changed the settings after you opened this page', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Reload' }).click();
    await page.getByText('These are the current settings; your changes were discarded.').waitFor();
    expect(await page.getByLabel('Failed sign-ins before lockout').inputValue()).toBe('7');
    expect(await page.getByLabel('Anyone can create an account').isChecked()).toBe(false);
    await page.getByLabel('Anyone can create an account').check();
    await save.click();
    await page.getByText(/^Saved\./).waitFor();
    await guest.page.reload();
    await heading(guest.page, 'Create an account');
    await guest.context.close();

    // Key rotation is one link away.
    await page.getByRole('link', { name: 'Go to signing keys' }).click();
    await waitForPath(page, '/admin/keys');
    await heading(page, 'Signing keys');
  });

  it("limits what one user can make: lowered in the settings, the refusal says which limit in the reader's language, and Account shows the usage", async () => {
    const page = await adminAt('/admin/settings', 'Settings');
    const quota = page.getByLabel('Tasks per user');
    expect(await quota.inputValue()).toBe('50000');
    await quota.fill('2');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    const username = uniqueName('quota');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    await createTask(stage.baseUrl, token, { title: 'first' });
    await createTask(stage.baseUrl, token, { title: 'second' });
    try {
      const { context, page: user } = await stage.newContext({ locale: 'es-ES' });
      await user.goto('/sign-in');
      await user.getByLabel('Nombre de usuario').fill(username);
      await user.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
      await user.getByRole('button', { name: 'Entrar' }).click();
      await waitForPath(user, '/tasks');
      await user.getByRole('button', { name: 'Nueva tarea' }).first().click();
      const dialog = user.getByRole('dialog', { name: 'Nueva tarea' });
      await dialog.getByLabel('Título').fill('third');
      await dialog.getByRole('button', { name: 'Crear tarea' }).click();
      // The dialog stays open with what was typed, and says which limit and what to do.
      await dialog.getByText('Has alcanzado tu límite de 2 tareas.', { exact: false }).waitFor();
      expect(await dialog.getByLabel('Título').inputValue()).toBe('third');
      await dialog.getByRole('button', { name: 'Cancelar' }).click();

      await user.goto('/account');
      await user.getByTestId('usage').getByText('2 de 2').waitFor();
      await screenshot(user, 'account-usage-es');
      await context.close();
    } finally {
      await api(stage.baseUrl, adminToken, 'PATCH', '/settings', { quotaTasksPerUser: 50_000 });
    }
  });

  it('fits a phone screen in the dark scheme', async () => {
    const { page } = admin;
    await page.setViewportSize({ width: 360, height: 740 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const [path, title, name] of [
      ['/admin/users', 'Users', 'admin-users-phone-dark'],
      ['/admin/audit', 'Audit log', 'admin-audit-phone-dark'],
      ['/admin/settings', 'Settings', 'admin-settings-phone-dark'],
    ] as const) {
      await page.goto(path);
      await heading(page, title);
      await page.locator('tbody tr, form').first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      await screenshot(page, name);
    }
  });
});
