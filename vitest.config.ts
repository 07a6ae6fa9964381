import os from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The end-to-end files: they start the built CLI, a browser, sandboxed agent sessions or several processes, and take
 * most of the suite's time. `npm run test:quick` (AUTODEV_TEST_QUICK=1) leaves them out and runs the unit and SQL
 * tests, on both engines; `npm test` runs everything.
 */
const END_TO_END = [
  'test/demo/crash-each-stage.test.ts',
  'test/demo/demo.test.ts',
  'test/demo/demo-interrupt.test.ts',
  'test/web/**',
  'test/cli/**',
  'test/agents/agent-runtime.test.ts',
  'test/agents/agents-scale.test.ts',
  'test/agents/agent-sandbox.test.ts',
  'test/agents/agent-gates.test.ts',
  'test/agents/agent-kill-resume.test.ts',
  'test/agents/real-cli-*.test.ts',
  'test/e2e/**',
  'test/queue-processes/**',
  'test/mcp/run-mcp-stdio.test.ts',
  'test/llm/real-*.test.ts',
  'test/workspace/sandbox.test.ts',
  'test/workflow/pipeline-gates.test.ts',
  'test/workflow/deploy.test.ts',
  'test/deploy/healthcheck.test.ts',
  'test/support/run-when-gone.test.ts',
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(process.env.AUTODEV_TEST_QUICK === '1' ? END_TO_END : [])],
    globalSetup: ['test/support/global-setup.ts'],
    // No child process outlives its test (process groups, test/support/child-processes.ts).
    setupFiles: ['test/support/process-groups-setup.ts'],
    // A guard against hangs, not a speed check (speed lives in `npm run bench`): multi-step end-to-end tests took up
    // to 31 s beside a CPU hog (`npm run test:hog`) with other work on the machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A worker keeps its modules across files: module loading was ~100 s of the suite's 2-core time. Safe because no
    // test mocks a module or changes process.env, and each file's databases and processes are its own.
    isolate: false,
    // One file per CPU plus one: the end-to-end files wait on processes, sessions and databases as much as they
    // compute. On 2 CPUs the whole suite (isolated modules then): 2 workers 544 s, 3 workers 479 s.
    maxWorkers: os.availableParallelism() + 1,
  },
});
