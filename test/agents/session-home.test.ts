/**
 * @module Each session's own CLI home: the login file is copied in (0600), nothing else of the operator's CLI state;
 * a retry resumes only when the earlier session's home still holds the conversation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareSessionHome } from '../../src/agents/session-home.js';

const dirs: string[] = [];
function scratch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-session-home-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('prepareSessionHome', () => {
  it('claude: copies only the login into <session>/home/.claude; the operator’s settings and hooks stay out', async () => {
    const root = scratch();
    const operatorHome = path.join(root, 'operator');
    fs.mkdirSync(path.join(operatorHome, '.claude'), { recursive: true });
    fs.writeFileSync(path.join(operatorHome, '.claude', '.credentials.json'), '{"token":"oauth"}');
    fs.writeFileSync(path.join(operatorHome, '.claude', 'settings.json'), '{"hooks":{}}');
    const sessionDir = path.join(root, 'sessions', '1');

    const home = await prepareSessionHome({ sessionDir, provider: 'claude', operatorHome, operatorEnv: {} });

    expect(home.env).toEqual({ HOME: path.join(sessionDir, 'home') });
    expect(fs.readdirSync(path.join(sessionDir, 'home', '.claude'))).toEqual(['.credentials.json']);
    expect(fs.statSync(path.join(sessionDir, 'home', '.claude', '.credentials.json')).mode & 0o777).toBe(0o600);
    expect(home.canResume).toBe(false);
  });

  it('codex: the login comes from CODEX_HOME when the operator moved it; the session gets its own CODEX_HOME', async () => {
    const root = scratch();
    const codexHome = path.join(root, 'elsewhere');
    fs.mkdirSync(codexHome);
    fs.writeFileSync(path.join(codexHome, 'auth.json'), '{"OPENAI_API_KEY":null}');
    const sessionDir = path.join(root, 's');

    const home = await prepareSessionHome({
      sessionDir,
      provider: 'codex',
      operatorHome: path.join(root, 'nobody'),
      operatorEnv: { CODEX_HOME: codexHome },
    });

    expect(home.env).toEqual({
      HOME: path.join(sessionDir, 'home'),
      CODEX_HOME: path.join(sessionDir, 'home', '.codex'),
    });
    expect(fs.existsSync(path.join(sessionDir, 'home', '.codex', 'auth.json'))).toBe(true);
  });

  it('a retry resumes when the earlier session’s home holds the conversation, and not when it was wiped', async () => {
    const root = scratch();
    const earlier = path.join(root, 'sessions', '1');
    const id = '0b6f8a52-9d0e-4c1e-9f7a-2f1f3c4d5e6f';
    const project = path.join(earlier, 'home', '.claude', 'projects', '-data-worktrees-shop-task-3');
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, `${id}.jsonl`), '{}\n');
    const options = { provider: 'claude' as const, operatorHome: path.join(root, 'op'), operatorEnv: {} };

    const resumed = await prepareSessionHome({
      ...options,
      sessionDir: path.join(root, 'sessions', '2'),
      previous: { sessionDir: earlier, providerSessionId: id },
    });
    expect(resumed.canResume).toBe(true);
    expect(
      fs.existsSync(
        path.join(root, 'sessions', '2', 'home', '.claude', 'projects', '-data-worktrees-shop-task-3', `${id}.jsonl`),
      ),
    ).toBe(true);

    fs.rmSync(path.join(earlier, 'home'), { recursive: true });
    const fresh = await prepareSessionHome({
      ...options,
      sessionDir: path.join(root, 'sessions', '3'),
      previous: { sessionDir: earlier, providerSessionId: id },
    });
    expect(fresh.canResume).toBe(false);
  });
});
