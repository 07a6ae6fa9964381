/**
 * @module The agents' tokens and cost (`GET /api/costs`), grouped by role, provider, day, story or task, since a
 * span back from now, with totals: a table that scrolls sideways on a phone, the totals above it. Types from
 * `src/domain/costs-schema.ts`; refreshes when a session ends.
 */
import type { CostGrouping } from '../../../src/domain/cost-grouping.js';
import type { CostsResponse } from '../../../src/domain/costs-schema.js';
import { api } from '../api.js';
import { Empty, ErrorNote, Link, Loading, navigate, useLoad } from '../ui.js';

const GROUPINGS: CostGrouping[] = ['role', 'provider', 'day', 'story', 'task'];
const SPANS: Array<[string, string]> = [
  ['', 'all time'],
  ['1d', 'last day'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
];

const usd = (value: number) => `$${value.toFixed(value > 0 && value < 0.01 ? 4 : 2)}`;
const count = (value: number) => value.toLocaleString('en-US');

function KeyCell({ by, row }: { by: CostGrouping; row: CostsResponse['rows'][number] }) {
  if (row.key === null) return <span className="muted">{row.label}</span>;
  if (by === 'task')
    return (
      <>
        <Link to={`/tasks/${row.key}`}>#{row.key}</Link> <span className="muted">{row.label}</span>
      </>
    );
  if (by === 'story')
    return (
      <>
        <Link to={`/stories/${row.key}`}>#{row.key}</Link> {row.label}
      </>
    );
  return <>{row.key}</>;
}

export default function Costs({ query }: { query: URLSearchParams }) {
  const by = (GROUPINGS as string[]).includes(query.get('by') ?? '') ? (query.get('by') as CostGrouping) : 'role';
  const since = query.get('since') ?? '';
  const costs = useLoad(
    () => api<CostsResponse>(`/api/costs?by=${by}${since ? `&since=${encodeURIComponent(since)}` : ''}`),
    [by, since],
    (e) => e.kind === 'session.finished' || e.kind === 'task.completed',
  );
  const go = (next: { by?: string; since?: string }) => {
    const params = new URLSearchParams({
      by: next.by ?? by,
      ...((next.since ?? since) ? { since: next.since ?? since } : {}),
    });
    navigate(`/costs?${params.toString()}`);
  };
  const data = costs.data;
  return (
    <div className="page">
      <h1>Costs</h1>
      <div className="filters">
        <label>
          By{' '}
          <select aria-label="Group by" value={by} onChange={(e) => go({ by: e.target.value })}>
            {GROUPINGS.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>{' '}
        <label>
          Since{' '}
          <select aria-label="Since" value={since} onChange={(e) => go({ since: e.target.value })}>
            {SPANS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={costs.error} />
      {data === undefined ? (
        costs.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <p className="totals" aria-label="Totals">
            <strong>{usd(data.totals.cost_usd)}</strong> over {count(data.totals.sessions)} session
            {data.totals.sessions === 1 ? '' : 's'}, {count(data.totals.tokens)} tokens
          </p>
          {data.rows.length === 0 ? (
            <Empty>No sessions {since ? 'in this span' : 'yet'}: costs appear once agents have run.</Empty>
          ) : (
            <div className="table-scroll">
              <table className="costs">
                <thead>
                  <tr>
                    <th>{by}</th>
                    <th>Sessions</th>
                    <th>Tokens</th>
                    <th>Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {data.rows.map((row) => (
                    <tr key={row.key ?? 'none'}>
                      <td>
                        <KeyCell by={by} row={row} />
                      </td>
                      <td>{count(row.sessions)}</td>
                      <td>{count(row.tokens)}</td>
                      <td>{usd(row.cost_usd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}
