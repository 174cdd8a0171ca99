import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import {
  api,
  type ApiTask,
  apiLogin,
  browserAvailable,
  createTask,
  PASSWORD,
  registerUser,
  signIn,
  type Stage,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

/** What has the focus: a row (by its task's title), a control (by its accessible name), or something else. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element) return 'nothing';
    if (element.getAttribute('role') === 'row') return `row ${element.querySelector('.task-open')?.textContent ?? '?'}`;
    const name = element.getAttribute('aria-label') ?? element.textContent ?? '';
    return `${element.closest('[data-task-view]') ? 'control' : 'outside'} ${name.trim()}`;
  });
}

async function signedIn(stage: Stage, username: string, locale = 'en-GB') {
  const session = await stage.newContext({ locale });
  await session.page.goto('/sign-in');
  if (locale.startsWith('es')) {
    await session.page.getByLabel('Nombre de usuario').fill(username);
    await session.page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
    await session.page.getByRole('button', { name: 'Entrar' }).click();
  } else {
    await signIn(session.page, username, PASSWORD);
  }
  await waitForPath(session.page, '/tasks');
  return session;
}

describe.skipIf(!browserAvailable())('the task list from the keyboard', () => {
  const stage = stageForTests();

  it('is one tab stop whose rows the arrows, Home and End walk, with the task’s actions on keys and its buttons within reach', async () => {
    const username = uniqueName('roving');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    for (const title of ['Alpha', 'Bravo', 'Charlie', 'Delta']) await createTask(stage.baseUrl, token, { title });
    const serverTask = async (title: string) => (await api<{ items: ApiTask[] }>(stage.baseUrl, token, 'GET', `/tasks?search=${title}`)).items[0];
    const { context, page } = await signedIn(stage, username);
    await page.locator('.task-title', { hasText: 'Alpha' }).waitFor();
    // The server's count, in the header.
    await page.locator('.page-count', { hasText: '4 tasks' }).waitFor();

    // Tab from the top of the screen: the list is reached once, on its first row, and the next Tab leaves it.
    await page.locator('main h1').focus();
    const stops: string[] = [];
    for (let i = 0; i < 40 && !(stops.at(-1) ?? '').startsWith('row '); i++) {
      await page.keyboard.press('Tab');
      stops.push(await focused(page));
    }
    expect(stops.filter((stop) => !stop.startsWith('outside'))).toEqual(['row Delta']);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatch(/^outside|^nothing/);
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('row Delta');

    // Rows: the arrows, J and K, Home and End.
    await page.keyboard.press('ArrowDown');
    expect(await focused(page)).toBe('row Charlie');
    await page.keyboard.press('End');
    expect(await focused(page)).toBe('row Alpha');
    await page.keyboard.press('ArrowDown');
    expect(await focused(page)).toBe('row Alpha');
    await page.keyboard.press('Home');
    expect(await focused(page)).toBe('row Delta');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    expect(await focused(page)).toBe('row Charlie');

    // The list remembers its row: Tab out and back comes back to Charlie.
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toMatch(/^outside/);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('row Charlie');

    // Space and X mark it done and not done; the page does not scroll for Space.
    const charlieDone = page.getByRole('button', { name: 'Done: Charlie' });
    await page.keyboard.press(' ');
    await expect.poll(() => charlieDone.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(async () => (await serverTask('Charlie'))?.status).toBe('done');
    await page.keyboard.press('x');
    await expect.poll(() => charlieDone.getAttribute('aria-pressed')).toBe('false');
    await expect.poll(async () => (await serverTask('Charlie'))?.status).toBe('todo');
    expect(await focused(page)).toBe('row Charlie');

    // Enter opens the task; Escape closes it and the focus is back on its row.
    await page.keyboard.press('Enter');
    const panel = page.getByRole('dialog', { name: 'Charlie' });
    await panel.waitFor();
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    await expect.poll(() => focused(page)).toBe('row Charlie');

    // E edits it.
    await page.keyboard.press('e');
    const editor = page.getByRole('dialog', { name: 'Edit task' });
    expect(await editor.getByLabel('Title').inputValue()).toBe('Charlie');
    await page.keyboard.press('Escape');
    await editor.waitFor({ state: 'detached' });
    await expect.poll(() => focused(page)).toBe('row Charlie');

    // → and ← step through the row's buttons (which a screen reader also finds by reading);
    // ↓ goes to the same button of the next row, Home to the row's first, ← from there to the row.
    const right = async (times: number) => {
      for (let i = 0; i < times; i++) await page.keyboard.press('ArrowRight');
    };
    await right(1);
    expect(await focused(page)).toBe('control Select “Charlie”');
    await right(1);
    expect(await focused(page)).toBe('control Done: Charlie');
    await right(1);
    expect(await focused(page)).toBe('control Charlie');
    await right(2);
    expect(await focused(page)).toBe('control Delete Charlie');
    await right(1);
    expect(await focused(page)).toBe('control Delete Charlie');
    await page.keyboard.press('ArrowDown');
    expect(await focused(page)).toBe('control Delete Bravo');
    await page.keyboard.press('Home');
    expect(await focused(page)).toBe('control Select “Bravo”');
    // On a control, Space is the control's own: it selects the task.
    await page.keyboard.press(' ');
    await page.getByText('1 selected').waitFor();
    await page.keyboard.press(' ');
    await page.getByText('1 selected').waitFor({ state: 'detached' });
    await page.keyboard.press('ArrowLeft');
    expect(await focused(page)).toBe('row Bravo');

    // Backspace deletes with an Undo (Z, at once: the Undo lasts a few seconds)...
    await page.keyboard.press('Backspace');
    await page.locator('.toast', { hasText: '“Bravo” deleted.' }).waitFor();
    await page.keyboard.press('z');
    await page.locator('.task-title', { hasText: 'Bravo' }).waitFor();
    expect(await serverTask('Bravo')).toBeDefined();
    // ...and Delete the same; this time it is left to happen, and the focus goes to the next row.
    await expect.poll(() => focused(page)).toBe('row Alpha');
    await page.keyboard.press('ArrowUp');
    expect(await focused(page)).toBe('row Bravo');
    await page.keyboard.press('Delete');
    await expect.poll(() => focused(page)).toBe('row Alpha');
    await page.locator('.page-count', { hasText: '3 tasks' }).waitFor();
    await expect.poll(async () => (await serverTask('Bravo')) === undefined, { timeout: 20_000 }).toBe(true);

    await expectAccessible(page, 'the task list with a row focused');

    // The keys are in the ? sheet.
    await page.keyboard.press('?');
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await sheet.getByText('Open the task').waitFor();
    await sheet.getByText('First or last task').waitFor();
    await sheet.getByText('Delete / Backspace / #').waitFor();
    await page.keyboard.press('Escape');
    await context.close();

    const spanish = await signedIn(stage, username, 'es-ES');
    await spanish.page.locator('.page-count', { hasText: '3 tareas' }).waitFor();
    await spanish.page.locator('main h1').focus();
    await spanish.page.keyboard.press('?');
    const hoja = spanish.page.getByRole('dialog', { name: 'Atajos de teclado' });
    await hoja.getByText('Abrir la tarea').waitFor();
    await hoja.getByText('Inicio / Fin').waitFor();
    await hoja.getByText('X / Espacio').waitFor();
    await spanish.context.close();
  });
});
