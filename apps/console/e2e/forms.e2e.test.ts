import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible } from './axe';
import {
  ADMIN,
  apiLogin,
  browserAvailable,
  callsSettled,
  createTask,
  heading,
  PASSWORD,
  registerUser,
  signIn,
  type Stage,
  stageForTests,
  uniqueName,
  waitForPath,
} from './harness';

async function signedIn(stage: Stage, username: string, options: Parameters<Stage['newContext']>[0] = {}) {
  const session = await stage.newContext(options);
  await session.page.goto('/sign-in');
  await signIn(session.page, username, PASSWORD);
  await waitForPath(session.page, '/tasks');
  return session;
}

/** Whether a click at the middle of this control would reach it (nothing drawn over it). */
async function reachable(control: Locator): Promise<boolean> {
  return control.evaluate((element) => {
    const box = element.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && (hit === element || element.contains(hit));
  });
}

async function visibleToasts(page: Page): Promise<number> {
  return page.locator('.toast').evaluateAll((toasts) => toasts.filter((toast) => (toast as HTMLElement).offsetParent !== null).length);
}

/** The drop-downs of the filter bar whose longest choice does not fit (hidden ones aside). */
async function selectsCutOff(page: Page): Promise<string[]> {
  const toggle = page.locator('.filters-toggle');
  if (await toggle.isVisible()) await toggle.click();
  await page.locator('.filters select').first().waitFor();
  return page.evaluate(() => {
    const context = document.createElement('canvas').getContext('2d');
    if (!context) return ['no canvas'];
    return Array.from(document.querySelectorAll<HTMLSelectElement>('.filters select'))
      .filter((select) => select.getClientRects().length > 0)
      .filter((select) => {
        const style = getComputedStyle(select);
        context.font = style.font;
        const widest = Math.max(...Array.from(select.options).map((option) => context.measureText(option.text).width));
        // The drop-down arrow takes about 1.2em on the right.
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 1.2 * parseFloat(style.fontSize);
        return widest > room;
      })
      .map((select) => `${select.labels[0]?.textContent ?? select.name} (${select.clientWidth}px)`);
  });
}

/**
 * One server and browser for the whole file (each is seconds of start-up): the tests make users of
 * their own or only read the administrator's screens, so none depends on what another left.
 */
