/**
 * @module `POST /webhooks/gitlab` and `POST /webhooks/github` (no bearer token: the forge proves itself with the
 * webhook secret). Order of checks: the secret is configured (503), the token/signature over the raw body (401), the
 * delivery id (400), the body is a JSON object both engines can store (400); then `webhooks/handle-delivery.ts`.
 * Answers: 200 when it acted, was a duplicate of something done, or is a replay; 202 when ignored (an event or action
 * Auto-Dev does not act on); 413 over `webhooks.max_body_bytes`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Settings } from '../../config/settings-schema.js';
import { jsonLimitProblem, unstorableTextProblem } from '../../domain/input-policy.js';
import { AutodevError } from '../../errors.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { eventName, parseGithubEvent, parseGitlabEvent } from '../../webhooks/forge-events.js';
import { handleDelivery, type FailedJobLogFetcher } from '../../webhooks/handle-delivery.js';
import type { RepositoryResolver } from '../../webhooks/resolve-repository.js';
import { verifyGithubSignature, verifyGitlabToken } from '../../webhooks/verify-delivery.js';
import { readWebhookSecret, type WebhookForge } from '../../webhooks/webhook-secrets.js';

export interface WebhooksOptions {
  queue: TaskQueue;
  settings: Settings;
  /** Where the webhook secrets are read (`webhooks/webhook-secrets.ts`). */
  env: Readonly<Record<string, string | undefined>>;
  fetchFailedJobLog?: FailedJobLogFetcher;
  resolveRepository?: RepositoryResolver;
}

/** The longest delivery id kept. */
const MAX_DELIVERY_ID_CHARS = 200;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export const webhooksPlugin: FastifyPluginAsync<WebhooksOptions> = async (app: FastifyInstance, options) => {
  const limit = options.settings.webhooks.max_body_bytes;
  // The signature covers the exact bytes sent: keep the raw body, whatever the content type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: { code?: string }) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      throw new AutodevError('PAYLOAD_TOO_LARGE', `a webhook delivery may be at most ${limit} bytes`);
    }
    throw error;
  });
  const deps = {
    queue: options.queue,
    workflow: workflowDeps(options.queue, options.settings.workflow.max_fix_rounds),
    settings: options.settings.webhooks,
    ...(options.fetchFailedJobLog ? { fetchFailedJobLog: options.fetchFailedJobLog } : {}),
    ...(options.resolveRepository ? { resolveRepository: options.resolveRepository } : {}),
  };

  const receive = (forge: WebhookForge) => async (request: FastifyRequest, reply: { code(n: number): unknown }) => {
    const secret = readWebhookSecret(forge, options.env);
    if (secret === undefined) {
      throw new AutodevError('WEBHOOK_NOT_CONFIGURED', `no ${forge} webhook secret is set; deliveries are refused`);
    }
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signed =
      forge === 'gitlab'
        ? verifyGitlabToken(header(request, 'x-gitlab-token'), secret)
        : verifyGithubSignature(raw, header(request, 'x-hub-signature-256'), secret);
    if (!signed) {
      throw new AutodevError(
        'WEBHOOK_SIGNATURE_INVALID',
        forge === 'gitlab'
          ? 'X-Gitlab-Token is missing or is not the secret token of this hook'
          : 'X-Hub-Signature-256 is missing or does not match the body signed with the webhook secret',
      );
    }
    const deliveryId =
      forge === 'gitlab'
        ? (header(request, 'idempotency-key') ?? header(request, 'x-gitlab-event-uuid'))
        : header(request, 'x-github-delivery');
    if (!deliveryId || deliveryId.length > MAX_DELIVERY_ID_CHARS || unstorableTextProblem(deliveryId)) {
      throw new AutodevError(
        'WEBHOOK_MALFORMED',
        forge === 'gitlab'
          ? `an Idempotency-Key or X-Gitlab-Event-UUID header (1 to ${MAX_DELIVERY_ID_CHARS} characters) is required`
          : `an X-GitHub-Delivery header (1 to ${MAX_DELIVERY_ID_CHARS} characters) is required`,
      );
    }
    const body = parseBody(raw);
    const eventHeader = header(request, forge === 'gitlab' ? 'x-gitlab-event' : 'x-github-event');
    const parsed = forge === 'gitlab' ? parseGitlabEvent(eventHeader, body) : parseGithubEvent(eventHeader, body);
    const result = await handleDelivery(deps, {
      forge,
      deliveryId,
      event: eventName(forge, eventHeader),
      parsed,
    });
    reply.code(result.outcome === 'ignored' ? 202 : 200);
    return { delivery_id: deliveryId, ...result };
  };

  // Hidden from /api/openapi.json: the forges' own documentation describes these bodies.
  app.post('/webhooks/gitlab', { bodyLimit: limit, schema: { hide: true } }, receive('gitlab'));
  app.post('/webhooks/github', { bodyLimit: limit, schema: { hide: true } }, receive('github'));
};

/** A JSON object whose every string both engines can store (no NUL, no lone surrogate). */
function parseBody(raw: Buffer): unknown {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AutodevError('WEBHOOK_MALFORMED', 'the delivery body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AutodevError('WEBHOOK_MALFORMED', 'the delivery body is not a JSON object');
  }
  const tooBig = jsonLimitProblem(body, { maxDepth: 64, maxBytes: Number.MAX_SAFE_INTEGER });
  if (tooBig) throw new AutodevError('WEBHOOK_MALFORMED', `the delivery body ${tooBig}`);
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      const problem = unstorableTextProblem(node);
      if (problem) throw new AutodevError('WEBHOOK_MALFORMED', `a text in the delivery ${problem}`);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) stack.push(key, value);
    }
  }
  return body;
}
