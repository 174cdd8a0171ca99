import { describe, expect, it } from 'vitest';
import { ADMIN, browserAvailable, heading, PASSWORD, registerUser, signIn, stageForTests, uniqueName, waitForPath } from './harness';

async function meStatus(baseUrl: string, token: string): Promise<number> {
  const response = await fetch(`${baseUrl}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

describe.skipIf(!browserAvailable())('API tokens in Chromium', () => {
  const stage = stageForTests();

  it('Account → API tokens: makes a token whose secret is shown once and works, lists it, and revokes it', async () => {
    const username = uniqueName('tok');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const { page } = await stage.newContext();
    await page.goto('/sign-in?next=%2Faccount');
    await signIn(page, username, PASSWORD);
    await waitForPath(page, '/account');
    const section = page.getByRole('region', { name: 'API tokens' });
    await section.getByLabel('Name').fill('nightly export');
    // Only what this user may give: no admin scopes for a user.
    expect(await section.getByRole('checkbox').count()).toBe(3);
    await section.getByRole('checkbox', { name: /tasks:write/ }).check();
    await section.getByLabel('Expires in (days)').fill('7');
    await section.getByRole('button', { name: 'Create token' }).click();

    const secret = await section.getByTestId('new-token').inputValue();
    expect(secret).toMatch(/^stm_pat_/);
    expect(await meStatus(stage.baseUrl, secret)).toBe(200);
    await section.getByRole('button', { name: 'I have copied it' }).click();
    expect(await section.getByTestId('new-token').count()).toBe(0);
    const row = section.locator('tbody tr', { hasText: 'nightly export' });
    await row.getByText('tasks:read, tasks:write').waitFor();
    expect(await page.content()).not.toContain(secret);

    await row.getByRole('button', { name: 'Revoke token nightly export' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('Revoked').waitFor();
    expect(await meStatus(stage.baseUrl, secret)).toBe(401);
  });

  it('Admin → Service accounts: creates an account and a token for it, and disabling the account stops the token', async () => {
    const { page } = await stage.newContext();
    await page.goto('/sign-in?next=%2Fadmin%2Fservice-accounts');
    await signIn(page, ADMIN.username, ADMIN.password);
    await waitForPath(page, '/admin/service-accounts');
    await heading(page, 'Service accounts');
    const name = uniqueName('bot');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create service account' }).click();
    const row = page.locator('tbody tr', { hasText: name });
    await row.getByRole('button', { name: 'Show tokens' }).click();
    const tokens = page.getByRole('region', { name: `Tokens of ${name}` });
    await tokens.getByLabel('Name').fill('sync');
    await tokens.getByRole('button', { name: 'Create token' }).click();
    const secret = await tokens.getByTestId('new-token').inputValue();
    expect(secret).toMatch(/^stm_sat_/);
    expect(await meStatus(stage.baseUrl, secret)).toBe(200);
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled').waitFor();
    expect(await meStatus(stage.baseUrl, secret)).toBe(401);
  });
});