describe.skipIf(!browserAvailable())('forms and screens', () => {
  const stage = stageForTests();

  describe('dialogs, forms and notifications', () => {
    it('notifications are limited and never cover the rows’ Edit and Delete buttons, at desktop and phone widths', async () => {
      const username = uniqueName('toasty');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const token = await apiLogin(stage.baseUrl, username, PASSWORD);
      for (let i = 1; i <= 8; i++) await createTask(stage.baseUrl, token, { title: `Chore ${i}` });

      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 390, height: 844 },
      ]) {
        const { context, page } = await signedIn(stage, username, { viewport });
        await page.locator('.task-title', { hasText: 'Chore 1' }).waitFor();
        // Every change refused: each says so in a toast.
        await page.route(/\/trpc\/tasks\.update\b/, (route) => route.fulfill({ status: 503, body: '' }));
        for (const n of [8, 7, 6, 5]) {
          await page.getByRole('button', { name: `Done: Chore ${n}` }).click();
          await expect.poll(() => page.getByRole('button', { name: `Done: Chore ${n}` }).isDisabled()).toBe(false);
        }
        await expect.poll(() => page.locator('.toast').count()).toBeGreaterThan(0);
        expect(await visibleToasts(page)).toBeLessThanOrEqual(viewport.width < 800 ? 1 : 2);

        // Wherever the page is scrolled to, every row's actions in view can be clicked.
        for (const scroll of ['top', 'bottom'] as const) {
          await page.evaluate((to) => window.scrollTo(0, to === 'top' ? 0 : document.body.scrollHeight), scroll);
          const rows = page.locator('.task-list > li');
          for (let i = 0; i < (await rows.count()); i++) {
            for (const name of ['Edit', 'Delete']) {
              const button = rows.nth(i).getByRole('button', { name, exact: false }).first();
              if (!(await button.isVisible())) continue;
              const inView = await button.evaluate((element) => {
                const box = element.getBoundingClientRect();
                return box.top >= 0 && box.bottom <= window.innerHeight;
              });
              if (inView && scroll === 'bottom') expect(await reachable(button), `${name} of row ${i} at ${viewport.width}px`).toBe(true);
              if (inView && scroll === 'top' && viewport.width >= 800) expect(await reachable(button), `${name} of row ${i} at ${viewport.width}px`).toBe(true);
            }
          }
        }
        stage.problems.splice(0, stage.problems.length, ...stage.problems.filter((problem) => !/status of 503\b/.test(problem)));
        await context.close();
      }
    });

    it('Escape asks before throwing away an edited form, and closes an untouched one at once', async () => {
      const username = uniqueName('escaper');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const { context, page } = await signedIn(stage, username);

      await page.getByRole('button', { name: 'New task' }).first().click();
      const editor = page.getByRole('dialog', { name: 'New task' });
      await editor.waitFor();
      await page.keyboard.press('Escape');
      await editor.waitFor({ state: 'detached' });

      await page.getByRole('button', { name: 'New task' }).first().click();
      await editor.getByLabel('Title').fill('Half a thought');
      await page.keyboard.press('Escape');
      const question = page.getByRole('dialog', { name: 'Discard your changes?' });
      await question.waitFor();
      await question.getByRole('button', { name: 'Keep editing' }).click();
      await question.waitFor({ state: 'hidden' });
      expect(await editor.getByLabel('Title').inputValue()).toBe('Half a thought');

      await editor.getByLabel('Title').focus();
      await page.keyboard.press('Escape');
      await question.waitFor();
      // Escape on the question itself is "keep editing", not a second question.
      await page.keyboard.press('Escape');
      await question.waitFor({ state: 'hidden' });
      expect(await editor.getByLabel('Title').inputValue()).toBe('Half a thought');

      await editor.getByLabel('Title').focus();
      await page.keyboard.press('Escape');
      await question.getByRole('button', { name: 'Discard changes' }).click();
      await editor.waitFor({ state: 'detached' });
      await heading(page, 'All tasks');
      await context.close();
    });

    it('a long unbroken title wraps inside the Undo notice of its delete, which keeps its button on screen', async () => {
      const username = uniqueName('longword');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const token = await apiLogin(stage.baseUrl, username, PASSWORD);
      const title = 'x'.repeat(200);
      await createTask(stage.baseUrl, token, { title });
      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 390, height: 844 },
      ]) {
        const { context, page } = await signedIn(stage, username, { viewport });
        await page.getByRole('button', { name: `Delete ${title}` }).click();
        const notice = page.locator('.toast', { hasText: 'deleted.' });
        await notice.waitFor();
        const fits = await notice.evaluate((element) => {
          const box = element.getBoundingClientRect();
          const inside = Array.from(element.querySelectorAll('*')).every((child) => child.getBoundingClientRect().right <= box.right + 0.5);
          return element.scrollWidth <= element.clientWidth && box.right <= window.innerWidth && inside;
        });
        expect(fits).toBe(true);
        await notice.getByRole('button', { name: 'Undo' }).click();
        await page.locator('.task-title', { hasText: title }).waitFor();
        await context.close();
      }
    });
  });

  describe('accessible names contain the visible text', () => {
    it('admin users and account, in English and Spanish: no axe violations (label-content-name-mismatch among them)', async () => {
      for (const name of ['axe_ana', 'axe_bruno']) await registerUser(stage.baseUrl, name, PASSWORD);
      // Another session of the admin's, so the account page lists one to end.
      await apiLogin(stage.baseUrl, ADMIN.username, ADMIN.password);
      for (const locale of ['en-GB', 'es-ES']) {
        const { context, page } = await stage.newContext({ locale });
        await page.goto('/sign-in?next=%2Fadmin%2Fusers');
        await page.locator('input[name="username"]').fill(ADMIN.username);
        await page.locator('input[name="password"]').fill(ADMIN.password);
        await page.locator('button[type="submit"]').click();
        await waitForPath(page, '/admin/users');
        await page.locator('tbody tr[data-username="axe_bruno"]').waitFor();
        await expectAccessible(page, `admin users (${locale})`);

        await page.goto('/account');
        await page.locator('.session').nth(1).waitFor();
        await expectAccessible(page, `account (${locale})`);
        await context.close();
      }
    });
  });

  describe('the first load', () => {
    it('transfers the console’s JavaScript and CSS brotli-compressed, a fraction of their size', async () => {
      const { context, page } = await stage.newContext();
      const encodings = new Map<string, string | undefined>();
      page.on('response', (response) => {
        if (/\/assets\/.+\.(js|css)$/.test(response.url())) encodings.set(response.url(), response.headers()['content-encoding']);
      });
      await page.goto('/sign-in');
      await heading(page, 'Sign in');
      expect(encodings.size).toBeGreaterThan(0);
      for (const [url, encoding] of encodings) expect(encoding, url).toBe('br');
      const scripts = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((entry) => entry.name.endsWith('.js'))
          .map((entry) => {
            const timing = entry as PerformanceResourceTiming;
            return { transferred: timing.transferSize, decoded: timing.decodedBodySize };
          }),
      );
      const transferred = scripts.reduce((sum, script) => sum + script.transferred, 0);
      const decoded = scripts.reduce((sum, script) => sum + script.decoded, 0);
      console.info(`console first load: ${(transferred / 1024).toFixed(1)} kB of JavaScript transferred for ${(decoded / 1024).toFixed(1)} kB`);
      expect(transferred).toBeLessThan(decoded / 3);
      await context.close();
    });

    it('a signed-in reload without the cache puts the first task on screen, and says how long that took and what it transferred', async () => {
      const username = uniqueName('firstload');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const token = await apiLogin(stage.baseUrl, username, PASSWORD);
      for (const title of ['First on screen', 'Second']) await createTask(stage.baseUrl, token, { title });
      const { context, page } = await signedIn(stage, username);
      // Marks the moment the first task row is drawn, from the page's own clock.
      await page.addInitScript(() => {
        new MutationObserver((_changes, observer) => {
          if (!document.querySelector('.task')) return;
          (window as unknown as { firstTaskAt?: number }).firstTaskAt = performance.now();
          observer.disconnect();
        }).observe(document, { childList: true, subtree: true });
      });
      // As a first visit would: nothing from the browser's cache.
      const devtools = await context.newCDPSession(page);
      await devtools.send('Network.enable');
      await devtools.send('Network.setCacheDisabled', { cacheDisabled: true });
      const scriptRequests = new Set<string>();
      let scriptBytes = 0;
      devtools.on('Network.responseReceived', (event) => {
        if (/\/assets\/.+\.js$/.test(event.response.url)) scriptRequests.add(event.requestId);
      });
      devtools.on('Network.loadingFinished', (event) => {
        if (scriptRequests.has(event.requestId)) scriptBytes += event.encodedDataLength;
      });
      await page.reload();
      await page.locator('.task').first().waitFor();
      const timing = await page.evaluate(() => {
        const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { firstTask: (window as unknown as { firstTaskAt?: number }).firstTaskAt ?? null, domContentLoaded: navigation.domContentLoadedEventEnd };
      });
      console.info(
        `console signed-in reload: first task on screen at ${timing.firstTask?.toFixed(0)} ms (DOMContentLoaded ${timing.domContentLoaded.toFixed(0)} ms), ${(scriptBytes / 1024).toFixed(1)} kB of JavaScript transferred`,
      );
      expect(timing.firstTask).not.toBeNull();
      expect(scriptBytes).toBeGreaterThan(0);
      expect(timing.firstTask!).toBeGreaterThanOrEqual(timing.domContentLoaded);
      await context.close();
    });
  });

  describe('nothing cut off', () => {
    it('the filters show their whole choices in Spanish, and the admin tabs all fit a phone', async () => {
      for (const viewport of [
        { width: 1280, height: 800 },
        { width: 390, height: 844 },
      ]) {
        const { context, page } = await stage.newContext({ locale: 'es-ES', viewport });
        await page.goto('/sign-in?next=%2Fadmin%2Ftasks');
        await page.locator('input[name="username"]').fill(ADMIN.username);
        await page.locator('input[name="password"]').fill(ADMIN.password);
        await page.locator('button[type="submit"]').click();
        await waitForPath(page, '/admin/tasks');
        await page.locator('.filters select').first().waitFor();

        const tabs = await page.locator('.subnav-link').evaluateAll((links) =>
          links.map((link) => {
            const box = link.getBoundingClientRect();
            const list = (link.closest('ul') as HTMLElement).getBoundingClientRect();
            return { text: link.textContent, inside: box.left >= list.left - 0.5 && box.right <= list.right + 0.5 && box.right <= window.innerWidth };
          }),
        );
        expect(tabs.length).toBeGreaterThanOrEqual(5);
        expect(
          tabs.filter((tab) => !tab.inside),
          `${viewport.width}px`,
        ).toEqual([]);
        for (const path of ['/admin/tasks', '/tasks']) {
          if (path !== '/admin/tasks') await page.goto(path);
          expect(await selectsCutOff(page), `${path} at ${viewport.width}px`).toEqual([]);
        }
        await context.close();
      }
    });
  });

  describe('the theme', () => {
    it('is the system’s until the reader picks light or dark, which is remembered, in English and Spanish, accessible either way', async () => {
      const username = uniqueName('nightowl');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const { context, page } = await signedIn(stage, username, { colorScheme: 'light' });
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const LIGHT = 'rgb(245, 246, 248)';
      const DARK = 'rgb(20, 22, 26)';
      await heading(page, 'All tasks');
      expect(await background()).toBe(LIGHT);

      await page.getByLabel('Theme').selectOption({ label: 'Dark' });
      await expect.poll(background).toBe(DARK);
      await expectAccessible(page, 'tasks, dark by choice');
      await page.reload();
      await heading(page, 'All tasks');
      expect(await background()).toBe(DARK);
      expect(await page.getByLabel('Theme').inputValue()).toBe('dark');

      // Light by choice wins over a dark system.
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.getByLabel('Theme').selectOption({ label: 'Light' });
      await expect.poll(background).toBe(LIGHT);
      await page.getByLabel('Theme').selectOption({ label: 'System' });
      await expect.poll(background).toBe(DARK);

      await page.getByLabel('Language').selectOption({ label: 'Español' });
      await page.getByLabel('Tema').selectOption({ label: 'Oscuro' });
      await page.goto('/sign-in');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.getByLabel('Tema').waitFor();
      expect(await background()).toBe(DARK);
      await context.close();
    });
  });

  describe('other sessions', () => {
    it('are all signed out in one click, and this browser stays signed in', async () => {
      const username = uniqueName('lostphone');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const phone = await apiLogin(stage.baseUrl, username, PASSWORD);
      await apiLogin(stage.baseUrl, username, PASSWORD);
      const { context, page } = await signedIn(stage, username);
      await page.getByRole('link', { name: 'Account', exact: true }).click();
      await heading(page, 'Account');
      await expect.poll(() => page.locator('.session').count()).toBe(3);

      await page.getByRole('button', { name: 'Sign out other sessions' }).click();
      await page.getByText('Signed out of 2 other sessions.').waitFor();
      await expect.poll(() => page.locator('.session').count()).toBe(1);
      expect(await page.getByRole('button', { name: 'Sign out other sessions' }).count()).toBe(0);
      const me = await fetch(`${stage.baseUrl}/api/auth/me`, { headers: { authorization: `Bearer ${phone}` } });
      expect(me.status).toBe(401);

      await page.reload();
      await heading(page, 'Account');
      await context.close();
    });
  });

  describe('keyboard shortcuts', () => {
    it('move between rows, mark done, edit, delete, search and create from the keyboard, with a ? sheet, never while typing', async () => {
      const username = uniqueName('keyboardist');
      await registerUser(stage.baseUrl, username, PASSWORD);
      const token = await apiLogin(stage.baseUrl, username, PASSWORD);
      for (const title of ['Oldest', 'Middle', 'Newest']) await createTask(stage.baseUrl, token, { title });
      const { context, page } = await signedIn(stage, username);
      await page.locator('.task-title', { hasText: 'Oldest' }).waitFor();
      const focusedTitle = () => page.evaluate(() => document.activeElement?.closest('[data-task-id]')?.querySelector('.task-open')?.textContent ?? null);

      await page.locator('main h1').focus();
      await page.keyboard.press('j');
      expect(await focusedTitle()).toBe('Newest');
      await page.keyboard.press('j');
      expect(await focusedTitle()).toBe('Middle');
      await page.keyboard.press('k');
      await page.keyboard.press('ArrowDown');
      expect(await focusedTitle()).toBe('Middle');

      await page.keyboard.press('x');
      await expect.poll(() => page.getByRole('button', { name: 'Done: Middle' }).getAttribute('aria-pressed')).toBe('true');
      // The form below must open on the version the server saved, not the one shown optimistically.
      await callsSettled(page);

      await page.keyboard.press('e');
      const editor = page.getByRole('dialog', { name: 'Edit task' });
      expect(await editor.getByLabel('Title').inputValue()).toBe('Middle');
      // Typing in a field is typing, not shortcuts.
      await editor.getByLabel('Title').fill('');
      await editor.getByLabel('Title').pressSequentially('Mixed jxe?');
      expect(await editor.getByLabel('Title').inputValue()).toBe('Mixed jxe?');
      expect(await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).count()).toBe(0);
      await editor.getByRole('button', { name: 'Save changes' }).click();
      await editor.waitFor({ state: 'detached' });
      await page.locator('.task-title', { hasText: 'Mixed jxe?' }).waitFor();

      // Delete goes at once with an Undo; Z takes it back.
      await page.locator('main h1').focus();
      await page.keyboard.press('j');
      const first = (await page.locator('.task-title').allTextContents())[0];
      await page.keyboard.press('Delete');
      await expect.poll(async () => (await page.locator('.task-title').allTextContents()).includes(first!)).toBe(false);
      await page.keyboard.press('z');
      await expect.poll(async () => (await page.locator('.task-title').allTextContents())[0]).toBe(first);

      await page.keyboard.press('?');
      const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
      await sheet.getByText('Mark the task done, or not done').waitFor();
      await expectAccessible(page, 'the shortcuts sheet');
      await page.keyboard.press('Escape');
      await sheet.waitFor({ state: 'hidden' });

      await page.locator('main h1').focus();
      await page.keyboard.press('/');
      await page.keyboard.type('nope');
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value)).toBe('nope');
      expect(await page.getByRole('dialog', { name: 'New task' }).count()).toBe(0);

      await page.locator('main h1').focus();
      await page.keyboard.press('n');
      await page.getByRole('dialog', { name: 'New task' }).getByLabel('Title').waitFor();
      await context.close();
    });
  });
});
