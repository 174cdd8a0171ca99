import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import {
  api,
  type ApiTask,
  apiLogin,
  browserAvailable,
  heading,
  PASSWORD,
  registerUser,
  screenshot,
  signIn,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

interface ApiProject {
  id: number;
}

describe.skipIf(!browserAvailable())('quick add in Chromium', () => {
  const stage = stageForTests();

  it('one line becomes a task with its due time, priority, label and assignee, shown as chips first, in English and Spanish', async () => {
    const owner = uniqueName('qa_owner');
    const ana = uniqueName('ana');
    await registerUser(stage.baseUrl, owner, PASSWORD);
    await registerUser(stage.baseUrl, ana, PASSWORD);
    const token = await apiLogin(stage.baseUrl, owner, PASSWORD);
    const project = await api<ApiProject>(stage.baseUrl, token, 'POST', '/projects', { name: 'Household' });
    await api(stage.baseUrl, token, 'POST', `/projects/${project.id}/labels`, { name: 'home' });
    await api(stage.baseUrl, token, 'POST', `/projects/${project.id}/members`, { username: ana, role: 'editor' });

    // Sunday 6 December 2026, 10:00 in Madrid: "tomorrow 17:00" is Monday 16:00 UTC.
    const { page } = await stage.newContext({ timezoneId: 'Europe/Madrid' });
    await page.clock.setFixedTime(new Date('2026-12-06T09:00:00Z'));
    await page.goto('/sign-in');
    await signIn(page, owner, PASSWORD);
    await waitForPath(page, '/tasks');
    await page.goto(`/projects/${project.id}`);
    await heading(page, 'Household');

    // The shortcut puts the focus in quick add.
    await page.locator('main h1').click();
    await page.keyboard.press('q');
    const input = page.getByLabel('Quick add a task');
    await expect.poll(() => input.evaluate((element) => element === document.activeElement)).toBe(true);
    await input.fill(`Call the bank tomorrow 17:00 !high #home @${ana} #42`);
    const chips = page.getByRole('list', { name: 'What will be saved' });
    await expect
      .poll(() => chips.getByRole('listitem').allTextContents())
      .toEqual(['Title: Call the bank #42', 'Due Mon, Dec 7, 05:00 PM', 'Priority: High', 'Label: home', `For ${ana}`]);
    await expectAccessible(page, 'quick add with chips');
    await screenshot(page, 'quick-add-en');
    await page.keyboard.press('Enter');
    await page.getByText('Added “Call the bank #42”.').waitFor();
    await expect.poll(() => input.inputValue()).toBe('');
    await page.locator('.task-title', { hasText: 'Call the bank #42' }).waitFor();

    const listed = await api<{ items: (ApiTask & { assignee: { username: string } | null; labels: { name: string }[] })[] }>(
      stage.baseUrl,
      token,
      'GET',
      `/tasks?projectId=${project.id}`,
    );
    expect(
      listed.items.map((task) => ({
        title: task.title,
        dueAt: task.dueAt,
        priority: task.priority,
        assignee: task.assignee?.username,
        labels: task.labels.map((label) => label.name),
      })),
    ).toEqual([{ title: 'Call the bank #42', dueAt: '2026-12-07T16:00:00.000Z', priority: 'high', assignee: ana, labels: ['home'] }]);

    // In Spanish, a weekday without a time is due at the end of that day; Escape empties the line.
    await page.getByLabel('Language').selectOption('es');
    const entrada = page.getByLabel('Añadir una tarea rápida');
    await entrada.fill('Pagar el alquiler el viernes !baja');
    const fichas = page.getByRole('list', { name: 'Lo que se guardará' });
    await expect
      .poll(() => fichas.getByRole('listitem').allTextContents())
      .toEqual(['Título: Pagar el alquiler', 'Vence vie, 11 dic, al final del día', 'Prioridad: Baja']);
    await expectAccessible(page, 'quick add in Spanish');
    await screenshot(page, 'quick-add-es');
    await entrada.press('Escape');
    await expect.poll(() => entrada.inputValue()).toBe('');
    await entrada.fill('Pagar el alquiler el viernes !baja');
    await entrada.press('Enter');
    await page.getByText('Añadida «Pagar el alquiler».').waitFor();
    const after = await api<{ items: ApiTask[] }>(stage.baseUrl, token, 'GET', `/tasks?projectId=${project.id}&search=alquiler`);
    expect(after.items.map((task) => [task.title, task.dueAt, task.priority])).toEqual([['Pagar el alquiler', '2026-12-11T22:59:00.000Z', 'low']]);
  });
});
