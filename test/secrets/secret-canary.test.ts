/**
 * @module The canary: a secret set in each provider (environment; encrypted file; SSM on moto's server mode, a real
 * AWS emulator) is read by a real deploy (the devops handler and worker loop, the command sandboxed, printing the
 * secret plainly and in base64) through the SecretStore, then written again on a session transcript, an event and a
 * log line, as a leaking agent or step would. Logs, transcripts, events, API responses, stored results and the
 * database itself (the SQLite file and its WAL; a pg_dump of PostgreSQL) are searched: no form of it appears. The
 * session environment never carries it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAgentTaskHandler } from '../../src/agents/run-agent-task.js';
import { providerSessionEnv } from '../../src/agents/sandbox-policy.js';
import { appendTranscript, startSession } from '../../src/agents/session-store.js';
import { recordEvent } from '../../src/events/record-event.js';
import { addRepository } from '../../src/forge/repositories.js';
import { createLogger } from '../../src/log.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { environmentProvider } from '../../src/secrets/environment-provider.js';
import { encryptedFileProvider, SECRETS_FILE } from '../../src/secrets/encrypted-file-provider.js';
import { SecretMasker, secretForms } from '../../src/secrets/secret-masker.js';
import type { SecretProvider } from '../../src/secrets/secret-provider.js';
import { SecretStore } from '../../src/secrets/secret-store.js';
import { ssmProvider } from '../../src/secrets/ssm-provider.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { buildServer } from '../../src/server/build-server.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { findPostgresBinDir } from '../support/postgres-cluster.js';
import { MOTO_AWS_ENV, freshSsmPrefix, motoEndpoint } from '../support/secret-fixtures.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { runtimeDeps } from '../workflow/pipeline-fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

const SECRET = 'FLY_API_TOKEN';

interface ProviderCase {
  label: string;
  /** The provider holding `canary` as the deploy secret, and the environment Auto-Dev runs with. */
  make(
    canary: string,
    dataDir: string,
  ): Promise<{ provider: SecretProvider; prefix: string; env: Record<string, string> }>;
}

const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: os.homedir() };

const PROVIDERS: ProviderCase[] = [
  {
    label: 'environment',
    make: async (canary) => {
      const env = { ...BASE_ENV, [SECRET]: canary };
      return { provider: environmentProvider({ prefix: '/auto-dev', env, knownNames: [] }), prefix: '/auto-dev', env };
    },
  },
  {
    label: 'file',
    make: async (canary, dataDir) => {
      const env = { ...BASE_ENV, AUTODEV_MASTER_KEY: `master-${randomBytes(8).toString('hex')}` };
      const provider = encryptedFileProvider({
        file: path.join(dataDir, SECRETS_FILE),
        keyFile: path.join(dataDir, 'secrets.key'),
        env,
        prefix: '/auto-dev',
      });
      await provider.set(`/auto-dev/${SECRET}`, canary);
      return { provider, prefix: '/auto-dev', env };
    },
  },
  {
    label: 'ssm (moto server mode, a real AWS emulator)',
    make: async (canary) => {
      const prefix = freshSsmPrefix();
      const provider = ssmProvider({ prefix, region: 'us-east-1', endpoint: motoEndpoint(), env: MOTO_AWS_ENV });
      await provider.set(`${prefix}/${SECRET}`, canary);
      return { provider, prefix, env: { ...BASE_ENV } };
    },
  },
];

