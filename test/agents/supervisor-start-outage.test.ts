/**
 * @module The supervisor's start across a database outage: when the database goes away between two workers'
 * registrations (a PostgreSQL restart as the process starts; seen in the chaos-stories test under load), `start()`
 * does not fail the process: the next reconcile starts the missing worker once the database answers. Any other error
 * still fails the start. The outage is an error with PostgreSQL's "shutting down" SQLSTATE thrown by a Kysely plugin
 * on one registration, on both engines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InsertQueryNode, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentSupervisor } from '../../src/agents/agent-supervisor.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { agentSettings, testRuntimeDeps, waitFor } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';

/** Throws `error` instead of the `skip + 1`-th insert into `agents` (a worker's registration), once. */
function failOneRegistration(error: Error, skip: number): KyselyPlugin {
  let seen = 0;
  return {
    transformQuery({ node }): RootOperationNode {
      if (InsertQueryNode.is(node) && node.into?.table.identifier.name === 'agents' && seen++ === skip) throw error;
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
}

function shuttingDown(): Error {
  return Object.assign(new Error('the database system is shutting down'), { code: '57P03' });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function supervisorOn(t: TestDatabase, plugin: KyselyPlugin): AgentSupervisor {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-start-outage-'));
  const settings = agentSettings({ loggedIn: [] });
  const queue = new TaskQueue({ ...t.handle, db: t.handle.db.withPlugin(plugin) }, queueSettingsFrom(settings));
  const deps = testRuntimeDeps(queue, settings, { root, home: root }, '/nonexistent/autodev.js');
  const supervisor = new AgentSupervisor(deps, { roles: ['pm', 'architect'], idleWaitMs: 100 });
  cleanups.push(async () => {
    await supervisor.stop();
    await queue.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return supervisor;
}

describe.each(DIALECTS)('%s: the supervisor starting across a database outage', (dialect) => {
  const t = useTestDatabase(dialect);

  it('an outage between two registrations: start() resolves and the next reconcile starts the missing worker', async () => {
    const supervisor = supervisorOn(t, failOneRegistration(shuttingDown(), 1));
    await supervisor.start();
    expect(Object.keys(supervisor.running())).toHaveLength(1);
    await waitFor(
      async () => `running: ${JSON.stringify(supervisor.running())}`,
      () => Object.keys(supervisor.running()).length === 2,
      10_000,
    );
    const agents = await t.handle.db.selectFrom('agents').select('role').orderBy('role').execute();
    expect(agents.map((a) => a.role)).toEqual(['architect', 'pm']);
  });

  it('any other error still fails the start', async () => {
    const supervisor = supervisorOn(t, failOneRegistration(new Error('column "role" does not exist'), 1));
    await expect(supervisor.start()).rejects.toThrow('column "role" does not exist');
  });
});
