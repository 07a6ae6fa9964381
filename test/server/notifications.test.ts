/**
 * `GET /api/notifications`: the outbox's rows as people see them (pending, retrying, delivered, failed), the
 * webhook URL's secrets masked, ISO times, a state filter, and bad query input refused. Rows are queued and settled
 * through the outbox's own functions, as the notifier does. Both engines.
 */
import { describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import type { Notifications } from '../../src/domain/notification-schema.js';
import type { NotifyItem } from '../../src/notify/messages.js';
import { markAttemptFailed, markDelivered, queueNotification, takeDueNotifications } from '../../src/notify/outbox.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

const SECRET_URL = 'https://hooks.slack.com/services/T000/B000/s3cr3t-t0ken';
const settings = SettingsSchema.parse({
  notify: { webhooks: [{ url: SECRET_URL, format: 'slack' }], max_attempts: 2, retry_base_seconds: 60 },
}).notify;

const item = (n: number): NotifyItem => ({
  dedupeKey: `approval:${n}`,
  message: {
    event: 'approval_opened',
    title: `Approval ${n} is open`,
    text: 'spec of story 1',
    path: `/approvals#${n}`,
    subject: { type: 'approval', id: String(n) },
    at: new Date(0).toISOString(),
  },
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each(DIALECTS)('%s: GET /api/notifications', (dialect) => {
  const s = useTestServer(dialect);

  /** Four rows: #1 delivered, #2 retrying (one failed attempt), #3 failed (attempts spent), #4 pending. */
  async function seed(now: number) {
    const db = s.db.handle.db;
    for (const n of [1, 2, 3, 4]) await queueNotification(db, settings, item(n), now + n);
    const due = await takeDueNotifications(db, now + 10, 3);
    expect(due).toHaveLength(3);
    const [first, second, third] = due as [(typeof due)[0], (typeof due)[0], (typeof due)[0]];
    await markDelivered(db, first.id, now + 20);
    await markAttemptFailed(db, settings, second, 'HTTP 500 from https://hooks.slack.com/services/***', now + 20);
    await markAttemptFailed(db, settings, { ...third, attempts: 1 }, 'HTTP 404', now + 20);
  }

  it('shows each state, the masked URL and ISO times, newest first', async () => {
    const now = Date.UTC(2026, 11, 6, 10, 0, 0);
    await seed(now);
    const response = await s.request({ method: 'GET', url: '/api/notifications', token: s.tokens.viewer });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('s3cr3t');
    const body = response.json() as Notifications;
    expect(body.counts).toEqual({ pending: 1, retrying: 1, delivered: 1, failed: 1 });
    expect(body.notifications.map((n) => [n.title, n.state, n.attempts])).toEqual([
      ['Approval 4 is open', 'pending', 0],
      ['Approval 3 is open', 'failed', 2],
      ['Approval 2 is open', 'retrying', 1],
      ['Approval 1 is open', 'delivered', 1],
    ]);
    for (const n of body.notifications) {
      expect(n.target).toBe('https://hooks.slack.com/services/***');
      expect(n.event).toBe('approval_opened');
      expect(n.created_at).toMatch(ISO);
      expect(n.updated_at).toMatch(ISO);
    }
    const [pending, failed, retrying, delivered] = body.notifications as [
      Notifications['notifications'][0],
      Notifications['notifications'][0],
      Notifications['notifications'][0],
      Notifications['notifications'][0],
    ];
    expect(pending.next_attempt_at).toBe(new Date(now + 4).toISOString());
    expect(pending.path).toBe('/approvals#4');
    // The back-off has jitter: later than the failure, by up to the base delay (60 s) and then some.
    expect(Date.parse(retrying.next_attempt_at!)).toBeGreaterThan(now + 20);
    expect(retrying.last_error).toBe('HTTP 500 from https://hooks.slack.com/services/***');
    expect(failed.next_attempt_at).toBeNull();
    expect(failed.last_error).toBe('HTTP 404');
    expect(delivered.delivered_at).toBe(new Date(now + 20).toISOString());
    expect(delivered.next_attempt_at).toBeNull();
  });

  it('keeps one state with ?state= and caps the list with ?limit=', async () => {
    await seed(Date.now());
    const retrying = (await s.request({ method: 'GET', url: '/api/notifications?state=retrying' })).json();
    expect((retrying as Notifications).notifications.map((n) => n.title)).toEqual(['Approval 2 is open']);
    const pending = (await s.request({ method: 'GET', url: '/api/notifications?state=pending' })).json();
    expect((pending as Notifications).notifications.map((n) => n.title)).toEqual(['Approval 4 is open']);
    const limited = (await s.request({ method: 'GET', url: '/api/notifications?limit=2' })).json() as Notifications;
    expect(limited.notifications.map((n) => n.title)).toEqual(['Approval 4 is open', 'Approval 3 is open']);
    expect(limited.counts).toEqual({ pending: 1, retrying: 1, delivered: 1, failed: 1 });
  });

  it('answers an empty outbox with zero counts', async () => {
    const response = await s.request({ method: 'GET', url: '/api/notifications' });
    expect(response.json()).toEqual({
      counts: { pending: 0, retrying: 0, delivered: 0, failed: 0 },
      notifications: [],
    });
  });

  it('refuses an unknown state or limit with a clear error, and asks for a token', async () => {
    for (const url of ['/api/notifications?state=sent', '/api/notifications?limit=0', '/api/notifications?limit=x']) {
      const response = await s.request({ method: 'GET', url });
      expect(response.statusCode, url).toBe(400);
      expect(errorOf(response).code, url).toBe('VALIDATION_FAILED');
    }
    expect((await s.request({ method: 'GET', url: '/api/notifications', token: null })).statusCode).toBe(401);
  });
});