/** Every text in which the canary would show: the database's raw bytes (SQLite) or its dump (PostgreSQL). */
function databaseContent(
  handle: DatabaseHandle,
  t: { databaseUrl: string | undefined; sqlitePath: string | undefined },
) {
  if (t.sqlitePath) {
    return ['', '-wal', '-shm']
      .map((suffix) => `${t.sqlitePath}${suffix}`)
      .filter((file) => fs.existsSync(file))
      .map((file) => fs.readFileSync(file).toString('latin1'))
      .join('\n');
  }
  const binDir = findPostgresBinDir();
  expect(binDir, 'pg_dump is needed for the PostgreSQL dump').toBeTruthy();
  void handle;
  return execFileSync(path.join(binDir!, 'pg_dump'), ['--data-only', t.databaseUrl!], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
}

describe.each(DIALECTS)('%s: secret canaries never leak', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let dataDir: string;

  beforeEach(async () => {
    fixture = await makeRepo();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-canary-'));
  });
  afterEach(async () => {
    await fixture.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(PROVIDERS)('$label: deploy, transcript, event, log, API and database dump', async ({ make }) => {
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const { provider, prefix, env } = await make(canary, dataDir);
    // What Auto-Dev's process does: one masker for the database writes and the log, fed by the secret store.
    const masker = new SecretMasker();
    const handle = await openDatabase({
      databaseUrl: t.databaseUrl,
      sqlitePath: t.sqlitePath,
      transformParameter: (text) => masker.maskText(text),
    });
    const queue = new TaskQueue(handle);
    let logText = '';
    const logger = createLogger({
      level: 'debug',
      pretty: false,
      masker,
      destination: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          logText += chunk.toString();
          done();
        },
      }),
    });
    try {
      const command = `echo "deploying with $${SECRET}"; printf %s "$${SECRET}" | base64; echo "ok"`;
      const repo = await addRepository(
        handle.db,
        { path: fixture.repo, deployCommand: command, deploySecrets: [SECRET], actor: 'test', now: Date.now() },
        '/',
      );
      const task = await queue.enqueue({ type: 'deploy', repoId: repo.id, payload: {}, createdBy: 'test' });
      const runtime = {
        ...runtimeDeps(queue, dataDir, env),
        logger,
        secrets: new SecretStore(provider, prefix, masker),
      };
      const stop = new AbortController();
      let settled!: (outcome: string) => void;
      const ended = new Promise<string>((resolve) => (settled = resolve));
      const errors: unknown[] = [];
      const loop = runWorker({
        queue,
        workerId: 'devops-1',
        types: ['deploy'],
        signal: stop.signal,
        idleWaitMs: 20,
        handler: createAgentTaskHandler(runtime, 'devops'),
        onTaskEnd: (_task, outcome) => settled(outcome),
        onError: (error) => void errors.push(error),
      });
      expect(await ended).toBe('completed');
      stop.abort();
      await loop;
      expect(errors).toEqual([]);
      const stored = await queue.get(task.id);
      // The deploy got the secret from the store (the command printed it, masked): it really ran with it.
      expect(stored.result).toMatchObject({
        outcome: 'succeeded',
        deploy: { secrets_passed: [SECRET], secrets_missing: [] },
      });
      const tail = (stored.result as { deploy: { output_tail: string } }).deploy.output_tail;
      expect(tail).toContain('deploying with ***');
      expect(tail).toContain('[masked]');
      expect(tail).toContain('ok');

      // A session that saw the canary (a hostile agent printing it) and a step that logs it.
      const sessionId = await startSession(handle.db, {
        taskId: task.id,
        role: 'devops',
        agentInstanceId: 'devops-1',
        provider: 'claude',
        model: null,
        now: Date.now(),
      });
      await appendTranscript(handle.db, sessionId, [
        {
          seq: 0,
          kind: 'assistant',
          data: { text: `found it: ${canary}`, b64: Buffer.from(canary).toString('base64') },
          at: Date.now(),
        },
      ]);
      await recordEvent(handle.db, {
        kind: 'test.canary',
        subjectType: 'task',
        subjectId: task.id,
        actor: 'test',
        data: { leaked: canary, [canary]: 'as a key' },
        now: Date.now(),
      });
      logger.info({ detail: canary, result: stored.result }, `deployed with ${canary}`);

      // The session environment of either CLI never carries it.
      for (const cli of ['claude', 'codex'] as const) {
        expect(JSON.stringify(providerSessionEnv(runtime.settings, env, cli))).not.toContain(canary);
      }

      const app = await buildServer({ handle, queue, logger, version: 'test' });
      const token = await createApiToken(handle.db, { name: 'canary', role: 'admin', now: Date.now() });
      const responses: string[] = [];
      for (const url of [
        `/api/tasks/${task.id}`,
        '/api/tasks',
        `/api/sessions/${sessionId}`,
        `/api/tasks/${task.id}/sessions`,
        '/api/repos',
      ]) {
        const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
        expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
        responses.push(response.body);
      }
      await app.close();

      const everything = [logText, ...responses, databaseContent(handle, t)].join('\n');
      expect(logText).toContain('deployed with [masked]');
      expect(responses.join('\n')).toContain('[masked]');
      for (const form of secretForms(canary)) expect(everything).not.toContain(form);
    } finally {
      await queue.close();
      await handle.close();
    }
  });
});
