/**
 * @module The dashboard in a real browser for a test file: the built web app (`web/dist`) served by a real server on
 * the file's test database, and Debian Chromium driven by playwright-core (never a downloaded browser). Registers its
 * own `beforeAll`/`afterAll`; pages are signed in with a token, screenshots go to `test-results/web/` (kept by CI as
 * artefacts).
 *
 * ### Examples
 * ```ts
 * const t = useTestDatabase(dialect);
 * const web = useBrowserDashboard(t, { dialect });
 * it('shows the board', async () => {
 *   const page = await web.signedIn(token, PHONE);
 *   await page.goto(`${web.base}/stories`);
 *   await web.shot(page, 'board');
 * });
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer, type ServerDeps } from '../../src/server/build-server.js';
import type { TestDatabase } from './dialects.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
export const SHOTS = path.join(ROOT, 'test-results', 'web');
/**
 * Debian's Chromium headless shell (package chromium-headless-shell, installed by `.ci/run`): the same Blink and V8 as
 * the full browser without its UI layers, as playwright itself runs headless tests, for about a fifth less CPU over
 * test/web/. Without it, the full browser (package chromium).
 */
const CHROMIUM =
  ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((bin) => fs.existsSync(bin)) ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The file's tabs share one renderer process: starting one per tab was most of the browser tests' CPU.
  '--process-per-site',
];
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1400, height: 900 };
/** How long a live update (over the event stream) may take to show. */
export const LIVE_MS = 8_000;

/**
 * Debian Chromium for a test file, with one browser context every tab of the file opens in (`openTab`): a tab's
 * sessionStorage, where the dashboard keeps its token, is its own; the app keeps nothing in cookies or localStorage.
 * playwright-core gives every launch a fresh temporary profile.
 */
export async function launchChromium(): Promise<{ browser: Browser; context: BrowserContext }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  return { browser, context: await browser.newContext({ viewport: DESKTOP }) };
}

/** A new tab of `context` at `viewport`, signed in with `token` when given (as the login form leaves it). */
export async function openTab(
  context: BrowserContext,
  viewport: { width: number; height: number },
  token?: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  // Browser code is passed as text: the root tsconfig has no DOM types.
  if (token !== undefined)
    await page.addInitScript(`sessionStorage.setItem('autodev.token', ${JSON.stringify(token)})`);
  page.on('pageerror', (error) => console.error('page error:', error.message));
  return page;
}

/** Closes the tabs a test opened: an open tab keeps its live stream and re-renders on every later test's events. */
export async function closeTabs(pages: Page[]): Promise<void> {
  for (const page of pages.splice(0)) await page.close().catch(() => undefined);
}

export interface BrowserDashboard {
  /** `http://127.0.0.1:<port>` of the server. */
  base: string;
  queue: TaskQueue;
  app: FastifyInstance;
  browser: Browser;
  /** A new tab (its own session storage), not signed in: the login page. */
  page(viewport?: { width: number; height: number }): Promise<Page>;
  /** A new tab signed in with `token`. */
  signedIn(token: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** A full-page screenshot `test-results/web/<dialect>-<name>.png`. */
  shot(page: Page, name: string): Promise<Buffer>;
  /** Elements sticking out to the right of the page (none: no sideways scrolling of the page). */
  overflowing(page: Page): Promise<unknown>;
}

/** Server options beyond the handle, queue, logger, version and web root (data dir, env, settings, ...). */
export type DashboardServerOptions = Partial<Omit<ServerDeps, 'handle' | 'queue' | 'logger' | 'version' | 'webRoot'>>;

export function useBrowserDashboard(
  t: TestDatabase,
  options: { dialect: string; server?: () => DashboardServerOptions },
): BrowserDashboard {
  const tabs: Page[] = [];
  let context: BrowserContext;
  const web = {} as BrowserDashboard;
  beforeAll(async () => {
    if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
      throw new Error('web/dist is missing: run "npm run build:web" (or "npm run build") before the browser tests');
    }
    fs.mkdirSync(SHOTS, { recursive: true });
    web.queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    web.app = await buildServer({
      handle: t.handle,
      queue: web.queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
      webRoot: WEB_DIST,
      ...options.server?.(),
    });
    await web.app.listen({ host: '127.0.0.1', port: 0 });
    const address = web.app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    web.base = `http://127.0.0.1:${address.port}`;
    ({ browser: web.browser, context } = await launchChromium());
  });
  afterEach(() => closeTabs(tabs));
  afterAll(async () => {
    await web.browser?.close();
    await web.app?.close();
    await web.queue?.close();
  });
  const newPage = async (viewport = DESKTOP, token?: string) => {
    const page = await openTab(context, viewport, token);
    tabs.push(page);
    return page;
  };
  web.page = (viewport) => newPage(viewport);
  web.signedIn = (token, viewport) => newPage(viewport, token);
  web.shot = (page, name) =>
    page.screenshot({ path: path.join(SHOTS, `${options.dialect}-${name}.png`), fullPage: true });
  web.overflowing = (page) =>
    page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((el) => !el.closest('.sr-only, .diff, .table-box, pre') && el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map((el) => el.tagName.toLowerCase() + (typeof el.className === 'string' ? '.' + el.className : ''))
      .slice(0, 5)`);
  return web;
}
