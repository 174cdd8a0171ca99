import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  ADMIN,
  api,
  type ApiTask,
  apiLogin,
  browserAvailable,
  createTask,
  heading,
  PASSWORD,
  pathOf,
  registerUser,
  screenshot,
  signIn,
  type Stage,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

/** The titles of the task list, top to bottom, once they equal what is expected. */
async function expectTitles(page: Page, expected: string[]) {
  await expect.poll(() => page.locator('.task-title').allTextContents()).toEqual(expected);
}

async function signedIn(stage: Stage, username: string, options: Parameters<Stage['newContext']>[0] = {}) {
  const session = await stage.newContext(options);
  await session.page.goto('/sign-in');
  await signIn(session.page, username, PASSWORD);
  await waitForPath(session.page, '/tasks');
  return session;
}

async function createViaForm(page: Page, task: { title: string; description?: string; priority?: string; due?: string }) {
  await page.getByRole('button', { name: 'New task' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'New task' });
  await dialog.waitFor();
  await dialog.getByLabel('Title').fill(task.title);
  if (task.description) await dialog.getByLabel('Description').fill(task.description);
  if (task.priority) await dialog.getByLabel('Priority').selectOption(task.priority);
  if (task.due) await dialog.getByLabel('Due', { exact: true }).fill(task.due);
  await dialog.getByRole('button', { name: 'Create task' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.locator('.task-title', { hasText: task.title }).waitFor();
}

describe.skipIf(!browserAvailable())('the task screens in Chromium', () => {
  const stage = stageForTests();

  it('a new user creates, edits, completes, filters, searches, sorts and deletes tasks, one at a time and in bulk', async () => {
    // A zone half an hour off whole hours: the due time typed is local, the API stores UTC.
    const { context, page } = await stage.newContext({ timezoneId: 'America/St_Johns' });
    const username = uniqueName('tara');

    await page.goto('/register');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await waitForPath(page, '/tasks');
    await heading(page, 'All tasks');
    await page.getByText('No tasks yet').waitFor();

    // The form checks with the API's schema before sending.
    await page.getByRole('button', { name: 'New task' }).first().click();
    const newDialog = page.getByRole('dialog', { name: 'New task' });
    await newDialog.getByRole('button', { name: 'Create task' }).click();
    await newDialog.getByText('This field is required.').waitFor();
    expect(await newDialog.getByLabel('Title').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'task-create-dialog');
    await page.keyboard.press('Escape');
    await newDialog.waitFor({ state: 'detached' });

    await createViaForm(page, { title: 'Buy milk', priority: 'low' });
    await createViaForm(page, { title: 'Write report', description: 'Numbers for Q1', priority: 'high', due: '2030-01-15T09:30' });
    await createViaForm(page, { title: 'Call plumber', due: '2020-03-01T08:00' });
    await createViaForm(page, { title: 'Plan holiday' });
    await page.getByText('Task created.').first().waitFor();
    await expectTitles(page, ['Plan holiday', 'Call plumber', 'Write report', 'Buy milk']);
    await page.getByText('4 tasks shown.').waitFor();

    // Overdue in words, not only colour; the due time is shown as typed, in local time.
    const plumber = page.locator('.task', { hasText: 'Call plumber' });
    await plumber.getByText('Overdue').waitFor();
    expect(await page.locator('.task', { hasText: 'Write report' }).getByText('Overdue').count()).toBe(0);
    const due = page.locator('.task', { hasText: 'Write report' }).locator('time');
    expect(await due.getAttribute('datetime')).toBe('2030-01-15T13:00:00.000Z');
    expect(await due.textContent()).toMatch(/^Jan 15, 2030, 9:30\sAM$/);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    const stored = await api<{ items: ApiTask[] }>(stage.baseUrl, token, 'GET', '/tasks?search=report');
    expect(stored.items.map((task) => task.dueAt)).toEqual(['2030-01-15T13:00:00.000Z']);
    await screenshot(page, 'tasks-list');

    // Edit: the form starts from the task, due time in local time.
    await page.getByRole('button', { name: 'Edit Write report' }).click();
    const editDialog = page.getByRole('dialog', { name: 'Edit task' });
    await editDialog.waitFor();
    expect(await editDialog.getByLabel('Title').inputValue()).toBe('Write report');
    expect(await editDialog.getByLabel('Due', { exact: true }).inputValue()).toBe('2030-01-15T09:30');
    // The input shows the date in the browser's format; the hint spells it out in the console's language.
    await expect.poll(() => editDialog.getByText(/^Due Tuesday, January 15, 2030 at 9:30\sAM, your local time/).count()).toBe(1);
    await editDialog.getByLabel('Title').fill('Write quarterly report');
    await editDialog.getByLabel('Status').selectOption('in_progress');
    await screenshot(page, 'task-edit-dialog');
    await editDialog.getByRole('button', { name: 'Save changes' }).click();
    await editDialog.waitFor({ state: 'detached' });
    await page.getByText('Task saved.').waitFor();
    await page.locator('.task', { hasText: 'Write quarterly report' }).getByText('In progress').waitFor();

    // Complete in one click.
    const milkDone = page.getByRole('button', { name: 'Done: Buy milk' });
    expect(await milkDone.getAttribute('aria-pressed')).toBe('false');
    await milkDone.click();
    await expect.poll(() => milkDone.getAttribute('aria-pressed')).toBe('true');
    await page.locator('.task', { hasText: 'Buy milk' }).locator('.status-done').waitFor();
    await expect.poll(async () => (await api<{ items: ApiTask[] }>(stage.baseUrl, token, 'GET', '/tasks?search=milk')).items[0]?.status).toBe('done');

    // Filters live in the address, survive a reload, and narrow the list.
    const filters = page.getByRole('search', { name: 'Filter tasks' });
    await filters.getByRole('checkbox', { name: 'Done', exact: true }).check();
    await waitForPath(page, '/tasks?status=done');
    await expectTitles(page, ['Buy milk']);
    await page.reload();
    await heading(page, 'All tasks');
    await expectTitles(page, ['Buy milk']);
    expect(await filters.getByRole('checkbox', { name: 'Done', exact: true }).isChecked()).toBe(true);
    await filters.getByRole('checkbox', { name: 'To do', exact: true }).check();
    await waitForPath(page, '/tasks?status=todo&status=done');
    await expectTitles(page, ['Plan holiday', 'Call plumber', 'Buy milk']);
    await filters.getByRole('button', { name: 'Clear filters' }).click();
    await waitForPath(page, '/tasks');
    await expectTitles(page, ['Plan holiday', 'Call plumber', 'Write quarterly report', 'Buy milk']);

    // Search waits for a pause in typing.
    await filters.getByLabel('Search').pressSequentially('REPORT', { delay: 30 });
    await waitForPath(page, '/tasks?q=REPORT');
    await expectTitles(page, ['Write quarterly report']);
    await filters.getByLabel('Search').fill('no such thing');
    await page.getByText('No tasks match these filters').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).last().click();
    await waitForPath(page, '/tasks');
    expect(await filters.getByLabel('Search').inputValue()).toBe('');

    await filters.getByLabel('Only overdue').check();
    await waitForPath(page, '/tasks?overdue=true');
    await expectTitles(page, ['Call plumber']);
    await filters.getByLabel('Only overdue').uncheck();

    // Due range: whole local days, both ends included.
    await filters.getByLabel('Due from').fill('2030-01-15');
    await filters.getByLabel('Due until').fill('2030-01-15');
    await waitForPath(page, '/tasks?dueFrom=2030-01-15&dueTo=2030-01-15');
    await expectTitles(page, ['Write quarterly report']);
    await filters.getByLabel('Due until').fill('2030-01-14');
    await page.getByText('No tasks match these filters').waitFor();
    await filters.getByRole('button', { name: 'Clear filters' }).click();

    // Sort.
    await filters.getByLabel('Sort by').selectOption('priority');
    await waitForPath(page, '/tasks?sort=priority');
    await expect.poll(async () => (await page.locator('.task-title').allTextContents()).at(0)).toBe('Write quarterly report');
    expect((await page.locator('.task-title').allTextContents()).at(-1)).toBe('Buy milk');
    await filters.getByLabel('Order').selectOption('asc');
    await waitForPath(page, '/tasks?sort=priority&order=asc');
    await expect.poll(async () => (await page.locator('.task-title').allTextContents()).at(0)).toBe('Buy milk');
    await filters.getByLabel('Sort by').selectOption('dueAt');
    await waitForPath(page, '/tasks?sort=dueAt&order=asc');
    // Without a due date last, in creation order among themselves.
    await expectTitles(page, ['Call plumber', 'Write quarterly report', 'Buy milk', 'Plan holiday']);

    // Deleting one asks nothing: it goes at once, with an Undo that brings it back untouched
    // (the server never deleted it)...
    const serverTitles = async () => (await api<{ items: ApiTask[] }>(stage.baseUrl, token, 'GET', '/tasks')).items.map((task) => task.title).sort();
    await page.getByRole('button', { name: 'Delete Plan holiday' }).click();
    await expectTitles(page, ['Call plumber', 'Write quarterly report', 'Buy milk']);
    const undoNotice = page.locator('.toast', { hasText: '“Plan holiday” deleted.' });
    await undoNotice.getByRole('button', { name: 'Undo' }).click();
    await expectTitles(page, ['Call plumber', 'Write quarterly report', 'Buy milk', 'Plan holiday']);
    expect(await serverTitles()).toContain('Plan holiday');
    // ...and when the notice goes, the delete is sent.
    await page.getByRole('button', { name: 'Delete Plan holiday' }).click();
    await expectTitles(page, ['Call plumber', 'Write quarterly report', 'Buy milk']);
    await undoNotice.waitFor({ state: 'detached', timeout: 15_000 });
    await expect.poll(serverTitles).toEqual(['Buy milk', 'Call plumber', 'Write quarterly report']);
    // The focus does not vanish with the row: it moves to the neighbour, and the keyboard goes on from there.
    const focusedLabel = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent);
    const focusedRow = () =>
      page.evaluate(() => (document.activeElement?.getAttribute('role') === 'row' ? document.activeElement.querySelector('.task-open')?.textContent : null));
    await page.getByRole('button', { name: 'Delete Call plumber' }).click();
    await expectTitles(page, ['Write quarterly report', 'Buy milk']);
    await expect.poll(focusedRow).toBe('Write quarterly report');
    await page.keyboard.press('z');
    await expectTitles(page, ['Call plumber', 'Write quarterly report', 'Buy milk']);
    // The list is one tab stop; End goes to its last row, and E edits that task.
    await page.keyboard.press('End');
    expect(await focusedRow()).toBe('Buy milk');
    await page.keyboard.press('e');
    await editDialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('title');
    await page.keyboard.press('Escape');
    await editDialog.waitFor({ state: 'detached' });
    expect(await focusedRow()).toBe('Buy milk');

    // Bulk: mark two done, then delete everything shown.
    await page.getByRole('checkbox', { name: 'Select “Call plumber”' }).check();
    await page.getByRole('checkbox', { name: 'Select “Write quarterly report”' }).check();
    await page.getByText('2 selected').waitFor();
    await screenshot(page, 'tasks-bulk');
    await page.getByRole('button', { name: 'Mark done' }).click();
    await page.getByText('2 tasks marked done.').waitFor();
    await expect.poll(() => page.locator('.done-toggle[aria-pressed="true"]').count()).toBe(3);
    expect(await page.locator('.task .badge-overdue').count()).toBe(0);

    await page.getByRole('checkbox', { name: 'Select all shown' }).check();
    await page.getByText('3 selected').waitFor();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    const bulkDialog = page.getByRole('dialog', { name: 'Delete 3 tasks?' });
    await bulkDialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('3 tasks deleted.').waitFor();
    await page.getByText('No tasks yet').waitFor();
    await expect.poll(focusedLabel).toBe('All tasks');
    expect((await api<{ items: ApiTask[] }>(stage.baseUrl, token, 'GET', '/tasks')).items).toEqual([]);

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await waitForPath(page, '/sign-in');
    await context.close();
  });

  it('loads further pages as the list is scrolled, or with the "Load more" button', async () => {
    const username = uniqueName('paula');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    for (let index = 1; index <= 30; index += 1) await createTask(stage.baseUrl, token, { title: `Task ${String(index).padStart(2, '0')}` });

    const { context, page } = await signedIn(stage, username);
    await page.getByText('25 tasks shown. More load as you scroll.').waitFor();
    expect(await page.locator('.task').count()).toBe(25);
    // The header counts every task, not only those loaded.
    await page.locator('.page-count', { hasText: '30 tasks' }).waitFor();
    const more = page.getByRole('button', { name: 'Load more' });
    await more.focus();
    await page.keyboard.press('Enter');
    await page.getByText('30 tasks shown.', { exact: true }).waitFor();
    expect(await more.count()).toBe(0);
    expect((await page.locator('.task-title').allTextContents()).at(-1)).toBe('Task 01');

    // Scrolling to the end loads the next page by itself (so the filters are changed from the top).
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.getByRole('search', { name: 'Filter tasks' }).getByLabel('Order').selectOption('asc');
    await page.getByText('25 tasks shown. More load as you scroll.').waitFor();
    await page.locator('.task').last().scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 4000);
    await page.getByText('30 tasks shown.', { exact: true }).waitFor();
    expect((await page.locator('.task-title').allTextContents()).at(-1)).toBe('Task 30');
    await context.close();
  });

  it('an edit that meets a change made elsewhere asks: reload shows the other change, overwrite wins', async () => {
    const username = uniqueName('quinn');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    const task = await createTask(stage.baseUrl, token, { title: 'Shared task', description: 'Original' });
    const laptop = await signedIn(stage, username);
    const phone = await signedIn(stage, username);

    const openEditor = async (page: Page, title: string) => {
      await page.getByRole('button', { name: `Edit ${title}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit task' });
      await dialog.waitFor();
      return dialog;
    };
    const laptopEditor = await openEditor(laptop.page, 'Shared task');
    const phoneEditor = await openEditor(phone.page, 'Shared task');

    await laptopEditor.getByLabel('Title').fill('Laptop title');
    await laptopEditor.getByRole('button', { name: 'Save changes' }).click();
    await laptop.page.getByText('Task saved.').waitFor();

    await phoneEditor.getByLabel('Title').fill('Phone title');
    await phoneEditor.getByRole('button', { name: 'Save changes' }).click();
    const conflict = phone.page.getByRole('dialog', { name: 'This task was changed elsewhere' });
    await conflict.waitFor();
    await conflict.getByText('Someone saved this task after you opened it').waitFor();
    expect(await phone.page.evaluate(() => document.activeElement?.closest('dialog')?.getAttribute('aria-labelledby') !== null)).toBe(true);
    await screenshot(phone.page, 'task-conflict-dialog');

    // Reload: the other change is shown, this one is dropped.
    await conflict.getByRole('button', { name: 'Reload' }).click();
    await conflict.waitFor({ state: 'detached' });
    await phoneEditor.getByText('This is the current version of the task').waitFor();
    expect(await phoneEditor.getByLabel('Title').inputValue()).toBe('Laptop title');
    await phone.page.keyboard.press('Escape');
    await phoneEditor.waitFor({ state: 'detached' });
    await phone.page.locator('.task-title', { hasText: 'Laptop title' }).waitFor();
    // Escape gave the focus back to where the edit started.
    expect(await phone.page.evaluate(() => document.activeElement?.textContent)).toBe('Edit Laptop title');

    // Now the phone saves over the version the laptop's open editor holds, and the laptop is the
    // stale one (its lists follow the change live, so the editor is opened before it).
    const laptopAgain = await openEditor(laptop.page, 'Laptop title');
    const phoneAgain = await openEditor(phone.page, 'Laptop title');
    await phoneAgain.getByLabel('Description').fill('Phone description');
    await phoneAgain.getByRole('button', { name: 'Save changes' }).click();
    await phone.page.getByText('Task saved.').waitFor();

    await laptopAgain.getByLabel('Title').fill('Laptop wins');
    await laptopAgain.getByLabel('Priority').selectOption('high');
    await laptopAgain.getByRole('button', { name: 'Save changes' }).click();
    const laptopConflict = laptop.page.getByRole('dialog', { name: 'This task was changed elsewhere' });
    // The laptop's first "saved" toast may still be up; the one that counts is the next.
    await laptop.page.getByText('Task saved.').waitFor({ state: 'detached' });
    await laptopConflict.getByRole('button', { name: 'Overwrite' }).click();
    await laptop.page.getByText('Task saved.').waitFor();
    await laptop.page.locator('.task-title', { hasText: 'Laptop wins' }).waitFor();

    const final = await api<ApiTask>(stage.baseUrl, token, 'GET', `/tasks/${task.id}`);
    // Overwrite re-sends this edit's changes; what it did not touch keeps the other change.
    expect(final).toMatchObject({ title: 'Laptop wins', priority: 'high', description: 'Phone description', version: 4 });
    await laptop.context.close();
    await phone.context.close();
  });

  it('the dashboard charts the counts and links to the overdue tasks', async () => {
    const username = uniqueName('dora');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    await createTask(stage.baseUrl, token, { title: 'Open one' });
    await createTask(stage.baseUrl, token, { title: 'Late one', dueAt: '2021-06-01T12:00:00Z' });
    await createTask(stage.baseUrl, token, { title: 'Busy one', status: 'in_progress' });
    for (const title of ['Done one', 'Done two', 'Done three']) await createTask(stage.baseUrl, token, { title, status: 'done' });

    const { context, page } = await signedIn(stage, username);
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await heading(page, 'Dashboard');
    const stat = (name: string) => page.getByTestId(`stat-${name}`).textContent();
    await page.getByTestId('stat-total').waitFor();
    expect(await stat('total')).toBe('6');
    expect(await stat('todo')).toBe('2');
    expect(await stat('in_progress')).toBe('1');
    expect(await stat('done')).toBe('3');
    expect(await stat('overdue')).toBe('1');

    // Each chart is one labelled image, and its numbers are in a table for screen readers.
    await page.getByRole('img', { name: /^Tasks by status To do: 2, In progress: 1, Done: 3$/ }).waitFor();
    await page.getByRole('img', { name: /^Completed per day, last 30 days 3 tasks completed/ }).waitFor();
    const perDay = page.getByRole('table', { name: 'Completed per day, last 30 days' });
    expect(await perDay.locator('tbody tr').count()).toBe(30);
    expect(await perDay.locator('tbody tr').last().locator('td').textContent()).toBe('3');
    expect(await page.locator('.chart-svg rect[height]:not([height="0"])').count()).toBe(4);
    await screenshot(page, 'dashboard');

    await page.getByRole('link', { name: 'See the overdue task' }).click();
    await waitForPath(page, '/overdue');
    await heading(page, 'Overdue');
    await expectTitles(page, ['Late one']);
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('link', { name: 'In progress' }).click();
    await waitForPath(page, '/tasks?status=in_progress');
    await expectTitles(page, ['Busy one']);
    await context.close();

    const phone = await signedIn(stage, username, { viewport: { width: 360, height: 740 }, colorScheme: 'dark' });
    await phone.page.goto('/dashboard');
    await phone.page.getByTestId('stat-total').waitFor();
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'dashboard-phone-dark');
    await phone.page.goto('/tasks');
    await expectTitles(phone.page, ['Done three', 'Done two', 'Done one', 'Busy one', 'Late one', 'Open one']);
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'tasks-phone-dark');
    // On a phone the less used filters wait behind a button.
    const overdueOnly = phone.page.getByLabel('Only overdue');
    expect(await overdueOnly.isVisible()).toBe(false);
    await phone.page.getByRole('button', { name: 'Filters' }).click();
    await overdueOnly.check();
    await expectTitles(phone.page, ['Late one']);
    await phone.page.getByRole('button', { name: 'Filters (1)' }).waitFor();
    await phone.context.close();
  });

  it('an administrator sees every user’s tasks, narrowed by owner; a user is not allowed there', async () => {
    const ann = uniqueName('ann');
    const ben = uniqueName('ben');
    for (const name of [ann, ben]) await registerUser(stage.baseUrl, name, PASSWORD);
    await createTask(stage.baseUrl, await apiLogin(stage.baseUrl, ann, PASSWORD), { title: 'Ann’s task', priority: 'high' });
    await createTask(stage.baseUrl, await apiLogin(stage.baseUrl, ben, PASSWORD), { title: 'Ben’s task', dueAt: '2022-01-01T00:00:00Z' });

    const user = await signedIn(stage, ann);
    await user.page.goto('/admin/tasks');
    await heading(user.page, 'Not allowed');
    await user.context.close();

    const { context, page } = await stage.newContext();
    await page.goto('/sign-in');
    await signIn(page, ADMIN.username, ADMIN.password);
    await waitForPath(page, '/tasks');
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('link', { name: 'All tasks' }).click();
    await heading(page, 'All tasks');
    const rows = page.locator('tbody tr');
    await page.locator('tbody tr', { hasText: 'Ann’s task' }).getByText(ann).waitFor();
    await page.locator('tbody tr', { hasText: 'Ben’s task' }).getByText(ben).waitFor();
    await page.locator('tbody tr', { hasText: 'Ben’s task' }).getByText('Overdue').waitFor();
    await screenshot(page, 'admin-all-tasks');

    await page.getByLabel('Owner (username)').fill(ann.toUpperCase());
    await waitForPath(page, `/admin/tasks?owner=${ann.toUpperCase()}`);
    await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Ann’s task')]);
    await page.reload();
    await heading(page, 'All tasks');
    await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Ann’s task')]);
    expect(await page.getByLabel('Owner (username)').inputValue()).toBe(ann.toUpperCase());

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await waitForPath(page, '/admin/tasks');
    await page.getByRole('button', { name: `Show only tasks of ${ben}` }).click();
    await waitForPath(page, `/admin/tasks?owner=${ben}`);
    await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('Ben’s task')]);
    expect(await page.getByLabel('Owner (username)').inputValue()).toBe(ben);

    await page.getByLabel('Owner (username)').fill('nobody-here');
    await page.getByText('No tasks match these filters').waitFor();
    expect(pathOf(page)).toBe('/admin/tasks?owner=nobody-here');
    await context.close();
  });

  it('the task screens speak Spanish', async () => {
    const username = uniqueName('lola');
    await registerUser(stage.baseUrl, username, PASSWORD);
    const token = await apiLogin(stage.baseUrl, username, PASSWORD);
    await createTask(stage.baseUrl, token, { title: 'Comprar pan', dueAt: '2021-01-01T10:00:00Z', priority: 'high' });
    const { context, page } = await stage.newContext({ locale: 'es-ES' });
    await page.goto('/sign-in');
    await page.getByLabel('Nombre de usuario').fill(username);
    await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await heading(page, 'Todas las tareas');
    const task = page.locator('.task', { hasText: 'Comprar pan' });
    await task.getByText('Pendiente').waitFor();
    await task.getByText('Vencida').waitFor();
    await task.getByText('Prioridad Alta').waitFor();
    await page.getByText('Se muestra 1 tarea.').waitFor();
    await page.getByRole('search', { name: 'Filtrar tareas' }).getByLabel('Buscar').waitFor();
    await screenshot(page, 'tasks-es');

    await page.getByRole('button', { name: 'Editar Comprar pan' }).click();
    const dialog = page.getByRole('dialog', { name: 'Editar tarea' });
    await dialog.getByLabel('Título').fill('');
    await dialog.getByRole('button', { name: 'Guardar cambios' }).click();
    await dialog.getByText('Este campo es obligatorio.').waitFor();
    // The title was changed: Escape asks before throwing that away.
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: '¿Descartar los cambios?' }).getByRole('button', { name: 'Descartar los cambios' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Hecha: Comprar pan' }).click();
    await task.getByText('Hecha', { exact: true }).waitFor();
    await context.close();
  });
});
