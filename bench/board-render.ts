/**
 * @module `npm run bench:board`: the story board's first render with AUTODEV_BENCH_STORIES (1,000) stories — a
 * SQLite database filled with stories at every stage, the server as `autodev up` builds it, Debian's Chromium
 * (playwright-core) opening `/stories` signed in, timed from navigation to the board's first page on screen (its
 * `DEFAULT_BOARD_PAGE` newest cards and, with more stories, the "Older stories" button; median of 3 fresh tabs) —
 * and the first-load bundle of the board (index.html, its script and stylesheet, the board's chunk) gzipped, against
 * the 150 kB budget. Prints both; exits 1 when the bundle is over budget. Needs `npm run build`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { createLogger } from '../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../src/queue/task-queue.js';
import { createApiToken } from '../src/server/api-tokens.js';
import { buildServer } from '../src/server/build-server.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open-database.js';
import { DEFAULT_BOARD_PAGE } from '../src/workflow/story-board.js';
import { formatTable, percentile } from './bench-report.js';

export const BUNDLE_BUDGET_BYTES = 150 * 1024;
const STAGES = ['story', 'spec', 'spec_approval', 'implement', 'gates', 'merge_approval', 'merge', 'deploy'] as const;

function findWebDist(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'web', 'dist');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('web/dist is missing: run "npm run build" first');
    dir = parent;
  }
}

/** The gzipped bytes a first visit to the board loads: index.html, what it links, and the board's lazy chunk. */
export function firstLoadBundle(webDist: string): { files: Array<[string, number]>; total: number } {
  const html = fs.readFileSync(path.join(webDist, 'index.html'), 'utf8');
  const linked = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  const board = fs.readdirSync(path.join(webDist, 'assets')).filter((f) => /^StoryBoard-.*\.(js|css)$/.test(f));
  const files = ['index.html', ...linked.map((p) => p.slice(1)), ...board.map((f) => `assets/${f}`)];
  const sized = [...new Set(files)].map((file): [string, number] => [
    file,
    zlib.gzipSync(fs.readFileSync(path.join(webDist, file))).length,
  ]);
  return { files: sized, total: sized.reduce((sum, [, bytes]) => sum + bytes, 0) };
}

export async function runBoardRenderBench(stories = Number(process.env.AUTODEV_BENCH_STORIES ?? 1000)) {
  const webDist = findWebDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-board-'));
  const handle = await openDatabase({ sqlitePath: path.join(dir, 'autodev.db') });
  const queue = new TaskQueue(handle, DEFAULT_QUEUE_SETTINGS);
  const app = await buildServer({
    handle,
    queue,
    logger: createLogger({ level: 'silent', pretty: false }),
    version: 'bench',
    webRoot: webDist,
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    await migrateToLatest(handle);
    const now = Date.now();
    const repo = await handle.db
      .insertInto('repositories')
      .values({
        name: 'bench-repo',
        forge: 'local',
        location: dir,
        default_branch: 'main',
        test_command: null,
        deploy_command: null,
        lint_command: null,
        settings: '{}',
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const rows = Array.from({ length: stories }, (_, i) => {
      const waiting = i % 10 === 9;
      const done = i % 10 === 8;
      const stage = waiting ? 'waiting_for_human' : done ? 'done' : STAGES[i % STAGES.length]!;
      const status = waiting ? ('waiting_for_human' as const) : done ? ('completed' as const) : ('running' as const);
      const gates = stage === 'merge_approval' ? { review: { passed: true, findings: [] } } : {};
      return {
        kind: 'story' as const,
        status,
        stage,
        title: `Story number ${i + 1}: make the thing do what it should`,
        body: 'A benchmark story.',
        repo_id: repo.id,
        state: JSON.stringify({ stage, status, round: i % 3, gates, specRejections: [], fixRounds: 0 }),
        created_by: 'bench',
        created_at: now - i * 60_000,
        updated_at: now,
      };
    });
    for (let i = 0; i < rows.length; i += 200)
      await handle.db
        .insertInto('workflows')
        .values(rows.slice(i, i + 200))
        .execute();
    const token = await createApiToken(handle.db, { name: 'bench', role: 'admin', now });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const url = `http://127.0.0.1:${address.port}/stories`;

    // The board shows the newest page and loads older ones on request (the paged board, issue 17).
    const firstPage = { cards: Math.min(stories, DEFAULT_BOARD_PAGE), more: stories > DEFAULT_BOARD_PAGE };
    const samples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript(`sessionStorage.setItem('autodev.token', ${JSON.stringify(token)})`);
      const page = await context.newPage();
      await page.goto(url);
      // A function, not a string: the dashboard's Content-Security-Policy forbids eval. (No DOM types here.)
      const firstPageShown = ({ cards, more }: { cards: number; more: boolean }) => {
        const { document } = globalThis as unknown as {
          document: {
            querySelectorAll(selector: string): { length: number } & Iterable<{ textContent: string | null }>;
          };
        };
        if (document.querySelectorAll('.story-card').length !== cards) return false;
        return !more || [...document.querySelectorAll('button')].some((b) => b.textContent === 'Older stories');
      };
      await page.waitForFunction(firstPageShown, firstPage, { timeout: 60_000, polling: 'raf' });
      // Navigation start to the board's first page in the DOM, by the page's own clock.
      samples.push(await page.evaluate(() => performance.now()));
      if (process.env.AUTODEV_BENCH_TRACE === '1') {
        const api = await page.evaluate(() =>
          performance
            .getEntriesByType('resource')
            .map(
              (e) => `${e.name.replace(/^https?:\/\/[^/]+/, '')} ${Math.round(e.startTime)}+${Math.round(e.duration)}`,
            ),
        );
        process.stderr.write(`${api.join('\n')}\n`);
      }
      await context.close();
    }
    const bundle = firstLoadBundle(webDist);
    const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
    const report = [
      `Story board first render: ${stories} stories, navigation to the first page on screen (${firstPage.cards} ` +
        `newest cards${firstPage.more ? ' and "Older stories"' : ''}; 3 fresh tabs, Chromium; ` +
        `${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)})`,
      formatTable(
        ['stories', 'median ms', 'max ms', 'target'],
        [[stories, Math.round(percentile(samples, 50)), Math.round(Math.max(...samples)), '< 1000 ms']],
      ),
      `First-load bundle of the board, gzipped: ${kB(bundle.total)} (budget ${kB(BUNDLE_BUDGET_BYTES)}): ` +
        bundle.files.map(([file, bytes]) => `${file} ${kB(bytes)}`).join(', '),
    ].join('\n');
    return { report, overBudget: bundle.total > BUNDLE_BUDGET_BYTES };
  } finally {
    await browser.close();
    await app.close();
    await queue.close();
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runBoardRenderBench().then(
    ({ report, overBudget }) => {
      process.stdout.write(`${report}\n`);
      if (overBudget) process.stderr.write('the first-load bundle is over its 150 kB budget\n');
      process.exit(overBudget ? 1 : 0);
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
