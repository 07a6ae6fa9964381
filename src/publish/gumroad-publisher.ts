/**
 * @module Publishes a product on Gumroad through its v2 API (`Authorization: Bearer`, never the `access_token`
 * query parameter, which would put the token in URLs): the product is created as a draft (`POST /v2/products`, the
 * `GUMROAD_LISTING.md` listing as its description, price in cents), each file goes up through a presigned upload
 * (`POST /v2/files/presign`, `PUT` of each part to its presigned URL without our token, `POST /v2/files/complete`),
 * the files are attached (`PUT /v2/products/:id`), and the product is enabled (`PUT /v2/products/:id/enable`).
 * Idempotent: the product is found by name first; a published one is `already_published`, a draft continues, a file
 * already attached (by name) is not uploaded again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AutodevError } from '../errors.js';
import { sendRequest } from './http-client.js';
import { describeFile, safeProductPath, type Product } from './product-dir.js';
import {
  joinUrl,
  secretPlaceholder,
  type PublishContext,
  type Publisher,
  type PublishEndpoints,
  type PublishPlan,
  type PublishResult,
} from './publisher.js';

export const GUMROAD_TOKEN = 'gumroad/access_token';

interface GumroadProduct {
  id: string;
  name: string;
  published: boolean;
  short_url: string;
  files?: { name: string; url?: string }[];
}

function gumroadConfig(product: Product) {
  const config = product.manifest.targets.gumroad;
  if (!config) throw new AutodevError('PRODUCT_INVALID', `product ${product.name} has no gumroad target`);
  return config;
}

const api = (endpoints: PublishEndpoints, route: string) => joinUrl(endpoints.gumroadApi, `v2/${route}`);

/** Gumroad answers `{success:false,message}` (sometimes with 200): that is a failure too. */
function expectSuccess(step: string, json: unknown): Record<string, unknown> {
  const body = (json ?? {}) as Record<string, unknown>;
  if (body.success !== true) {
    const message = typeof body.message === 'string' ? body.message : 'no success in the answer';
    throw new AutodevError('PUBLISH_FAILED', `${step}: Gumroad refused: ${message}`);
  }
  return body;
}

/** Splits `data` into the presigned parts' pieces, in order. */
function partsOf(data: Buffer, count: number): Buffer[] {
  const size = Math.max(1, Math.ceil(data.length / Math.max(1, count)));
  return Array.from({ length: Math.max(1, count) }, (_, i) => data.subarray(i * size, (i + 1) * size));
}

