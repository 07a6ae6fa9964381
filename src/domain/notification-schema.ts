/**
 * @module The notification outbox as the API shows it (`GET /api/notifications`): each queued webhook message with
 * its state (pending, retrying, delivered, failed), attempts and last error, and the webhook's URL only with its
 * secrets masked. A zod schema the server documents its answer with and the dashboard takes its types from (`import
 * type`). Imports only zod.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

/** `retrying`: pending after at least one failed attempt. */
export const NOTIFICATION_STATES = ['pending', 'retrying', 'delivered', 'failed'] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

export const NotificationSchema = z
  .object({
    id: z.int(),
    event: z.string().describe('approval_opened, waiting_for_human, rate_limited or budget_spent'),
    title: z.string(),
    path: z.string().describe('The dashboard path that shows what it is about'),
    target: z.string().describe('The webhook URL with its secrets masked'),
    state: z.enum(NOTIFICATION_STATES),
    attempts: z.int(),
    next_attempt_at: IsoTime.nullable().describe('When it is tried next; null once delivered or failed'),
    last_error: z.string().nullable(),
    created_at: IsoTime,
    updated_at: IsoTime,
    delivered_at: IsoTime.nullable(),
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof NotificationSchema>;

export const NotificationsSchema = z
  .object({
    counts: z.object({ pending: z.int(), retrying: z.int(), delivered: z.int(), failed: z.int() }),
    notifications: z.array(NotificationSchema).describe('Newest first'),
  })
  .meta({ id: 'Notifications' });
export type Notifications = z.infer<typeof NotificationsSchema>;
