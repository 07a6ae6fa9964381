/**
 * @module The scheduler service's polling loop (`autodev serve scheduler`, inside `autodev up`): every
 * `webhooks.poll_seconds` it polls each repository whose settings say `forge_events: poll` (`poll-forge.ts`). A
 * forge or database failure is logged and tried again next round; the loop never ends on one. Two pollers (two
 * scheduler processes) are safe: the webhook handler's unique delivery ids and action keys decide who acts.
 */
import type { Settings } from '../config/settings-schema.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import type { Logger } from '../log.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import { polledRepositories, pollRepository, type PollDeps, type PollOutcome } from './poll-forge.js';

export interface ForgePollerOptions {
  queue: TaskQueue;
  settings: Pick<Settings, 'webhooks' | 'workflow'>;
  dataDir: string;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Told of every repository polled (for logs and tests). */
  onPoll?: (outcome: PollOutcome) => void;
}

export class ForgePoller {
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private readonly deps: PollDeps;

  constructor(private readonly options: ForgePollerOptions) {
    this.deps = {
      queue: options.queue,
      workflow: workflowDeps(options.queue, options.settings.workflow.max_fix_rounds),
      settings: options.settings.webhooks,
      clientFor: (row) => forgeClientFor(row, { dataDir: options.dataDir, env: options.env }),
    };
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  /** Polls every repository that asks for it, once. */
  async pollOnce(): Promise<PollOutcome[]> {
    const outcomes: PollOutcome[] = [];
    for (const repository of await polledRepositories(this.options.queue.handle.db)) {
      if (this.stopped) break;
      try {
        const outcome = await pollRepository(this.deps, repository);
        outcomes.push(outcome);
        this.options.onPoll?.(outcome);
        const acted = outcome.deliveries.filter((d) => d.result.outcome === 'acted');
        if (acted.length > 0) {
          this.options.logger.info(
            { repository: repository.name, acted: acted.map((d) => d.result.detail) },
            'forge poll acted',
          );
        }
      } catch (error) {
        this.options.logger.warn({ err: error, repository: repository.name }, 'forge poll failed; tried again later');
      }
    }
    return outcomes;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.pollOnce();
      } catch (error) {
        this.options.logger.error({ err: error }, 'forge poll round failed');
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.options.settings.webhooks.poll_seconds * 1000);
      });
    }
  }
}
