import { describe, expect, it } from 'vitest';
import { api, apiLogin, browserAvailable, heading, PASSWORD, registerUser, signIn, type Stage, stageForTests, uniqueName } from './harness';

async function signedIn(stage: Stage, username: string) {
  const session = await stage.newContext({ viewport: { width: 1280, height: 900 } });
  await session.page.goto('/sign-in');
  await signIn(session.page, username, PASSWORD);
  await session.page.waitForURL((url) => url.pathname === '/tasks');
  return session;
}

describe.skipIf(!browserAvailable())('live changes in Chromium', () => {
  const stage = stageForTests();

  it('a task added in one browser appears in another without a reload, and a change to it too', async () => {
    const owner = uniqueName('lena');
    const member = uniqueName('marco');
    await registerUser(stage.baseUrl, owner, PASSWORD);
    await registerUser(stage.baseUrl, member, PASSWORD);
    const ownerToken = await apiLogin(stage.baseUrl, owner, PASSWORD);
    const project = await api<{ id: number }>(stage.baseUrl, ownerToken, 'POST', '/projects', { name: 'Shared shelf', color: 'indigo', description: '' });
    await api(stage.baseUrl, ownerToken, 'POST', `/projects/${project.id}/members`, { username: member, role: 'editor' });

    const writer = await signedIn(stage, owner);
    const reader = await signedIn(stage, member);
    await writer.page.goto(`/projects/${project.id}`);
    await reader.page.goto(`/projects/${project.id}?view=board`);
    await heading(writer.page, 'Shared shelf');
    await heading(reader.page, 'Shared shelf');
    // Nothing else will make the reader's page load again: no reload, no focus change.
    let readerLoads = 0;
    reader.page.on('load', () => readerLoads++);

    await writer.page.getByRole('button', { name: 'New task' }).first().click();
    const editor = writer.page.getByRole('dialog', { name: 'New task' });
    await editor.getByLabel('Title').fill('Dust the top shelf');
    await editor.getByRole('button', { name: 'Create task' }).click();
    await editor.waitFor({ state: 'detached' });

    const card = reader.page.locator('.card-title', { hasText: 'Dust the top shelf' });
    await card.waitFor({ timeout: 10_000 });
    expect(
      await reader.page
        .getByRole('region', { name: /^To do/ })
        .locator('.card-title')
        .allTextContents(),
    ).toContain('Dust the top shelf');

    const { items } = await api<{ items: { id: number; title: string }[] }>(stage.baseUrl, ownerToken, 'GET', `/tasks?projectId=${project.id}`);
    const task = items.find((item) => item.title === 'Dust the top shelf') as { id: number };
    await api(stage.baseUrl, ownerToken, 'PATCH', `/tasks/${task.id}`, { status: 'done', title: 'Dusted the top shelf' });
    await expect
      .poll(() => reader.page.getByRole('region', { name: /^Done/ }).locator('.card-title').allTextContents(), { timeout: 10_000 })
      .toContain('Dusted the top shelf');
    expect(readerLoads).toBe(0);
  });
});
