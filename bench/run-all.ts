/**
 * @module `npm run bench`: every benchmark in turn (the task queue's, agent sessions' overhead, `/health` under open
 * event streams, the story board's first render and bundle, memory search, API latency over a million tasks, the swarm
 * simulation), each report on stdout.
 */
import { runQueueThroughputBench } from './queue-throughput.js';
import { runSessionOverheadBench } from './session-overhead.js';
import { runSseHealthBench } from './sse-health.js';
import { runBoardRenderBench } from './board-render.js';
import { runMemorySearchBench } from './memory-search.js';
import { runApiLatencyBench } from './api-latency.js';
import { runSwarmSimulation } from './swarm-simulation.js';

const BENCHMARKS: ReadonlyArray<[name: string, run: () => Promise<string>]> = [
  ['queue', () => runQueueThroughputBench()],
  ['sessions', () => runSessionOverheadBench()],
  ['sse-health', () => runSseHealthBench()],
  ['board-render', async () => (await runBoardRenderBench()).report],
  ['memory', () => runMemorySearchBench()],
  ['api', async () => (await runApiLatencyBench({ tasks: 1_000_000, requests: 200 })).report],
  ['swarm', async () => (await runSwarmSimulation()).report],
];

async function main(): Promise<void> {
  for (const [name, run] of BENCHMARKS) {
    process.stderr.write(`== ${name}\n`);
    process.stdout.write(`${await run()}\n\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
