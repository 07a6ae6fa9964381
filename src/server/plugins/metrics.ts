/**
 * @module `GET /metrics` (no token): Prometheus text exposition through prom-client. Every value that is shared
 * across processes is read from the database at scrape time, so any replica of the dashboard answers the same:
 * tasks by status, queue depth (pending, in progress) by type, durations of the tasks finished in the last hour
 * (a histogram by type), lease expiries in the last hour, sessions by role/provider/outcome, tokens and cost by role
 * and provider, providers rate limited now, webhook deliveries by forge and outcome; plus the build version. The
 * queries use indexes (`tasks_finished_idx`, `events_created_idx`) or group small tables; the counts by status and
 * type come from the task counters (queue/task-counts.ts).
 */
import { z } from 'zod';
import { sql } from 'kysely';
import { Gauge, Registry, type Metric } from 'prom-client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DatabaseHandle } from '../../store/open-database.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import { countTasksByStatus, countTasksByStatusAndType } from '../../queue/task-counts.js';
import { TASK_STATUSES } from '../../domain/roles.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** The window of the task-duration histogram and the lease-expiry count. */
export const RECENT_WINDOW_MS = 3_600_000;
/** Buckets of the task-duration histogram, in seconds (a deploy or a check runs in seconds, a session in minutes). */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export interface MetricsOptions {
  queue: TaskQueue;
  version: string;
  clock?: () => number;
}

/** A label value with `\`, `"` and line breaks escaped as the exposition format requires. */
export function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The task-duration histogram, built from the database's bucket counts (prom-client's own keeps process memory). */
function taskDurationHistogram(handle: DatabaseHandle, clock: () => number): Metric {
  const name = 'autodev_task_duration_seconds';
  const help = 'Run time of the tasks finished in the last hour (started to finished), by type; read at scrape time.';
  const buckets = sql.join(
    DURATION_BUCKETS.map(
      (le, i) => sql`sum(case when finished_at - started_at <= ${le * 1000} then 1 else 0 end) as ${sql.ref(`b${i}`)}`,
    ),
    sql`, `,
  );
  return {
    name,
    help,
    type: 'histogram',
    get: async () => {
      const { rows } = await sql<Record<string, number | string>>`
        select type, count(*) as total, sum(finished_at - started_at) as sum_ms, ${buckets}
        from tasks where finished_at >= ${clock() - RECENT_WINDOW_MS} and started_at is not null
        group by type order by type`.execute(handle.db);
      const values = rows.flatMap((row) => {
        const type = String(row.type);
        return [
          ...DURATION_BUCKETS.map((le, i) => ({
            metricName: `${name}_bucket`,
            labels: { type, le },
            value: Number(row[`b${i}`] ?? 0),
          })),
          { metricName: `${name}_bucket`, labels: { type, le: '+Inf' }, value: Number(row.total) },
          { metricName: `${name}_sum`, labels: { type }, value: Number(row.sum_ms) / 1000 },
          { metricName: `${name}_count`, labels: { type }, value: Number(row.total) },
        ];
      });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  } as unknown as Metric;
}

/** A gauge whose samples are read with `read` at each scrape (old label sets are dropped first). */
function databaseGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Promise<{ labels: Record<L, string>; value: number }[]>,
): void {
  new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const sample of samples) this.set(sample.labels as Partial<Record<L, string>>, sample.value);
    },
  });
}

