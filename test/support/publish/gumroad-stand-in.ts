/**
 * @module Stand-in for Gumroad's v2 API (gumroad.com cannot be reached from here), as its docs and official CLI
 * describe it: `{success, ...}` answers, `{success:false, message}` on failure; products listed, created as drafts
 * (price in cents), updated (files attached by the `file_url` of a completed upload) and enabled; uploads through
 * `POST /v2/files/presign` -> `PUT` of each part to an S3-style presigned URL (which refuses an Authorization header,
 * as S3 does: one auth mechanism) -> `POST /v2/files/complete` with the parts' ETags.
 */
import { createHash } from 'node:crypto';
import { credential, startStandIn, type StandInRequest, type StandInServer } from './stand-in-server.js';

interface Product {
  id: string;
  name: string;
  price: number;
  description: string;
  published: boolean;
  files: { name: string; url: string }[];
}

interface Upload {
  key: string;
  filename: string;
  size: number;
  parts: Map<number, Buffer>;
  fileUrl: string;
  completed: boolean;
}

export interface GumroadStandIn extends StandInServer {
  products: Product[];
  /** Content of a completed upload by its file URL. */
  fileContent: (url: string) => Buffer | undefined;
  created: () => number;
}

/** Bytes per presigned part: small, so a test file goes up in several parts. */
const PART_BYTES = 16;

export async function startGumroadStandIn(options: { token: string }): Promise<GumroadStandIn> {
  const products: Product[] = [];
  const uploads = new Map<string, Upload>();
  let next = 1;
  let created = 0;
  let base = () => '';
  const fail = (status: number, message: string) => ({ status, json: { success: false, message } });
  const view = (p: Product) => ({
    id: p.id,
    name: p.name,
    price: p.price,
    description: p.description,
    published: p.published,
    short_url: `https://seller.gumroad.com/l/${p.id}`,
    files: p.files,
  });
  const authed =
    (handle: (req: StandInRequest) => { status: number; json?: unknown; headers?: Record<string, string> }) =>
    (req: StandInRequest) =>
      credential(req) === options.token ? handle(req) : fail(401, 'The access token is invalid or has been revoked.');
  const productOf = (id: string | undefined) => products.find((p) => p.id === id);
  const server = await startStandIn((getBase) => {
    base = getBase;
    return [
      [
        'GET',
        /^\/v2\/products$/,
        authed(() => ({ status: 200, json: { success: true, products: products.map(view) } })),
      ],
      [
        'POST',
        /^\/v2\/products$/,
        authed((req) => {
          const body = (req.json ?? {}) as { name?: unknown; price?: unknown; description?: unknown };
          if (typeof body.name !== 'string' || body.name === '') return fail(400, 'Name is required.');
          if (typeof body.price !== 'number' || !Number.isInteger(body.price))
            return fail(400, 'Price (in cents) is required.');
          const product: Product = {
            id: `prod${next++}`,
            name: body.name,
            price: body.price,
            description: String(body.description ?? ''),
            published: false,
            files: [],
          };
          products.push(product);
          created += 1;
          return { status: 200, json: { success: true, product: view(product) } };
        }),
      ],
      [
        'PUT',
        /^\/v2\/products\/([^/]+)$/,
        authed((req) => {
          const product = productOf(req.params[0]);
          if (!product) return fail(404, 'The product was not found.');
          const body = (req.json ?? {}) as { files?: { url?: string; name?: string }[] };
          if (body.files) {
            const files: Product['files'] = [];
            for (const file of body.files) {
              const upload = [...uploads.values()].find((u) => u.fileUrl === file.url && u.completed);
              if (!upload) return fail(400, `No completed upload has the URL ${String(file.url)}.`);
              files.push({ name: file.name ?? upload.filename, url: upload.fileUrl });
            }
            product.files = files;
          }
          return { status: 200, json: { success: true, product: view(product) } };
        }),
      ],
      [
        'PUT',
        /^\/v2\/products\/([^/]+)\/enable$/,
        authed((req) => {
          const product = productOf(req.params[0]);
          if (!product) return fail(404, 'The product was not found.');
          product.published = true;
          return { status: 200, json: { success: true, product: view(product) } };
        }),
      ],
      [
        'POST',
        /^\/v2\/files\/presign$/,
        authed((req) => {
          const body = (req.json ?? {}) as { filename?: unknown; file_size?: unknown };
          if (typeof body.filename !== 'string' || typeof body.file_size !== 'number')
            return fail(400, 'filename and file_size are required.');
          const key = `attachments/${next++}/${body.filename}`;
          const uploadId = `upload-${next++}`;
          const count = Math.max(1, Math.ceil(body.file_size / PART_BYTES));
          uploads.set(uploadId, {
            key,
            filename: body.filename,
            size: body.file_size,
            parts: new Map(),
            fileUrl: `https://files.gumroad.com/${key}`,
            completed: false,
          });
          return {
            status: 200,
            json: {
              success: true,
              upload_id: uploadId,
              key,
              file_url: `https://files.gumroad.com/${key}`,
              parts: Array.from({ length: count }, (_, i) => ({
                part_number: i + 1,
                presigned_url: `${base()}/s3/${encodeURIComponent(key)}?partNumber=${i + 1}&uploadId=${uploadId}&X-Amz-Signature=stand-in`,
              })),
            },
          };
        }),
      ],
      [
        'PUT',
        /^\/s3\/(.+)$/,
        (req) => {
          if (req.headers.authorization) {
            return { status: 400, json: { Code: 'InvalidArgument', Message: 'Only one auth mechanism allowed' } };
          }
          const upload = uploads.get(req.query.get('uploadId') ?? '');
          if (!upload || upload.key !== req.params[0]) return { status: 404, json: { Code: 'NoSuchUpload' } };
          const part = Number(req.query.get('partNumber'));
          upload.parts.set(part, req.raw);
          return { status: 200, headers: { etag: `"${createHash('md5').update(req.raw).digest('hex')}"` } };
        },
      ],
      [
        'POST',
        /^\/v2\/files\/complete$/,
        authed((req) => {
          const body = (req.json ?? {}) as {
            upload_id?: string;
            key?: string;
            parts?: { part_number: number; etag: string }[];
          };
          const upload = uploads.get(body.upload_id ?? '');
          if (!upload || upload.key !== body.key) return fail(404, 'Upload not found.');
          for (const part of body.parts ?? []) {
            const data = upload.parts.get(part.part_number);
            if (!data || `"${createHash('md5').update(data).digest('hex')}"` !== part.etag)
              return fail(400, `Part ${part.part_number} does not match its ETag.`);
          }
          const total = [...upload.parts.values()].reduce((n, b) => n + b.length, 0);
          if (total !== upload.size) return fail(400, `Uploaded ${total} bytes, expected ${upload.size}.`);
          upload.completed = true;
          return { status: 200, json: { success: true, file_url: upload.fileUrl } };
        }),
      ],
    ];
  });
  const fileContent = (url: string) => {
    const upload = [...uploads.values()].find((u) => u.fileUrl === url && u.completed);
    return upload
      ? Buffer.concat([...upload.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b))
      : undefined;
  };
  return Object.assign(server, { products, fileContent, created: () => created });
}
