import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Waits for issue 10's commit model (the agent commits inside the sandbox); until it lands the commit fails there
 * (".git/... index.lock: Read-only file system"). Run it with AUTODEV_TEST_COMMIT_MODEL=1; delete this line with the
 * new model.
 */
const PENDING_COMMIT_MODEL = process.env.AUTODEV_TEST_COMMIT_MODEL
  ? []
  : ['test/agents/real-cli-builder-commit.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...PENDING_COMMIT_MODEL],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
