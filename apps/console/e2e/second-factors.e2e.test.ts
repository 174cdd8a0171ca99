import type { CDPSession, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../../packages/auth/src/totp';
import { expectAccessible } from './axe';
import { ADMIN, api, apiLogin, browserAvailable, heading, PASSWORD, registerUser, stageForTests, uniqueName, waitForPath } from './harness';

/**
 * Passkeys need a page whose host is the RP ID (`localhost` by default): WebAuthn refuses IP
 * addresses. The API listens on 127.0.0.1, which `localhost` reaches.
 */
function localhostUrl(baseUrl: string): string {
  return baseUrl.replace('127.0.0.1', 'localhost');
}

/** A platform authenticator with user verification, as a phone's or laptop's: the DevTools protocol's virtual one. */
async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function signInWithPassword(page: Page, username: string) {
  await page.goto('/sign-in');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signOut(page: Page) {
  await page.getByRole('banner').getByRole('button', { name: 'Sign out', exact: true }).click();
  await waitForPath(page, '/sign-in');
}

describe.skipIf(!browserAvailable())('second factors in the console', () => {
  const stage = stageForTests();

  it('at an IP address a passkey is refused by the browser, and the console says that is why', async () => {
    const { context, page } = await stage.newContext();
    await addVirtualAuthenticator(page);
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('alert').filter({ hasText: 'Passkeys cannot be used at this address' }).waitFor();
    expect(await page.getByText('Could not reach the server').count()).toBe(0);
    // Signing in with the password instead: the passkey's failure is no longer shown beside its own.
    await page.getByLabel('Username').fill('nobody_at_all');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /password/i })
      .waitFor();
    expect(await page.getByText('Passkeys cannot be used at this address').count()).toBe(0);
    await context.close();
  });

  it('enrols a passkey, signs out, and signs in with it alone (no username typed)', async () => {
    const username = uniqueName('passkey');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext({ baseURL: localhostUrl(stage.baseUrl) });
    const { cdp, authenticatorId } = await addVirtualAuthenticator(page);

    await signInWithPassword(page, username);
    await waitForPath(page, '/tasks');
    await page.getByRole('link', { name: 'Security' }).click();
    await heading(page, 'Security');
    await expectAccessible(page, 'security page');
    await page.getByLabel('Passkey name').fill('Test laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    // The first factor brings the recovery codes, shown once.
    const codes = page.getByTestId('recovery-codes');
    await codes.waitFor();
    expect(await codes.locator('li').count()).toBe(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByTestId('passkeys').getByText('Test laptop').waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.isResidentCredential).toBe(true);

    await signOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await waitForPath(page, '/tasks');
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    expect(await page.getByTestId('profile-username').textContent()).toBe(username);

    // As the second factor after the password, too.
    await signOut(page);
    await signInWithPassword(page, username);
    await page.getByTestId('second-factor').waitFor();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await waitForPath(page, '/tasks');
    await context.close();
  });

  it('sets up an authenticator app from its secret, then sign-in asks for a code computed here (English and Spanish)', async () => {
    const username = uniqueName('totp');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { context, page } = await stage.newContext();
    await signInWithPassword(page, username);
    await waitForPath(page, '/tasks');
    await page.goto('/security');
    await heading(page, 'Security');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expect
      .poll(() => page.getByRole('img', { name: 'QR code to scan with your authenticator app' }).evaluate((img: HTMLImageElement) => img.naturalWidth))
      .toBeGreaterThan(0);
    await expectAccessible(page, 'authenticator set-up');
    await page.getByLabel('Code from your authenticator app').fill(totpCodeAt(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    const recovery = (await page.getByTestId('recovery-codes').locator('li').allTextContents()).map((code) => code.trim());
    expect(recovery).toHaveLength(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByTestId('totp-on').waitFor();
    await signOut(page);

    // The next time step's code: the one used to confirm is spent (replays are refused).
    await signInWithPassword(page, username);
    await heading(page, 'Second step');
    await expectAccessible(page, 'second step of sign-in');
    await page.getByLabel('Code from your authenticator app').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('That code is not right, or was already used.').waitFor();
    await page.getByLabel('Code from your authenticator app').fill(totpCodeAt(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await waitForPath(page, '/tasks');
    await signOut(page);

    // In Spanish, with a recovery code.
    const spanish = await stage.newContext({ locale: 'es-ES' });
    await spanish.page.goto('/sign-in');
    await spanish.page.getByLabel('Nombre de usuario').fill(username);
    await spanish.page.getByLabel('Contraseña').fill(PASSWORD);
    await spanish.page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await heading(spanish.page, 'Segundo paso');
    await spanish.page.getByRole('button', { name: 'Usar un código de recuperación' }).click();
    await spanish.page.getByLabel('Código de recuperación').fill(recovery[0] as string);
    await spanish.page.getByRole('button', { name: 'Verificar' }).click();
    await waitForPath(spanish.page, '/tasks');
    await spanish.context.close();
    await context.close();
  });

  it('a policy past its grace period leads a user without a factor to the security page, and nowhere else', async () => {
    const admin = await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
    // Only an administrator with a factor may require one.
    const { secret } = await api<{ secret: string }>(stage.baseUrl, admin, 'POST', '/auth/mfa/totp', {});
    await api(stage.baseUrl, admin, 'POST', '/auth/mfa/totp/confirm', { code: totpCodeAt(secret, Date.now()) });
    await api(stage.baseUrl, admin, 'PATCH', '/settings', { mfaRequiredForEveryone: true, mfaEveryoneGraceDays: 0 });
    try {
      const username = uniqueName('policy');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const { context, page } = await stage.newContext();
      await signInWithPassword(page, username);
      await waitForPath(page, '/security');
      await page.getByText('Your organisation requires a second factor. Set one up to continue using the console.').waitFor();
      await page.goto('/tasks');
      await waitForPath(page, '/security');
      await context.close();
    } finally {
      await api(stage.baseUrl, admin, 'PATCH', '/settings', { mfaRequiredForEveryone: false });
    }
  });
});
