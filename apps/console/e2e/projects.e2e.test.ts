import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import {
  ADMIN,
  api,
  apiLogin,
  browserAvailable,
  heading,
  PASSWORD,
  registerUser,
  screenshot,
  signIn,
  type Stage,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

interface Project {
  id: number;
  name: string;
}
interface Task {
  id: number;
  title: string;
  status: 'todo' | 'in_progress' | 'done';
  position: string;
  assignee: { id: number; username: string } | null;
}
interface Label {
  id: number;
  name: string;
}

async function signedIn(stage: Stage, username: string, options: Parameters<Stage['newContext']>[0] = {}) {
  const session = await stage.newContext(options);
  await session.page.goto('/sign-in');
  await signIn(session.page, username, PASSWORD);
  await session.page.waitForURL((url) => url.pathname === '/tasks');
  return session;
}

/** A project with a member, labels and tasks, made over REST as another client would. */
async function teamProject(stage: Stage) {
  const owner = uniqueName('olga');
  const member = uniqueName('mateo');
  await registerUser(stage.baseUrl, owner, PASSWORD);
  await registerUser(stage.baseUrl, member, PASSWORD);
  const ownerToken = await apiLogin(stage.baseUrl, owner, PASSWORD);
  const memberToken = await apiLogin(stage.baseUrl, member, PASSWORD);
  const project = await api<Project>(stage.baseUrl, ownerToken, 'POST', '/projects', {
    name: 'Kitchen renovation',
    color: 'green',
    description: 'Tiles, paint and a new sink',
  });
  const added = await api<{ userId: number }>(stage.baseUrl, ownerToken, 'POST', `/projects/${project.id}/members`, { username: member, role: 'editor' });
  const shopping = await api<Label>(stage.baseUrl, ownerToken, 'POST', `/projects/${project.id}/labels`, { name: 'Shopping', color: 'amber' });
  const urgent = await api<Label>(stage.baseUrl, ownerToken, 'POST', `/projects/${project.id}/labels`, { name: 'Urgent', color: 'red' });
  const make = (title: string, extra: Record<string, unknown> = {}) =>
    api<Task>(stage.baseUrl, ownerToken, 'POST', '/tasks', { projectId: project.id, title, ...extra });
  // Made in this order, each goes on top of its column.
  await make('Fix the leaking tap', { status: 'done', priority: 'high' });
  await make('Pick a paint colour', { status: 'in_progress', assigneeId: added.userId, labelIds: [shopping.id] });
  await make('Measure the walls', { dueAt: '2030-03-01T10:00:00Z' });
  await make('Order tiles', { priority: 'high', assigneeId: added.userId, labelIds: [shopping.id, urgent.id], dueAt: '2030-02-01T10:00:00Z' });
  await make('Call the plumber', { description: 'Ask about the sink and the boiler' });
  return { owner, member, ownerToken, memberToken, memberId: added.userId, project, shopping };
}

async function column(stage: Stage, token: string, projectId: number, status: Task['status']) {
  const page = await api<{ items: Task[] }>(stage.baseUrl, token, 'GET', `/tasks?projectId=${projectId}&status=${status}&sort=position&order=asc&limit=100`);
  return page.items.map((task) => task.title);
}

async function boardColumn(page: Page, name: string) {
  return page
    .getByRole('region', { name: new RegExp(`^${name}`) })
    .locator('.card-title')
    .allTextContents();
}

describe.skipIf(!browserAvailable())('projects in Chromium', () => {
  const stage = stageForTests();

  it('a new project is made from the sidebar, shared with a colleague, given labels, and filled from the list', async () => {
    const owner = uniqueName('paula');
    const colleague = uniqueName('quinn');
    await registerUser(stage.baseUrl, owner, PASSWORD);
    await registerUser(stage.baseUrl, colleague, PASSWORD);
    const { page } = await signedIn(stage, owner);

    await page.getByRole('navigation', { name: 'Views and projects' }).getByRole('button', { name: 'New project' }).click();
    const create = page.getByRole('dialog', { name: 'New project' });
    await create.getByLabel('Name').fill('Garden');
    await create.getByLabel('Teal').check();
    await create.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL((url) => /^\/projects\/\d+$/.test(url.pathname));
    await heading(page, 'Garden');
    await expect.poll(() => page.getByRole('navigation', { name: 'Views and projects' }).getByRole('link', { name: 'Garden' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Members (1)' }).click();
    const members = page.getByRole('dialog', { name: 'Members of Garden' });
    // A name nobody has is said to be so, at the field.
    await members.getByLabel('Username').fill('nobody_here');
    await members.getByRole('button', { name: 'Add to the project' }).click();
    await members.getByText('No active account has this username.').waitFor();
    await members.getByLabel('Username').fill(colleague.toUpperCase());
    await members.getByLabel('Role', { exact: true }).selectOption('viewer');
    await members.getByRole('button', { name: 'Add to the project' }).click();
    await members.locator('.member-name', { hasText: colleague }).waitFor();
    await expect.poll(() => members.getByLabel(`Role of ${colleague}`).inputValue()).toBe('viewer');
    await members.getByLabel(`Role of ${colleague}`).selectOption('editor');
    await expect
      .poll(async () => {
        const token = await apiLogin(stage.baseUrl, colleague, PASSWORD);
        const projects = await api<{ items: { name: string; role: string }[] }>(stage.baseUrl, token, 'GET', '/projects');
        return projects.items.find((project) => project.name === 'Garden')?.role;
      })
      .toBe('editor');
    await members.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Labels' }).click();
    const labels = page.getByRole('dialog', { name: 'Labels of Garden' });
    await labels.getByLabel('Name of the new label').fill('Weekend');
    await labels.getByLabel('Violet').check();
    await labels.getByRole('button', { name: 'Create label' }).click();
    await labels.locator('.chip', { hasText: 'Weekend' }).waitFor();
    await labels.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'New task' }).first().click();
    const editor = page.getByRole('dialog', { name: 'New task' });
    await editor.getByLabel('Title').fill('Plant the roses');
    await expect.poll(() => editor.getByLabel('Assignee').locator('option').allTextContents()).toEqual(['Nobody', owner, colleague]);
    await editor.getByLabel('Assignee').selectOption({ label: colleague });
    await editor.getByRole('checkbox', { name: 'Weekend' }).check();
    await editor.getByRole('button', { name: 'Create task' }).click();
    await editor.waitFor({ state: 'detached' });
    const row = page.locator('.task', { hasText: 'Plant the roses' });
    await row.waitFor();
    await expect.poll(() => row.textContent()).toMatch(new RegExp(`Assigned to ${colleague}.*Weekend`));
  });

  it('the board moves cards with the pointer and with the keyboard, tells screen readers, and the server keeps the order', async () => {
    const team = await teamProject(stage);
    const { page } = await signedIn(stage, team.owner, { viewport: { width: 1280, height: 900 } });
    await page.goto(`/projects/${team.project.id}?view=board`);
    await heading(page, 'Kitchen renovation');
    await expect.poll(() => boardColumn(page, 'To do')).toEqual(['Call the plumber', 'Order tiles', 'Measure the walls']);
    await screenshot(page, 'board-en');
    await expectAccessible(page, 'the board');

    // The pointer: "Measure the walls" onto "In progress", above "Pick a paint colour".
    const card = page.locator('.card', { hasText: 'Measure the walls' });
    const target = page.locator('.card', { hasText: 'Pick a paint colour' });
    const from = await card.boundingBox();
    const to = await target.boundingBox();
    if (!from || !to) throw new Error('cards not laid out');
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2 + 20, from.y + from.height / 2, { steps: 4 });
    await page.mouse.move(to.x + to.width / 2, to.y + 8, { steps: 12 });
    await page.mouse.up();
    await expect.poll(() => column(stage, team.ownerToken, team.project.id, 'in_progress')).toEqual(['Measure the walls', 'Pick a paint colour']);
    await expect.poll(() => boardColumn(page, 'In progress')).toEqual(['Measure the walls', 'Pick a paint colour']);

    // The keyboard: Alt+Down within the column, Alt+Right to the next one; each move announced.
    await page.locator('.card-title', { hasText: 'Call the plumber' }).focus();
    await page.keyboard.press('Alt+ArrowDown');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Moved' }).textContent()).toBe('Moved “Call the plumber” to To do, position 2 of 2.');
    await expect.poll(() => column(stage, team.ownerToken, team.project.id, 'todo')).toEqual(['Order tiles', 'Call the plumber']);
    await page.keyboard.press('Alt+ArrowRight');
    await expect
      .poll(() => column(stage, team.ownerToken, team.project.id, 'in_progress'))
      .toEqual(['Call the plumber', 'Measure the walls', 'Pick a paint colour']);
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Call the plumber');
    await page.keyboard.press('Alt+ArrowUp');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'cannot move' }).count()).toBe(1);

    // A reload shows the server's order.
    await page.reload();
    await expect.poll(() => boardColumn(page, 'In progress')).toEqual(['Call the plumber', 'Measure the walls', 'Pick a paint colour']);
    await expect.poll(() => boardColumn(page, 'Done')).toEqual(['Fix the leaking tap']);
  });

  it('a task opens in a panel with its comments and history; a mention names a member; the text stays text', async () => {
    const team = await teamProject(stage);
    const { page } = await signedIn(stage, team.member, { viewport: { width: 1280, height: 900 } });
    await page.goto(`/projects/${team.project.id}`);
    await page.getByRole('button', { name: 'Order tiles', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Order tiles' });
    await panel.waitFor();
    expect(new URL(page.url()).searchParams.get('task')).toMatch(/^\d+$/);
    await panel.getByLabel('Add a comment').fill(`Ordered from the shop, @${team.owner} please check <b>the size</b>.`);
    await panel.getByRole('button', { name: 'Comment' }).click();
    const comment = panel.locator('.comment').first();
    await comment.waitFor();
    await expect.poll(() => comment.locator('.comment-body').textContent()).toBe(`Ordered from the shop, @${team.owner} please check <b>the size</b>.`);
    expect(await comment.locator('.mention').textContent()).toBe(`@${team.owner}`);
    expect(await comment.locator('b').count()).toBe(0);
    await expect
      .poll(() => panel.locator('.history-entry').allTextContents())
      .toEqual([
        expect.stringMatching(new RegExp(`^${team.member}.*Commented$`)),
        expect.stringMatching(new RegExp(`^${team.owner}.*Added.*Shopping.*Urgent$`)),
        expect.stringMatching(new RegExp(`^${team.owner}.*Assigned it to ${team.member}$`)),
        expect.stringMatching(new RegExp(`^${team.owner}.*Created the task in Kitchen renovation$`)),
      ]);
    await screenshot(page, 'task-panel-en');
    await expectAccessible(page, 'the task panel');

    // Back closes the panel; the address opens it again.
    await page.goBack();
    await panel.waitFor({ state: 'detached' });
    await page.goForward();
    await panel.waitFor();
  });

  it('"My work" lists what is assigned to me across projects and keeps current live; a removed member loses the project at once', async () => {
    const team = await teamProject(stage);
    const { page } = await signedIn(stage, team.member, { viewport: { width: 1280, height: 900 } });
    await page.getByRole('link', { name: 'My work' }).click();
    await waitForPath(page, '/my-work');
    await heading(page, 'My work');
    await expect.poll(() => page.locator('.task-open').allTextContents()).toEqual(['Order tiles', 'Pick a paint colour']);
    await screenshot(page, 'my-work-en');
    await expectAccessible(page, 'my work');

    // Changes made elsewhere appear without a reload: a task assigned to me, a project I join.
    await api(stage.baseUrl, team.ownerToken, 'POST', '/tasks', { projectId: team.project.id, title: 'Grout the tiles', assigneeId: team.memberId });
    await expect.poll(() => page.locator('.task-open').allTextContents()).toContain('Grout the tiles');
    const garden = await api<Project>(stage.baseUrl, team.ownerToken, 'POST', '/projects', { name: 'Garden shed', color: 'teal' });
    await api(stage.baseUrl, team.ownerToken, 'POST', `/projects/${garden.id}/members`, { username: team.member, role: 'viewer' });
    await page.getByRole('link', { name: 'Garden shed' }).waitFor();

    await api(stage.baseUrl, team.ownerToken, 'DELETE', `/projects/${team.project.id}/members/${team.memberId}`);
    await expect.poll(() => page.locator('.task-open').count()).toBe(0);
    await page.goto(`/projects/${team.project.id}`);
    await heading(page, 'Page not found');
  });

  it('removed while the project is open: the page stays, with what was typed, and says why', async () => {
    const team = await teamProject(stage);
    const { page } = await signedIn(stage, team.member, { viewport: { width: 1280, height: 900 } });
    await page.goto(`/projects/${team.project.id}`);
    await page.locator('.task-open', { hasText: 'Order tiles' }).waitFor();
    await page.getByLabel('Quick add a task').fill('Buy grout tomorrow');
    await api(stage.baseUrl, team.ownerToken, 'DELETE', `/projects/${team.project.id}/members/${team.memberId}`);
    await page.getByRole('alert').filter({ hasText: 'You no longer have access to this project' }).waitFor();
    expect(await page.getByLabel('Quick add a task').inputValue()).toBe('Buy grout tomorrow');
    expect(await page.getByRole('heading', { name: 'Page not found' }).count()).toBe(0);
  });

  it('a viewer reads the board and the panel but finds nothing to change', async () => {
    const team = await teamProject(stage);
    const viewer = uniqueName('vera');
    await registerUser(stage.baseUrl, viewer, PASSWORD);
    await api(stage.baseUrl, team.ownerToken, 'POST', `/projects/${team.project.id}/members`, { username: viewer, role: 'viewer' });
    const { page } = await signedIn(stage, viewer);
    await page.goto(`/projects/${team.project.id}`);
    await heading(page, 'Kitchen renovation');
    await page.locator('.task-open', { hasText: 'Order tiles' }).waitFor();
    expect(await page.getByRole('button', { name: 'New task' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Edit/ }).count()).toBe(0);
    await page.getByRole('button', { name: 'Order tiles', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Order tiles' });
    await panel.getByRole('heading', { name: 'History' }).waitFor();
    expect(await panel.getByLabel('Add a comment').count()).toBe(0);
  });

  it('speaks Spanish: the board, the panel and "my work"', async () => {
    const team = await teamProject(stage);
    const { page } = await signedIn(stage, team.member, { viewport: { width: 1280, height: 900 } });
    await page.getByLabel('Language').selectOption('es');
    await page.goto(`/projects/${team.project.id}?view=board`);
    await page.getByRole('region', { name: /^Pendiente/ }).waitFor();
    await page.getByRole('group', { name: 'Vista' }).getByRole('button', { name: 'Tablero' }).waitFor();
    await screenshot(page, 'board-es');
    await expectAccessible(page, 'el tablero');
    await page.getByRole('button', { name: 'Order tiles', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Order tiles' });
    await panel.getByRole('heading', { name: 'Historial' }).waitFor();
    await expect.poll(() => panel.locator('.history-entry').last().textContent()).toMatch(/Creó la tarea en Kitchen renovation$/);
    await screenshot(page, 'task-panel-es');
    await expectAccessible(page, 'el panel de la tarea');
    // The browser speaks English (its date input shows mm/dd/yyyy): the hint says the date in Spanish.
    await panel.getByRole('button', { name: 'Editar', exact: true }).click();
    const editor = page.getByRole('dialog', { name: 'Editar tarea' });
    await editor.getByLabel('Vence', { exact: true }).fill('2030-01-15T09:30');
    await expect.poll(() => editor.getByText(/^Vence el martes, 15 de enero de 2030, 9:30, hora local/).count()).toBe(1);
    await editor.getByRole('button', { name: 'Cancelar' }).click();
    await editor.waitFor({ state: 'detached' });
    await page.goto('/my-work');
    await heading(page, 'Mi trabajo');
    await expect.poll(() => page.locator('.task-open').allTextContents()).toEqual(['Order tiles', 'Pick a paint colour']);
    await screenshot(page, 'my-work-es');
    await expectAccessible(page, 'mi trabajo');
  });

  it('in the dark and on a phone, the project screens stay readable and accessible', async () => {
    const team = await teamProject(stage);
    const { page } = await signedIn(stage, team.owner, { viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    // The views and projects are folded behind one button naming where one is, so the page's own
    // content starts on the first screen; picked, a place folds them again.
    await page.goto('/tasks');
    const places = page.getByRole('navigation', { name: 'Views and projects' });
    const fold = places.getByRole('button', { name: 'Views and projects All tasks' });
    await expect.poll(() => fold.getAttribute('aria-expanded')).toBe('false');
    expect(await places.getByRole('link', { name: 'Kitchen renovation' }).isVisible()).toBe(false);
    expect((await page.getByRole('heading', { level: 1 }).boundingBox())?.y).toBeLessThan(300);
    await screenshot(page, 'tasks-phone-dark', { fullPage: false });
    await fold.click();
    await screenshot(page, 'tasks-phone-dark-places', { fullPage: false });
    await places.getByRole('link', { name: 'Kitchen renovation' }).click();
    await heading(page, 'Kitchen renovation');
    await expect.poll(() => places.getByRole('button', { name: 'Views and projects Kitchen renovation' }).getAttribute('aria-expanded')).toBe('false');
    expect(await places.getByRole('link', { name: 'My work' }).isVisible()).toBe(false);
    await page.goto(`/projects/${team.project.id}?view=board`);
    await page.getByRole('region', { name: /^To do/ }).waitFor();
    await expectAccessible(page, 'the board, dark, phone');
    await screenshot(page, 'board-phone-dark');
    await page.getByRole('button', { name: 'Members (2)' }).click();
    await page.getByRole('dialog', { name: 'Members of Kitchen renovation' }).locator('.member-name', { hasText: team.member }).waitFor();
    await expectAccessible(page, 'the members dialog, dark, phone');
    await screenshot(page, 'members-phone-dark');
  });

  it('an administrator finds any project, opens it and manages it, and the audit log says so', async () => {
    const team = await teamProject(stage);
    const session = await stage.newContext({ viewport: { width: 1280, height: 900 } });
    const { page } = session;
    await page.goto('/sign-in');
    await signIn(page, ADMIN.username, ADMIN.password);
    await page.waitForURL((url) => url.pathname === '/tasks');
    await page.goto('/admin/projects');
    await heading(page, 'Projects');
    await page.getByLabel('Search').fill('kitchen');
    const row = page.getByRole('row', { name: new RegExp(`Kitchen renovation.*${team.owner}`) }).first();
    await row.waitFor();
    await expectAccessible(page, 'admin: projects');
    await row.getByRole('link', { name: 'Kitchen renovation' }).click();
    await heading(page, 'Kitchen renovation');
    await page.getByRole('button', { name: 'Settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Project settings' });
    await settings.getByLabel('Name').fill('Kitchen (checked)');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await heading(page, 'Kitchen (checked)');
    const adminToken = await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
    const audit = await api<{ items: { action: string; targetId: string; details: Record<string, unknown> }[] }>(
      stage.baseUrl,
      adminToken,
      'GET',
      '/admin/audit?action=project.administered',
    );
    expect(audit.items.find((entry) => entry.targetId === String(team.project.id))?.details).toMatchObject({
      operation: 'projects.update',
      name: 'Kitchen (checked)',
    });
  });
});
