/**
 * @module The webhook outbox on the overview (`GET /api/notifications`): how many messages are pending, retrying,
 * delivered and failed, and the latest ones with their target (secrets masked), attempts and last error. Hidden
 * while no webhook has ever been queued. Refreshes on the events that queue a notification and every 30 s.
 */
import type { Notifications as Outbox } from '../../src/domain/notification-schema.js';
import { api } from './api.js';
import { ErrorNote, Link, Status, time, useLoad } from './ui.js';

const QUEUEING_KINDS = ['approval.created', 'workflow.waiting_for_human', 'provider.rate_limited'];

export function NotificationsSection() {
  const outbox = useLoad(
    () => api<Outbox>('/api/notifications?limit=20'),
    [],
    (e) => QUEUEING_KINDS.includes(e.kind),
    30_000,
  );
  const data = outbox.data;
  if (outbox.error) return <ErrorNote error={outbox.error} />;
  if (!data || data.notifications.length === 0) return null;
  return (
    <section aria-label="Notifications">
      <h2>Notifications</h2>
      <p className="muted" data-testid="notification-counts">
        {data.counts.pending} pending, {data.counts.retrying} retrying, {data.counts.delivered} delivered,{' '}
        {data.counts.failed} failed
      </p>
      <div className="table-box">
        <table>
          <thead>
            <tr>
              <th>Queued</th>
              <th>Message</th>
              <th>Webhook</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {data.notifications.map((n) => (
              <tr key={n.id} data-testid={`notification-${n.id}`}>
                <td>{time(n.created_at)}</td>
                <td>
                  <Link to={n.path}>{n.title}</Link>
                </td>
                <td className="mono">{n.target}</td>
                <td>
                  <Status value={n.state} />
                  {n.next_attempt_at && n.state === 'retrying' ? (
                    <span className="muted"> next {time(n.next_attempt_at)}</span>
                  ) : null}
                </td>
                <td>{n.attempts}</td>
                <td>{n.last_error ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
