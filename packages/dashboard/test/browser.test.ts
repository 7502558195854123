/**
 * The dashboard in a real browser: headless Chromium (the Debian package, driven by
 * playwright-core) on the page served by a real controller, with the emulator and the receiver
 * behind it (`startStack`). A Flex call is placed and accepted through the emulator's TaskRouter;
 * the page must show its segment streaming, then paused (plugin API with the agent's token), then
 * the call gone from the live list after the hang-up and still found by the search box. With an
 * admin token the page asks for it and shows a wrong one's 401. Data with markup in it shows as
 * text. Every wait polls with a deadline (Playwright's `waitFor`); nothing sleeps.
 */
import { existsSync } from 'node:fs';
import { startStack, type Stack } from '@flex-streams/e2e';
import type { Emulator } from '@flex-streams/emulator';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ADMIN_TOKEN = 'dashboard-admin-token-0123456789';
/** The page polls every 2 s; a stream start goes through Twilio's (the emulator's) callbacks. */
const WAIT_MS = 15_000;

/** The part of the browser's `Storage` the test reads (the DOM types are not in this project). */
interface Storage {
  getItem(key: string): string | null;
}

let browser: Browser | undefined;

beforeAll(async () => {
  if (runInBrowser) {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }
});
afterAll(async () => {
  await browser?.close();
});

function theBrowser(): Browser {
  if (browser === undefined) throw new Error('Chromium was not launched');
  return browser;
}

async function openDashboard(stack: Stack): Promise<Page> {
  const page = await theBrowser().newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${stack.service.url}/dashboard`);
  return page;
}

/** A worker and a queued call reserved for them, accepted as Flex does. */
async function acceptedCall(emu: Emulator) {
  const tr = emu.taskrouter;
  const worker = tr.createWorker({ friendlyName: 'dashboard-agent', activity: 'Available' });
  const { callSid } = tr.placeQueuedCall({ from: '+15550001001', to: '+15550002002' });
  const deadline = Date.now() + WAIT_MS;
  let reservation = [...tr.reservations.values()].find(
    (r) => tr.tasks.get(r.taskSid)?.customerCallSid === callSid,
  );
  while (reservation === undefined) {
    if (Date.now() > deadline) throw new Error(`no reservation for ${callSid}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    reservation = [...tr.reservations.values()].find(
      (r) => tr.tasks.get(r.taskSid)?.customerCallSid === callSid,
    );
  }
  tr.accept(reservation.sid, worker.sid);
  return {
    callSid,
    taskSid: reservation.taskSid,
    reservationSid: reservation.sid,
    workerSid: worker.sid,
    token: tr.issueToken(worker.sid).token,
  };
}

// Skipped only on a developer machine without Debian's chromium; in CI (which installs it, .ci/run)
// a missing browser fails the launch loudly instead.
const runInBrowser = existsSync(CHROMIUM) || process.env.CI !== undefined;

