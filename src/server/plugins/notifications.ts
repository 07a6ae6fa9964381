/**
 * @module `GET /api/notifications` (viewer and up): the webhook outbox, newest first, with each message's state
 * (pending, retrying, delivered, failed), attempts, last error and the webhook URL with its secrets masked
 * (`notify/outbox-view.ts`); `?state=` keeps one state, `?limit=` (1..200, default 50) caps the list.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { NOTIFICATION_STATES, NotificationsSchema } from '../../domain/notification-schema.js';
import { wholeNumberText } from '../../domain/input-policy.js';
import { listNotifications } from '../../notify/outbox-view.js';
import type { Database } from '../../store/schema.js';
import { ErrorResponseSchema } from '../error-handler.js';

export const MAX_NOTIFICATIONS_LIMIT = 200;

const NotificationsQuery = z.strictObject({
  state: z.enum(NOTIFICATION_STATES).optional().describe('Only notifications in this state'),
  limit: wholeNumberText('limit', 1, MAX_NOTIFICATIONS_LIMIT)
    .default(50)
    .describe(`How many, newest first: 1 to ${MAX_NOTIFICATIONS_LIMIT}, default 50.`),
});

export const notificationsPlugin: FastifyPluginAsyncZod<{ db: Kysely<Database> }> = async (app, { db }) => {
  app.get(
    '/notifications',
    {
      schema: {
        summary: 'The webhook outbox: what was sent, is pending, retrying or failed',
        description:
          'Messages for `notify.webhooks` in settings.yaml. URLs are shown with their secrets masked; the full URL is ' +
          'never stored.',
        tags: ['notifications'],
        querystring: NotificationsQuery,
        response: { 200: NotificationsSchema, 400: ErrorResponseSchema, 401: ErrorResponseSchema },
      },
    },
    async (request) => listNotifications(db, request.query),
  );
};