export const gumroadPublisher: Publisher = {
  target: 'gumroad',
  secretNames: [GUMROAD_TOKEN],

  async plan(product: Product, endpoints: PublishEndpoints): Promise<PublishPlan> {
    const config = gumroadConfig(product);
    const auth = `Bearer ${secretPlaceholder(GUMROAD_TOKEN)}`;
    const files = await Promise.all(config.files.map((file) => describeFile(product, file)));
    return {
      target: 'gumroad',
      secrets: [GUMROAD_TOKEN],
      requests: [
        {
          method: 'GET',
          url: api(endpoints, 'products'),
          body: { auth },
          note: `find the product named "${product.title}"`,
        },
        {
          method: 'POST',
          url: api(endpoints, 'products'),
          body: { name: product.title, price: config.price_cents, description: 'GUMROAD_LISTING.md', auth },
          note: 'only if no product has the name; created as a draft',
        },
        ...files.flatMap((file) => [
          {
            method: 'POST',
            url: api(endpoints, 'files/presign'),
            body: { filename: path.basename(file.path), file_size: file.size, auth },
            note: 'only if the product has no file of that name',
          },
          { method: 'PUT', url: '<presigned_url of each part>', body: { file: file.path } },
          {
            method: 'POST',
            url: api(endpoints, 'files/complete'),
            body: { upload_id: '<upload_id>', key: '<key>', auth },
          },
        ]),
        {
          method: 'PUT',
          url: api(endpoints, 'products/<id>'),
          body: { files: files.map((f) => path.basename(f.path)), auth },
        },
        { method: 'PUT', url: api(endpoints, 'products/<id>/enable'), body: { auth } },
      ],
      files,
    };
  },

  async publish(product, secrets, context: PublishContext): Promise<PublishResult> {
    const token = secrets[GUMROAD_TOKEN];
    if (!token) throw new AutodevError('PUBLISH_SECRET_MISSING', `gumroad: the secret ${GUMROAD_TOKEN} is not set`);
    const config = gumroadConfig(product);
    const { endpoints, signal } = context;
    const list = await sendRequest({
      step: 'find_product',
      method: 'GET',
      url: api(endpoints, 'products'),
      token,
      signal,
    });
    const products = (expectSuccess('find_product', list.json).products ?? []) as GumroadProduct[];
    const found = products.find((p) => p.name === product.title);
    if (found?.published) return { target: 'gumroad', status: 'already_published', url: found.short_url };
    const draft =
      found ??
      (await context.journal.step('create_product', async () => {
        const created = await sendRequest({
          step: 'create_product',
          method: 'POST',
          url: api(endpoints, 'products'),
          token,
          signal,
          json: {
            name: product.title,
            price: config.price_cents,
            description: product.listings.gumroad,
            published: false,
          },
        });
        const p = expectSuccess('create_product', created.json).product as GumroadProduct;
        return { id: p.id, name: p.name, published: p.published, short_url: p.short_url, files: [] };
      }));
    const attached = new Map((draft.files ?? []).map((f) => [f.name, f.url ?? '']));
    for (const file of config.files) {
      const name = path.basename(file);
      if (attached.has(name)) continue;
      const uploaded = await context.journal.step(`upload_file:${name}`, async () => {
        const data = await fs.readFile(await safeProductPath(product.dir, file));
        const presign = await sendRequest({
          step: `upload_file:${name}`,
          method: 'POST',
          url: api(endpoints, 'files/presign'),
          token,
          signal,
          json: { filename: name, file_size: data.length },
        });
        const upload = expectSuccess(`upload_file:${name}`, presign.json) as {
          upload_id: string;
          key: string;
          parts: { part_number: number; presigned_url: string }[];
        };
        const pieces = partsOf(data, upload.parts.length);
        const etags: { part_number: number; etag: string }[] = [];
        for (const [index, part] of upload.parts.entries()) {
          // A presigned URL carries its own authorization: our token is not sent there.
          const put = await sendRequest({
            step: `upload_file:${name}`,
            method: 'PUT',
            url: part.presigned_url,
            body: pieces[index] ?? Buffer.alloc(0),
            headers: { 'content-type': 'application/octet-stream' },
            signal,
          });
          etags.push({ part_number: part.part_number, etag: put.headers.get('etag') ?? '' });
        }
        const complete = await sendRequest({
          step: `upload_file:${name}`,
          method: 'POST',
          url: api(endpoints, 'files/complete'),
          token,
          signal,
          json: { upload_id: upload.upload_id, key: upload.key, parts: etags },
        });
        return { name, url: String(expectSuccess(`upload_file:${name}`, complete.json).file_url) };
      });
      attached.set(name, uploaded.url);
    }
    await context.journal.step('attach_files', async () => {
      const response = await sendRequest({
        step: 'attach_files',
        method: 'PUT',
        url: api(endpoints, `products/${encodeURIComponent(draft.id)}`),
        token,
        signal,
        json: { files: [...attached].map(([name, url]) => ({ name, url })) },
      });
      expectSuccess('attach_files', response.json);
      return { files: [...attached.keys()] };
    });
    const enabled = await context.journal.step('enable_product', async () => {
      const response = await sendRequest({
        step: 'enable_product',
        method: 'PUT',
        url: api(endpoints, `products/${encodeURIComponent(draft.id)}/enable`),
        token,
        signal,
      });
      const p = expectSuccess('enable_product', response.json).product as GumroadProduct;
      return { short_url: p.short_url };
    });
    return { target: 'gumroad', status: 'published', url: enabled.short_url };
  },
};
