/**
 * @module The overview: agents (status with why an agent waits, task, provider, rate limits; those of gone processes
 * counted), whether any LLM provider can run (and what to do when none can), queue counts, tokens and cost today
 * against the budget, tasks completed and spend per day, and the events that arrived while the page was open.
 * Refreshes on live events.
 */
import { useEffect, useState } from 'react';
import { api, onLiveEvent, TASK_STATUSES, type AgentsResponse, type LiveEvent } from '../api.js';
import { ActivityChart } from '../ActivityChart.js';
import { NoProviderNotice, ProvidersCard, useProviders } from '../Providers.js';
import { NotificationsSection } from '../Notifications.js';
import type { TaskCounts } from '../../../src/domain/task-schema.js';
import { ago, Empty, ErrorNote, Link, Loading, Status, time, useLoad } from '../ui.js';

export default function Overview() {
  const agents = useLoad(
    () => api<AgentsResponse>('/api/agents'),
    [],
    (e) => e.kind.startsWith('agent.') || e.kind.startsWith('provider.') || e.kind === 'session.finished',
    15_000,
  );
  const counts = useLoad(
    () => api<TaskCounts>('/api/tasks/counts'),
    [],
    (e) => e.kind.startsWith('task.'),
  );
  const providers = useProviders();
  const [events, setEvents] = useState<LiveEvent[]>([]);
  useEffect(() => onLiveEvent((event) => setEvents((list) => [event, ...list].slice(0, 30))), []);

  const countsByStatus: Partial<Record<string, number>> = counts.data?.counts ?? {};
  const today = agents.data?.today;
  const budget = today && today.daily_budget > 0 ? today.daily_budget : null;
  const limits = new Map((agents.data?.provider_limits ?? []).map((l) => [l.provider, l]));
  const foldedText = describeFolded(agents.data?.folded);

  return (
    <div className="page">
      <h1>Overview</h1>
      <NoProviderNotice data={providers.data} />
      <div className="cards">
        <section className="card" aria-label="Queue">
          <h2>Queue</h2>
          <ErrorNote error={counts.error} />
          {counts.data ? (
            <dl className="counts">
              {TASK_STATUSES.map((status) => (
                <div key={status}>
                  <dt>
                    <Link to={`/tasks?status=${status}`}>{status.replace('_', ' ')}</Link>
                  </dt>
                  <dd data-testid={`count-${status}`}>{countsByStatus[status] ?? 0}</dd>
                </div>
              ))}
            </dl>
          ) : (
            !counts.error && <Loading />
          )}
        </section>
        <section className="card" aria-label="Usage today">
          <h2>Today (UTC)</h2>
          {today ? (
            <>
              <p className="big">
                {today.tokens.toLocaleString()} tokens
                {budget ? <span className="muted"> of {budget.toLocaleString()}</span> : null}
              </p>
              {budget ? (
                <div className="meter" role="meter" aria-valuenow={today.tokens} aria-valuemax={budget}>
                  <div style={{ width: `${Math.min(100, (today.tokens / budget) * 100)}%` }} />
                </div>
              ) : (
                <p className="muted">No daily budget (tokens.daily_budget is 0).</p>
              )}
              <p>${today.cost_usd.toFixed(2)} spent</p>
            </>
          ) : (
            !agents.error && <Loading />
          )}
        </section>
        <ProvidersCard providers={providers} />
      </div>
      <ActivityChart />

      <section aria-label="Agents">
        <h2>Agents</h2>
        <ErrorNote error={agents.error} />
        {agents.data && agents.data.agents.length === 0 ? (
          <Empty>
            {foldedText ? 'No agents are running.' : 'No agents have run yet.'} Start them with <code>autodev up</code>{' '}
            (or <code>autodev serve agent:ROLE</code>).
          </Empty>
        ) : null}
        {agents.data && agents.data.agents.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Role</th>
                <th>Instance</th>
                <th>Status</th>
                <th>Task</th>
                <th>Provider</th>
                <th>Heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {agents.data.agents.map((agent) => {
                const limit = agent.provider ? limits.get(agent.provider) : undefined;
                return (
                  <tr key={agent.instance_id} data-testid={`agent-${agent.instance_id}`}>
                    <td>{agent.role}</td>
                    <td className="mono">{agent.instance_id}</td>
                    <td>
                      <Status value={agent.status} />
                      {agent.detail ? <span className="muted"> {agent.detail}</span> : null}
                    </td>
                    <td>
                      {agent.current_task_id === null ? (
                        '—'
                      ) : (
                        <Link to={`/tasks/${agent.current_task_id}`}>#{agent.current_task_id}</Link>
                      )}
                    </td>
                    <td>
                      {agent.provider ?? '—'}
                      {limit ? <span className="warn"> rate limited until {time(limit.limited_until)}</span> : null}
                    </td>
                    <td title={agent.heartbeat_at}>{ago(agent.heartbeat_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
        {foldedText ? (
          <p className="muted" data-testid="agents-folded">
            {foldedText}
          </p>
        ) : null}
        {agents.data && agents.data.provider_limits.length > 0 ? (
          <ul className="limits">
            {agents.data.provider_limits.map((l) => (
              <li key={l.provider}>
                Provider <b>{l.provider}</b> is rate limited until {time(l.limited_until)} ({l.reason})
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      <NotificationsSection />

      <section aria-label="Recent events">
        <h2>Live events</h2>
        {events.length === 0 ? (
          <Empty>Nothing has happened since you opened this page; changes appear here as they happen.</Empty>
        ) : (
          <ul className="events">
            {events.map((e) => (
              <li key={e.id}>
                <span className="muted">{time(e.created_at)}</span> <b>{e.kind}</b> {e.subject_type}{' '}
                {e.subject_type === 'task' ? <Link to={`/tasks/${e.subject_id}`}>#{e.subject_id}</Link> : e.subject_id}{' '}
                <span className="muted">by {e.actor}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

/** `+ 16 stopped agents from earlier runs` (the rows of processes that are gone), or null when there are none. */
function describeFolded(folded: AgentsResponse['folded'] | undefined): string | null {
  if (!folded) return null;
  const parts = [
    ...(folded.stopped > 0 ? [`${folded.stopped} stopped`] : []),
    ...(folded.crashed > 0 ? [`${folded.crashed} crashed`] : []),
  ];
  if (parts.length === 0) return null;
  const total = folded.stopped + folded.crashed;
  return `+ ${parts.join(' and ')} agent${total === 1 ? '' : 's'} from earlier runs`;
}
