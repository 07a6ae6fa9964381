/**
 * @module `GET /metrics` (no token): Prometheus text exposition of the task counts by status and the build version.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { TaskQueue } from '../../queue/task-queue.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsOptions {
  queue: TaskQueue;
  version: string;
}

/** A label value with `\`, `"` and line breaks escaped as the exposition format requires. */
export function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(counts: Record<string, number>, version: string): string {
  const lines = ['# HELP autodev_tasks Tasks in the queue by status.', '# TYPE autodev_tasks gauge'];
  for (const [status, count] of Object.entries(counts))
    lines.push(`autodev_tasks{status="${labelValue(status)}"} ${count}`);
  lines.push('# HELP autodev_build_info The running Auto-Dev version.', '# TYPE autodev_build_info gauge');
  lines.push(`autodev_build_info{version="${labelValue(version)}"} 1`);
  return `${lines.join('\n')}\n`;
}

export const metricsPlugin: FastifyPluginAsyncZod<MetricsOptions> = async (app, { queue, version }) => {
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
    async (_request, reply) => {
      const counts = await queue.countByStatus();
      return reply.type(PROMETHEUS_CONTENT_TYPE).send(renderMetrics(counts, version));
    },
  );
};
