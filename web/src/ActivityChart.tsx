/**
 * @module The overview's activity chart: tasks completed and failed (stacked bars) and spend in USD (a line on its
 * own scale) per UTC day, drawn as inline SVG at the width it is given (no chart library), with a title, a text
 * summary and a hidden data table for screen readers. Refreshes when tasks finish or sessions end.
 */
import { useEffect, useRef, useState } from 'react';
import { api, type ActivityBucket } from './api.js';
import { ErrorNote, Loading, useLoad } from './ui.js';

const DAYS = 14;
const HEIGHT = 170;
const PAD = { top: 14, right: 44, bottom: 24, left: 30 };

/** The width of the element, followed as it changes (phone rotation, window resize). */
function useWidth<T extends HTMLElement>(fallback: number) {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const update = () => setWidth(Math.max(240, Math.floor(element.clientWidth)));
    update();
    const observer = new ResizeObserver(update);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

/** A round top for an axis: 1, 2, 5 x 10^n at or above `value`. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

const usd = (value: number) => (value >= 100 ? `$${Math.round(value)}` : `$${value.toFixed(2)}`);
const shortDay = (day: string) =>
  new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

export function ActivityChart() {
  const activity = useLoad(
    () => api<{ days: number; buckets: ActivityBucket[] }>(`/api/stats/activity?days=${DAYS}`),
    [],
    (e) => e.kind === 'task.completed' || e.kind === 'task.failed' || e.kind === 'session.finished',
    // The day rolls over at midnight UTC even when nothing happens.
    5 * 60_000,
  );
  const [ref, width] = useWidth<HTMLDivElement>(600);
  const buckets = activity.data?.buckets;

  let chart = null;
  const quiet = buckets?.every((b) => b.completed === 0 && b.failed === 0 && b.cost_usd === 0 && b.tokens === 0);
  if (buckets && quiet) {
    chart = (
      <p className="muted" data-testid="activity-empty">
        No task finished and nothing was spent in the last {buckets.length} days (UTC). The chart fills in as agents
        work.
      </p>
    );
  } else if (buckets && buckets.length > 0) {
    const totals = buckets.reduce(
      (sum, b) => ({
        completed: sum.completed + b.completed,
        failed: sum.failed + b.failed,
        cost: sum.cost + b.cost_usd,
        tokens: sum.tokens + b.tokens,
      }),
      { completed: 0, failed: 0, cost: 0, tokens: 0 },
    );
    const innerW = width - PAD.left - PAD.right;
    const innerH = HEIGHT - PAD.top - PAD.bottom;
    const step = innerW / buckets.length;
    const barW = Math.max(3, Math.min(28, step * 0.6));
    const taskMax = niceMax(Math.max(...buckets.map((b) => b.completed + b.failed)));
    const costMax = niceMax(Math.max(...buckets.map((b) => b.cost_usd)));
    const yTask = (n: number) => PAD.top + innerH - (n / taskMax) * innerH;
    const yCost = (n: number) => PAD.top + innerH - (n / costMax) * innerH;
    const xMid = (i: number) => PAD.left + step * i + step / 2;
    // As many day labels as fit (about 44 px each), always including today.
    const labelEvery = Math.max(1, Math.ceil(44 / step));
    const costPath = buckets.map(
      (b, i) => `${i === 0 ? 'M' : 'L'}${xMid(i).toFixed(1)},${yCost(b.cost_usd).toFixed(1)}`,
    );
    const summary =
      `Last ${buckets.length} days (UTC): ${totals.completed} tasks completed, ${totals.failed} failed, ` +
      `${usd(totals.cost)} spent, ${totals.tokens.toLocaleString()} tokens.`;

    chart = (
      <>
        <p className="chart-summary" id="activity-desc">
          {summary}
        </p>
        <ul className="legend" aria-hidden="true">
          <li>
            <span className="swatch swatch-completed" /> completed
          </li>
          <li>
            <span className="swatch swatch-failed" /> failed
          </li>
          <li>
            <span className="swatch swatch-cost" /> spend (USD, right scale)
          </li>
        </ul>
        <svg
          className="chart"
          width={width}
          height={HEIGHT}
          viewBox={`0 0 ${width} ${HEIGHT}`}
          role="img"
          aria-labelledby="activity-title activity-desc"
          data-testid="activity-chart"
        >
          <title id="activity-title">Tasks completed and spend per day</title>
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line
                className="gridline"
                x1={PAD.left}
                x2={width - PAD.right}
                y1={PAD.top + innerH * (1 - f)}
                y2={PAD.top + innerH * (1 - f)}
              />
              <text className="axis" x={PAD.left - 4} y={PAD.top + innerH * (1 - f) + 4} textAnchor="end">
                {Number.isInteger(taskMax * f) ? taskMax * f : ''}
              </text>
              <text className="axis axis-cost" x={width - PAD.right + 4} y={PAD.top + innerH * (1 - f) + 4}>
                {usd(costMax * f)}
              </text>
            </g>
          ))}
          {buckets.map((b, i) => {
            const x = xMid(i) - barW / 2;
            const hCompleted = yTask(0) - yTask(b.completed);
            const hFailed = yTask(0) - yTask(b.failed);
            return (
              <g key={b.day} data-testid={`bar-${b.day}`}>
                <title>
                  {`${shortDay(b.day)}: ${b.completed} completed, ${b.failed} failed, ${usd(b.cost_usd)}, ` +
                    `${b.tokens.toLocaleString()} tokens`}
                </title>
                {/* A full-height transparent target so the day's tooltip shows anywhere in its column. */}
                <rect className="hit" x={PAD.left + step * i} y={PAD.top} width={step} height={innerH} />
                {b.completed > 0 ? (
                  <rect className="bar-completed" x={x} y={yTask(b.completed)} width={barW} height={hCompleted} />
                ) : null}
                {b.failed > 0 ? (
                  <rect className="bar-failed" x={x} y={yTask(b.completed) - hFailed} width={barW} height={hFailed} />
                ) : null}
                {(buckets.length - 1 - i) % labelEvery === 0 ? (
                  <text className="axis" x={xMid(i)} y={HEIGHT - 6} textAnchor="middle">
                    {i === buckets.length - 1 ? 'today' : shortDay(b.day)}
                  </text>
                ) : null}
              </g>
            );
          })}
          <path className="cost-line" d={costPath.join(' ')} />
          {buckets.map((b, i) =>
            b.cost_usd > 0 ? (
              <circle key={b.day} className="cost-dot" cx={xMid(i)} cy={yCost(b.cost_usd)} r={2.5} />
            ) : null,
          )}
        </svg>
        <div className="sr-only">
          <table>
            <caption>Activity per day (UTC)</caption>
            <thead>
              <tr>
                <th>Day</th>
                <th>Completed</th>
                <th>Failed</th>
                <th>Spend (USD)</th>
                <th>Tokens</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.day}>
                  <td>{b.day}</td>
                  <td>{b.completed}</td>
                  <td>{b.failed}</td>
                  <td>{b.cost_usd.toFixed(2)}</td>
                  <td>{b.tokens}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    );
  }

  return (
    <section className="card chart-card" aria-label="Activity">
      <h2>Activity, last {DAYS} days</h2>
      <ErrorNote error={activity.error} />
      <div ref={ref} className="chart-box">
        {chart ?? (!activity.error && <Loading />)}
      </div>
    </section>
  );
}