export function createMetricsRegistry(options: { handle: DatabaseHandle; version: string; clock: () => number }) {
  const { handle, version, clock } = options;
  const db = handle.db;
  const registry = new Registry();

  databaseGauge(registry, 'autodev_tasks', 'Tasks in the queue by status.', ['status'], async () => {
    const byStatus = await countTasksByStatus(db);
    return TASK_STATUSES.map((status) => ({ labels: { status }, value: byStatus[status] }));
  });

  databaseGauge(
    registry,
    'autodev_queue_depth',
    'Tasks waiting (pending) or running (in_progress), by status and type.',
    ['status', 'type'],
    async () =>
      (await countTasksByStatusAndType(db))
        .filter((r) => r.status === 'pending' || r.status === 'in_progress')
        .map((r) => ({ labels: { status: r.status, type: r.type }, value: r.count })),
  );

  registry.registerMetric(taskDurationHistogram(handle, clock));

  databaseGauge(
    registry,
    'autodev_task_lease_expiries_last_hour',
    'Leases that ran out in the last hour (a worker crashed or was killed mid-task).',
    [],
    async () => {
      const row = await db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('created_at', '>=', clock() - RECENT_WINDOW_MS)
        .where('kind', '=', 'task.lease_expired')
        .executeTakeFirst();
      return [{ labels: {}, value: Number(row?.n ?? 0) }];
    },
  );

  const sessionTotals = () =>
    db
      .selectFrom('sessions')
      .select([
        'role',
        'provider',
        'status',
        (eb) => eb.fn.countAll<number>().as('n'),
        (eb) => eb.fn.sum<number>('tokens_in').as('tokens_in'),
        (eb) => eb.fn.sum<number>('tokens_out').as('tokens_out'),
        (eb) => eb.fn.sum<number>('tokens_cache').as('tokens_cache'),
        (eb) => eb.fn.sum<number>('cost_usd').as('cost_usd'),
      ])
      .groupBy(['role', 'provider', 'status'])
      .execute();

  databaseGauge(
    registry,
    'autodev_sessions',
    'Agent sessions by role, provider and outcome (running, succeeded, failed, rate_limited, aborted).',
    ['role', 'provider', 'outcome'],
    async () =>
      (await sessionTotals()).map((r) => ({
        labels: { role: r.role, provider: r.provider, outcome: r.status },
        value: Number(r.n),
      })),
  );

  databaseGauge(
    registry,
    'autodev_session_tokens',
    'Tokens used by agent sessions, by role, provider and kind (in, out, cache).',
    ['role', 'provider', 'kind'],
    async () => {
      const totals = new Map<string, { role: string; provider: string; kind: string; value: number }>();
      for (const r of await sessionTotals()) {
        for (const kind of ['in', 'out', 'cache'] as const) {
          const key = `${r.role}\u0000${r.provider}\u0000${kind}`;
          const entry = totals.get(key) ?? { role: r.role, provider: r.provider, kind, value: 0 };
          entry.value += Number(r[`tokens_${kind}`] ?? 0);
          totals.set(key, entry);
        }
      }
      return [...totals.values()].map(({ value, ...labels }) => ({ labels, value }));
    },
  );

  databaseGauge(
    registry,
    'autodev_session_cost_usd',
    'Cost of agent sessions in US dollars, by role and provider.',
    ['role', 'provider'],
    async () => {
      const totals = new Map<string, { role: string; provider: string; value: number }>();
      for (const r of await sessionTotals()) {
        const key = `${r.role}\u0000${r.provider}`;
        const entry = totals.get(key) ?? { role: r.role, provider: r.provider, value: 0 };
        entry.value += Number(r.cost_usd ?? 0);
        totals.set(key, entry);
      }
      return [...totals.values()].map(({ value, ...labels }) => ({ labels, value }));
    },
  );

  databaseGauge(
    registry,
    'autodev_provider_rate_limited',
    'Providers rate limited now (1 each; absent when none is).',
    ['provider'],
    async () => {
      const rows = await db
        .selectFrom('provider_limits')
        .select('provider')
        .where('limited_until', '>', clock())
        .execute();
      return rows.map((r) => ({ labels: { provider: r.provider }, value: 1 }));
    },
  );

  databaseGauge(
    registry,
    'autodev_webhook_deliveries',
    'Forge webhook deliveries received, by forge and outcome (acted, ignored, duplicate).',
    ['forge', 'outcome'],
    async () => {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .select(['forge', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['forge', 'outcome'])
        .execute();
      return rows.map((r) => ({ labels: { forge: r.forge, outcome: r.outcome }, value: Number(r.n) }));
    },
  );

  new Gauge({
    name: 'autodev_build_info',
    help: 'The running Auto-Dev version.',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version }, 1);

  return registry;
}

export const metricsPlugin: FastifyPluginAsyncZod<MetricsOptions> = async (app, { queue, version, clock }) => {
  const registry = createMetricsRegistry({ handle: queue.handle, version, clock: clock ?? Date.now });
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        tags: ['health'],
        security: [],
        produces: ['text/plain'],
        response: { 200: z.string().describe('Prometheus text exposition format 0.0.4.') },
      },
    },
    async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(await registry.metrics()),
  );
};
