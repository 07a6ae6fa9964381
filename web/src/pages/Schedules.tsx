/**
 * @module The scheduler's recurring work, read-only: each schedule of settings.yaml with its cron, task type, next
 * slot and last fired run (`GET /api/schedules`). Refreshes when a slot fires (`schedule.fired`) and every minute.
 */
import type { Schedule } from '../../../src/domain/schedule-schema.js';
import { api } from '../api.js';
import { Empty, ErrorNote, Link, Loading, time, useLoad } from '../ui.js';

export default function Schedules() {
  const schedules = useLoad(
    () => api<{ schedules: Schedule[] }>('/api/schedules'),
    [],
    (e) => e.kind === 'schedule.fired',
    60_000,
  );
  const rows = schedules.data?.schedules;
  return (
    <div className="page">
      <h1>Schedules</h1>
      <p className="muted">
        Recurring work from <code>schedules:</code> in settings.yaml. Each slot fires once, however many schedulers run;
        slots missed while none ran fire once.
      </p>
      <ErrorNote error={schedules.error} />
      {rows === undefined ? (
        schedules.error ? null : (
          <Loading />
        )
      ) : rows.length === 0 ? (
        <Empty>No schedules.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Task</th>
              <th>Cron</th>
              <th>Enabled</th>
              <th>Next run</th>
              <th>Last run</th>
              <th>Tasks</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.name}>
                <td>{s.name}</td>
                <td>
                  {s.task_type}
                  {s.per_repository ? <span className="muted"> per repository</span> : null}
                </td>
                <td>
                  <code>{s.cron}</code> <span className="muted">{s.timezone}</span>
                </td>
                <td>{s.enabled ? 'yes' : 'no'}</td>
                <td>{s.next_run_at ? time(s.next_run_at) : '-'}</td>
                <td>{s.last_run ? time(s.last_run.slot_at) : 'never'}</td>
                <td>
                  {s.last_run && s.last_run.task_ids.length > 0
                    ? s.last_run.task_ids.map((id, i) => (
                        <span key={id}>
                          {i > 0 ? ', ' : ''}
                          <Link to={`/tasks/${id}`}>#{id}</Link>
                        </span>
                      ))
                    : '-'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
