/**
 * @module `GET /api/approvals/:id/preview` (any token): what a publishing approval would publish, for the dashboard's
 * approval card. The approval must be of kind `publish`; its project (subject `project`, else its workflow) names the
 * product directory, which is the only path read (nothing from the request): the product's files, its README and
 * listings, and each publisher's plan with the secrets the store lacks (names only; no secret value is read). The
 * previews are kept per product directory content (`publish/preview-cache.ts`): reopening the card is instant, and a
 * preview of a directory that changed since says it is stale.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { idText } from '../../domain/input-policy.js';
import { PublishPreviewSchema, type PublishPreview } from '../../domain/project-schema.js';
import { AutodevError } from '../../errors.js';
import { PreviewCache } from '../../publish/preview-cache.js';
import { productDirPath } from '../../publish/product-dir.js';
import type { PublishEndpoints } from '../../publish/publisher.js';
import type { SecretProvider } from '../../secrets/secret-provider.js';
import type { Database } from '../../store/schema.js';
import { getApproval } from '../../workflow/approvals.js';
import { getProject } from '../../workflow/projects.js';
import { ErrorResponseSchema } from '../error-handler.js';

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface PublishPreviewOptions {
  db: Kysely<Database>;
  /** Where the plans' secrets are looked up, by name (the server's `SecretStore`). */
  secrets: { provider: Pick<SecretProvider, 'list'>; prefix: string };
  /** The data directory: when given, a project's product directory must be `<data-dir>/projects/<name>/`. */
  dataDir?: string | undefined;
  endpoints?: Partial<PublishEndpoints> | undefined;
  /** The previews kept per product directory content (one per server; a new one when not given). */
  cache?: PreviewCache | undefined;
}

/** The preview of publishing approval `id`; 404 for an unknown approval, 409 for another kind or no product yet. */
export async function approvalPublishPreview(
  options: PublishPreviewOptions & { cache: PreviewCache },
  id: number,
): Promise<PublishPreview> {
  const approval = await getApproval(options.db, id);
  if (approval.kind !== 'publish') {
    throw new AutodevError(
      'APPROVAL_NOT_PUBLISH',
      `approval ${id} is a ${approval.kind} approval; only a publish approval has a publishing preview`,
    );
  }
  const projectId = approval.subject_type === 'project' ? Number(approval.subject_id) : approval.workflow_id;
  if (projectId === null || !Number.isInteger(projectId) || projectId < 1) {
    throw new AutodevError('PRODUCT_DIR_MISSING', `publish approval ${id} names no project`);
  }
  const project = await getProject(options.db, projectId);
  if (project.product_dir === null) {
    throw new AutodevError(
      'PRODUCT_DIR_MISSING',
      `project ${projectId} (${project.name}) has no product directory yet: its product files are not written`,
    );
  }
  const dir = path.resolve(project.product_dir);
  if (options.dataDir !== undefined && dir !== productDirPath(path.resolve(options.dataDir), project.name)) {
    throw new AutodevError(
      'PRODUCT_DIR_MISSING',
      `project ${projectId}'s product directory is not <data-dir>/projects/${project.name}; it is not read`,
    );
  }
  const stat = await fs.lstat(dir).catch(() => null);
  if (!stat?.isDirectory()) {
    throw new AutodevError(
      'PRODUCT_DIR_MISSING',
      `project ${projectId}'s product directory ${dir} is gone; rebuild the product before publishing it`,
    );
  }
  const preview = await options.cache.preview({
    productDir: dir,
    secrets: options.secrets,
    endpoints: options.endpoints,
  });
  return { approval_id: id, project_id: projectId, ...preview };
}

export const publishPreviewPlugin: FastifyPluginAsyncZod<PublishPreviewOptions> = async (app, options) => {
  const cached = { ...options, cache: options.cache ?? new PreviewCache() };
  app.addHook('onClose', () => cached.cache.settled());
  app.get(
    '/approvals/:id/preview',
    {
      schema: {
        summary:
          "A publishing approval's preview: the product's files, its listings as Markdown and what each publisher " +
          'will send (secrets by name; missing ones listed)',
        tags: ['approvals'],
        params: z.object({ id: idText('approval id') }),
        response: { 200: PublishPreviewSchema, ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => approvalPublishPreview(cached, request.params.id),
  );
};
