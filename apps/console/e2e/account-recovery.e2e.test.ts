import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import { browserAvailable, heading, PASSWORD, registerUser, screenshot, signIn, stageForTests, uniqueName, waitForPath } from './harness';

/** A message of the outbox folder read as text: quoted-printable soft breaks and escapes undone. */
function decoded(raw: string): string {
  return Buffer.from(
    raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');
}

/** The link of the newest `.eml` written to `to` whose path is `linkPath`, once the server has written it. */
async function linkFromOutbox(dataDir: string, to: string, linkPath: string): Promise<string> {
  const outbox = path.join(dataDir, 'mail-outbox');
  const pattern = new RegExp(`(http://127\\.0\\.0\\.1:\\d+${linkPath}#token=[A-Za-z0-9_-]{43})`);
  let link: string | undefined;
  await expect
    .poll(
      () => {
        let files: string[] = [];
        try {
          files = readdirSync(outbox).filter((name) => name.endsWith('.eml'));
        } catch {
          return undefined;
        }
        const links = files
          .map((name) => decoded(readFileSync(path.join(outbox, name), 'utf8')))
          .filter((text) => new RegExp(`^To: ${to}\\s*$`, 'im').test(text))
          .map((text) => pattern.exec(text)?.[1])
          .filter((found): found is string => found !== undefined);
        link = links.find((found) => !seen.has(found));
        return link;
      },
      { timeout: 20_000, interval: 200 },
    )
    .toBeDefined();
  seen.add(link as string);
  return link as string;
}
const seen = new Set<string>();

describe.skipIf(!browserAvailable())('account recovery in Chromium', () => {
  // A short step-up window, so the re-authentication dialog shows without waiting five minutes.
  const stage = stageForTests({ STEP_UP_MAX_AGE_SECONDS: '2' });

  it('asks for the password again before changing the email address, then confirms the address by its mailed link', async () => {
    const name = uniqueName('erin');
    const address = `${name}@example.test`;
    await registerUser(stage.baseUrl, name, PASSWORD);
    const { page } = await stage.newContext({ viewport: { width: 1280, height: 900 } });
    await page.goto('/sign-in');
    await signIn(page, name, PASSWORD);
    await waitForPath(page, '/tasks');
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await heading(page, 'Account');
    const section = page.getByTestId('account-email');
    await section.getByText('No confirmed address').waitFor();

    // The sign-in is older than the step-up window now.
    await page.waitForTimeout(2_500);
    await section.getByLabel('New address').fill(address);
    await section.getByRole('button', { name: 'Send confirmation link' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.waitFor();
    await expectAccessible(page, 'the re-authentication dialog');
    await dialog.getByLabel('Password').fill('not my password at all');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: /password/i })
      .waitFor();
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.waitFor({ state: 'detached' });
    // The change was sent again after the dialog, and went through.
    await page.getByText(`Check ${address} for a link to confirm it.`).waitFor();
    expect(await section.getByTestId('account-email-pending').textContent()).toBe(address);
    await section.getByRole('button', { name: 'Send the link again' }).waitFor();
    await expectAccessible(page, 'the account page with an address waiting for confirmation');

    // Cancelling the dialog leaves the change undone, saying why.
    await page.waitForTimeout(2_500);
    await section.getByLabel('New address').fill(`other.${address}`);
    await section.getByRole('button', { name: 'Send confirmation link' }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await section.getByTestId('account-email-pending').textContent()).toBe(address);

    const link = await linkFromOutbox(stage.dataDir, address, '/verify-email');
    await page.goto(link);
    await heading(page, 'Confirm your email address');
    // The token leaves the address bar as soon as it is read.
    await expect.poll(() => new URL(page.url()).hash).toBe('');
    await expectAccessible(page, 'the confirm-email page');
    await page.getByRole('button', { name: 'Confirm address' }).click();
    await page.getByText(`${address} is now your account's email address.`).waitFor();
    await page.getByRole('link', { name: 'Continue' }).click();
    await heading(page, 'Account');
    expect(await section.getByTestId('account-email-address').textContent()).toBe(address);
    await section.getByText('Confirmed', { exact: true }).waitFor();
    await page.getByTestId('notification-mail-to').getByText(address).waitFor();
  });

  it('resets a forgotten password through the mailed link, then signs in with the new one', async () => {
    const name = uniqueName('fred');
    const address = `${name}@example.test`;
    const newPassword = 'a completely new passphrase 7';
    await registerUser(stage.baseUrl, name, PASSWORD);
    // The address is confirmed through the API this time: this test is about the reset.
    const login = await fetch(`${stage.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: name, password: PASSWORD }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const set = await fetch(`${stage.baseUrl}/api/account/email`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: address }),
    });
    expect(set.status).toBe(200);
    const verifyLink = await linkFromOutbox(stage.dataDir, address, '/verify-email');
    const verified = await fetch(`${stage.baseUrl}/api/account/email/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URLSearchParams(new URL(verifyLink).hash.slice(1)).get('token') }),
    });
    expect(verified.status).toBe(200);

    const { page } = await stage.newContext({ viewport: { width: 1280, height: 900 } });
    await page.goto('/sign-in');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await waitForPath(page, '/forgot-password');
    await heading(page, 'Reset your password');
    await expectAccessible(page, 'the forgot-password page');
    await page.getByLabel('Username or email address').fill(address.toUpperCase());
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await heading(page, 'Check your mail');
    await screenshot(page, 'forgot-password-sent-en');

    const resetLink = await linkFromOutbox(stage.dataDir, address, '/reset-password');
    await page.goto(resetLink);
    await heading(page, 'Set a new password');
    await expectAccessible(page, 'the reset-password page');
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Repeat the new password').fill(newPassword);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await heading(page, 'Password set');
    await page.getByRole('link', { name: 'Go to sign in' }).click();
    await waitForPath(page, '/sign-in');

    await signIn(page, name, PASSWORD);
    await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
    await signIn(page, name, newPassword);
    await waitForPath(page, '/tasks');

    // The link works once.
    const { page: again } = await stage.newContext();
    await again.goto(resetLink);
    await again.getByLabel('New password', { exact: true }).fill('yet another passphrase 8');
    await again.getByLabel('Repeat the new password').fill('yet another passphrase 8');
    await again.getByRole('button', { name: 'Set new password' }).click();
    await heading(again, 'This link does not work');
  });
});