describe.skipIf(!runInBrowser)('the dashboard in Chromium', () => {
  describe('without an admin token', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ strategy: 'rest', leg: 'customer', driver: 'taskrouter' });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('follows a Flex call: streaming, paused, gone after the hang-up, then found by search', async () => {
      const page = await openDashboard(stack);
      await page.locator('#live-count', { hasText: /^0$/ }).waitFor();
      await page.locator('#calls', { hasText: 'No live call.' }).waitFor();
      expect(await page.locator('#token-form').isVisible()).toBe(false);

      const call = await acceptedCall(stack.emulator);
      const article = page.locator(`#calls article[data-call-sid="${call.callSid}"]`);
      await article.locator('tr.stream[data-state="streaming"]').waitFor();
      await page.locator('#live-count', { hasText: /^1$/ }).waitFor();
      expect(await article.locator('h3').textContent()).toBe(`Call ${call.callSid}`);
      expect(await article.locator('p.meta').textContent()).toBe(`Task: ${call.taskSid}`);
      const row = article.locator('tr.segment-row');
      expect(await row.count()).toBe(1);
      const cells = await row.locator('th, td').allTextContents();
      expect(cells.slice(0, 4)).toEqual(['0', call.workerSid, 'none', 'active']);
      expect(cells[5]).toMatch(/^\d+ s$/);
      expect(await article.locator('tr.stream td').first().textContent()).toMatch(/\S/);
      expect(await article.locator('ul.pauses').count()).toBe(0);
      expect(await page.locator('#refreshed-at').textContent()).not.toBe('never');

      const paused = await fetch(`${stack.service.url}/v1/plugin/segments/pause`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${call.token}` },
        body: JSON.stringify({ reservationSid: call.reservationSid, reason: 'card number' }),
      });
      expect(paused.status).toBe(200);
      await article.locator('tr.segment-row[data-state="paused"]').waitFor();
      const pause = article.locator('li.pause.open');
      await pause.waitFor();
      expect(await pause.textContent()).toContain(`by ${call.workerSid}, reason: card number`);
      const run = article.locator('tr.stream[data-state="stopped"]');
      await run.waitFor();
      expect(await article.locator('tr.stream').count()).toBe(1);
      const runCells = await run.locator('td').allTextContents();
      expect(runCells[1]).toBe('stopped');
      expect(runCells[2]).toBe('0');
      expect(runCells[4]).toBe('paused');

      stack.emulator.taskrouter.hangup({ taskSid: call.taskSid, party: 'customer' });
      await article.waitFor({ state: 'detached' });
      await page.locator('#live-count', { hasText: /^0$/ }).waitFor();

      await page.locator('#search-input').fill(call.callSid);
      await page.locator('#search-form button[type="submit"]').click();
      const found = page.locator(`#search-result article[data-call-sid="${call.callSid}"]`);
      await found.locator('tr.segment-row[data-state="ended"]').waitFor();
      expect(await found.locator('li.pause').textContent()).toMatch(/^closed: /);
      expect(await page.locator('#search-status').isVisible()).toBe(false);

      // A malformed SID and an unknown one: the service's answer, plainly.
      await page.locator('#search-input').fill('CA-not-a-sid');
      await page.locator('#search-form button[type="submit"]').click();
      await page.locator('#search-status', { hasText: 'HTTP 400 FS_ERR_INVALID_INPUT' }).waitFor();
      expect(await page.locator('#search-result article').count()).toBe(0);
      const unknown = `CA${'0'.repeat(32)}`;
      await page.locator('#search-input').fill(unknown);
      await page.locator('#search-form button[type="submit"]').click();
      await page.locator('#search-status', { hasText: 'HTTP 404 FS_ERR_CALL_NOT_FOUND' }).waitFor();
      await page.close();
    }, 90_000);

    it('shows data with markup in it as text, and says plainly when the service is down', async () => {
      const page = await theBrowser().newPage();
      page.setDefaultTimeout(WAIT_MS);
      const evil = '<img src=x onerror=window.__xss=1>';
      const callSid = `CA${'ab'.repeat(16)}`;
      await page.route('**/v1/calls', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            live: 1,
            calls: [
              {
                callSid,
                segments: [
                  {
                    index: 0,
                    taskSid: `WT${'cd'.repeat(16)}`,
                    workerSid: `<b>${evil}</b>`,
                    transferMode: 'none',
                    state: 'active',
                    startedAt: Date.now() - 5_000,
                    endedAt: null,
                    endReason: null,
                    pauses: [],
                    streams: [],
                    errors: [
                      {
                        at: Date.now(),
                        code: 'FS_ERR_TWILIO_REJECTED',
                        twilioCode: 20404,
                        httpStatus: 404,
                        message: evil,
                      },
                    ],
                  },
                ],
              },
            ],
          }),
        }),
      );
      await page.goto(`${stack.service.url}/dashboard`);
      const error = page.locator(`article[data-call-sid="${callSid}"] li.error`);
      await error.waitFor();
      expect(await error.textContent()).toContain(`FS_ERR_TWILIO_REJECTED ${evil} (Twilio 20404)`);
      expect(await page.locator('tr.segment-row td').first().textContent()).toBe(`<b>${evil}</b>`);
      expect(await page.locator('img, b').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();

      // The service stops answering: the page says so instead of showing old data as current.
      await page.unroute('**/v1/calls');
      await page.route('**/v1/calls', (route) => route.abort('connectionrefused'));
      await page.locator('#status', { hasText: 'Service unreachable' }).waitFor();
      await page.close();
    }, 60_000);
  });

  describe('with an admin token', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({
        strategy: 'rest',
        leg: 'customer',
        driver: 'taskrouter',
        serviceEnv: { FLEX_STREAMS_ADMIN_TOKEN: ADMIN_TOKEN },
      });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('asks for the token, shows a wrong one refused, and the data with the right one', async () => {
      const page = await openDashboard(stack);
      const status = page.locator('#status');
      await status.filter({ hasText: 'HTTP 401 FS_ERR_ADMIN_TOKEN' }).waitFor();
      expect(await status.textContent()).toContain('Enter the admin token below.');
      await page.locator('#token-form').waitFor();
      expect(await page.locator('#live-count').textContent()).toBe('?');

      // A token no admin token can be (not visible ASCII): said so, and nothing sent with it.
      await page.locator('#token-input').fill('пароль-неверный-123');
      await page.locator('#token-form button[type="submit"]').click();
      await status.filter({ hasText: 'only visible ASCII' }).waitFor();

      await page.locator('#token-input').fill('a-wrong-token-0123456789');
      await page.locator('#token-form button[type="submit"]').click();
      await status.filter({ hasText: 'The token given was refused' }).waitFor();
      expect(await status.textContent()).toContain('HTTP 401 FS_ERR_ADMIN_TOKEN');

      const call = await acceptedCall(stack.emulator);
      await page.locator('#token-input').fill(ADMIN_TOKEN);
      await page.locator('#token-form button[type="submit"]').click();
      const article = page.locator(`#calls article[data-call-sid="${call.callSid}"]`);
      await article.locator('tr.stream[data-state="streaming"]').waitFor();
      expect(await page.locator('#live-count').textContent()).toBe('1');
      expect(await status.isVisible()).toBe(false);
      expect(await page.locator('#token-form').isVisible()).toBe(false);
      // Kept for the tab only, and sent as a bearer token.
      const stored = await page.evaluate(() => {
        const storage = (globalThis as unknown as { sessionStorage: Storage }).sessionStorage;
        return storage.getItem('flex-streams.adminToken');
      });
      expect(stored).toBe(ADMIN_TOKEN);
      await page.close();
    }, 60_000);
  });
});
