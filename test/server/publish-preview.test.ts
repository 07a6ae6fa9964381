/**
 * `GET /api/approvals/:id/preview` on both engines: a publish approval's preview of a real product directory under
 * the data directory (secrets looked up by name in the real environment provider; a canary value never appears), and
 * the refusals: unknown approval 404, another kind 409, no product directory (not written, or gone) 409, bad id 400.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PublishPreviewSchema } from '../../src/domain/project-schema.js';
import { DIALECTS } from '../support/dialects.js';
import { seedProject, seedProjectApproval } from '../support/project-fixtures.js';
import { writeProductDir } from '../support/publish/product-fixture.js';
import { errorOf, useTestServer } from './test-server.js';

const NPM_CANARY = 'canary-npm-route-8a2f5c1d';

describe.each(DIALECTS)('%s: publish preview route', (dialect) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-preview-route-'));
  const s = useTestServer(dialect, { dataDir, env: { NPM_TOKEN: NPM_CANARY } });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("answers a publish approval with its product's files, listings and plans; any token may read it", async () => {
    const product = writeProductDir({ dataDir });
    const projectId = await seedProject(s.db.handle.db, {
      name: product.name,
      status: 'awaiting_publish',
      targets: ['npm', 'github_release', 'gumroad', 'vercel', 'apify'],
      productDir: product.dir,
    });
    const approvalId = await seedProjectApproval(s.db.handle.db, projectId, 'publish');
    const response = await s.request({
      method: 'GET',
      url: `/api/approvals/${approvalId}/preview`,
      token: s.tokens.viewer,
    });
    expect(response.statusCode, response.body).toBe(200);
    const preview = PublishPreviewSchema.parse(response.json());
    expect(preview).toMatchObject({
      approval_id: approvalId,
      project_id: projectId,
      name: product.name,
      product_dir: product.dir,
    });
    expect(preview.files.map((f) => f.path)).toContain('package/index.js');
    expect(preview.listings.map((l) => l.file)).toContain('GUMROAD_LISTING.md');
    const npm = preview.plans.find((p) => p.target === 'npm')!;
    expect(npm.missing_secrets).toEqual([]);
    expect(preview.plans.find((p) => p.target === 'vercel')!.missing_secrets).toEqual(['vercel/token']);
    expect(response.body).not.toContain(NPM_CANARY);
    expect(preview.cache).toMatchObject({ state: 'computed' });
    // Reopening the card: the same content is answered from the server's cache.
    const again = await s.request({ method: 'GET', url: `/api/approvals/${approvalId}/preview` });
    expect(again.json()).toMatchObject({ ...preview, cache: { ...preview.cache, state: 'fresh' } });
  });

  it('refuses an unknown approval (404), a bad id (400) and an approval of another kind (409), writing nothing', async () => {
    const before = await s.rowCounts();
    const unknown = await s.request({ method: 'GET', url: '/api/approvals/999999/preview' });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('APPROVAL_NOT_FOUND');
    const bad = await s.request({ method: 'GET', url: '/api/approvals/abc/preview' });
    expect(bad.statusCode).toBe(400);
    const projectId = await seedProject(s.db.handle.db, { name: 'proposal-only' });
    const projectApproval = await seedProjectApproval(s.db.handle.db, projectId, 'project');
    const wrongKind = await s.request({ method: 'GET', url: `/api/approvals/${projectApproval}/preview` });
    expect(wrongKind.statusCode).toBe(409);
    expect(errorOf(wrongKind)).toEqual({
      code: 'APPROVAL_NOT_PUBLISH',
      message: expect.stringMatching(/is a project approval; only a publish approval has a publishing preview/),
    });
    expect(await s.rowCounts()).toEqual(before);
  });

  it('refuses with PRODUCT_DIR_MISSING when the product files are not written, are gone, or lie outside the data dir', async () => {
    const notWritten = await seedProject(s.db.handle.db, { name: 'not-written', status: 'building' });
    const a = await seedProjectApproval(s.db.handle.db, notWritten, 'publish');
    const first = await s.request({ method: 'GET', url: `/api/approvals/${a}/preview` });
    expect(first.statusCode).toBe(409);
    expect(errorOf(first)).toEqual({
      code: 'PRODUCT_DIR_MISSING',
      message: expect.stringMatching(/has no product directory yet/),
    });

    const gone = writeProductDir({ dataDir });
    const goneId = await seedProject(s.db.handle.db, { name: gone.name, productDir: gone.dir });
    fs.rmSync(gone.dir, { recursive: true });
    const b = await seedProjectApproval(s.db.handle.db, goneId, 'publish');
    const second = await s.request({ method: 'GET', url: `/api/approvals/${b}/preview` });
    expect(second.statusCode).toBe(409);
    expect(errorOf(second).message).toMatch(/is gone; rebuild the product/);

    // A product directory recorded outside <data-dir>/projects/<name>/ is never read.
    const elsewhere = writeProductDir();
    try {
      const outsideId = await seedProject(s.db.handle.db, { name: `${elsewhere.name}-x`, productDir: elsewhere.dir });
      const c = await seedProjectApproval(s.db.handle.db, outsideId, 'publish');
      const third = await s.request({ method: 'GET', url: `/api/approvals/${c}/preview` });
      expect(third.statusCode).toBe(409);
      expect(errorOf(third).message).toMatch(/is not <data-dir>\/projects\//);
    } finally {
      fs.rmSync(elsewhere.dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a product directory that is broken with PRODUCT_INVALID naming the problem', async () => {
    const product = writeProductDir({ dataDir });
    fs.writeFileSync(path.join(product.dir, 'product.json'), '{ not json');
    const id = await seedProject(s.db.handle.db, { name: product.name, productDir: product.dir });
    const approval = await seedProjectApproval(s.db.handle.db, id, 'publish');
    const response = await s.request({ method: 'GET', url: `/api/approvals/${approval}/preview` });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toEqual({
      code: 'PRODUCT_INVALID',
      message: expect.stringMatching(/product\.json is not valid JSON/),
    });
  });
});
