/**
 * @module Repositories registered with Auto-Dev, with their forge (local, GitLab, GitHub) and remote; admins add one
 * by absolute path or as a GitLab project / GitHub repository (cloned by the server, token from its environment),
 * edit its commands and gate/merge settings (merge method, coverage threshold, deploy secret names) and remove it.
 */
import { useState, type FormEvent } from 'react';
import { api, type Me } from '../api.js';
import { Empty, ErrorNote, Loading, time, useLoad } from '../ui.js';
import type { Repository as Repo } from '../../../src/domain/repository-schema.js';

type Forge = Repo['forge'];
const FORGE_LABELS: Record<Forge, string> = { local: 'Local path', gitlab: 'GitLab', github: 'GitHub' };

type MergeMethod = Repo['merge_method'];
const MERGE_LABELS: Record<MergeMethod, string> = { merge: 'merge commit', squash: 'squash' };
const COMMANDS = ['test_command', 'deploy_command', 'lint_command'] as const;
type Commands = Record<(typeof COMMANDS)[number], string>;
const LABELS: Commands = { test_command: 'Test', deploy_command: 'Deploy', lint_command: 'Lint' };

/** What the add and edit forms hold: text as typed, turned into the API's fields by `toBody`. */
interface RepoFields extends Commands {
  merge_method: MergeMethod;
  coverage_threshold: string;
  deploy_secrets: string;
}

const EMPTY: RepoFields = {
  test_command: '',
  deploy_command: '',
  lint_command: '',
  merge_method: 'merge',
  coverage_threshold: '',
  deploy_secrets: '',
};

function fieldsOf(repo: Repo): RepoFields {
  return {
    test_command: repo.test_command ?? '',
    deploy_command: repo.deploy_command ?? '',
    lint_command: repo.lint_command ?? '',
    merge_method: repo.merge_method,
    coverage_threshold: repo.coverage_threshold === null ? '' : String(repo.coverage_threshold),
    deploy_secrets: repo.deploy_secrets.join(', '),
  };
}

/**
 * The API body for the fields: empty text is "not set" (left out when adding, null when editing, which clears it).
 * A coverage threshold that is not a number from 0 to 100 is refused here, before anything is sent.
 */
function toBody(fields: RepoFields, mode: 'add' | 'edit'): Record<string, unknown> {
  const unset = mode === 'add' ? undefined : null;
  const body: Record<string, unknown> = { merge_method: fields.merge_method };
  for (const key of COMMANDS) body[key] = fields[key].trim() || unset;
  const coverage = fields.coverage_threshold.trim();
  const threshold = coverage ? Number(coverage) : unset;
  // NaN fails both comparisons: text that is not a number is refused too.
  if (typeof threshold === 'number' && !(threshold >= 0 && threshold <= 100)) {
    throw new Error(`Coverage threshold must be a number from 0 to 100 (got "${coverage}"), or empty for none.`);
  }
  body.coverage_threshold = threshold;
  const secrets = fields.deploy_secrets.split(/[\s,]+/).filter(Boolean);
  body.deploy_secrets = secrets.length > 0 ? secrets : unset;
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

function SettingsFields({
  value,
  onChange,
  prefix,
}: {
  value: RepoFields;
  onChange: (v: RepoFields) => void;
  prefix: string;
}) {
  const text = (key: keyof RepoFields, label: string, extra: { placeholder?: string; inputMode?: 'decimal' } = {}) => (
    <label key={key}>
      {label}{' '}
      <input
        name={`${prefix}${key}`}
        value={value[key]}
        onChange={(event) => onChange({ ...value, [key]: event.target.value })}
        {...extra}
      />
    </label>
  );
  return (
    <>
      {COMMANDS.map((key) => text(key, `${LABELS[key]} command`))}
      <label>
        Merge method{' '}
        <select
          name={`${prefix}merge_method`}
          value={value.merge_method}
          onChange={(event) => onChange({ ...value, merge_method: event.target.value as MergeMethod })}
        >
          {(Object.keys(MERGE_LABELS) as MergeMethod[]).map((method) => (
            <option key={method} value={method}>
              {MERGE_LABELS[method]}
            </option>
          ))}
        </select>
      </label>
      {text('coverage_threshold', 'Coverage threshold %', { placeholder: 'none', inputMode: 'decimal' })}
      {text('deploy_secrets', 'Deploy secrets', { placeholder: 'names, e.g. DEPLOY_TOKEN' })}
    </>
  );
}

/** One line for the table: merge method, coverage threshold, secret names. */
function settingsSummary(repo: Repo): string {
  const parts: string[] = [MERGE_LABELS[repo.merge_method]];
  if (repo.coverage_threshold !== null) parts.push(`coverage ≥ ${repo.coverage_threshold}%`);
  if (repo.deploy_secrets.length > 0) parts.push(`secrets: ${repo.deploy_secrets.join(', ')}`);
  return parts.join(' · ');
}

/** Where the repository's stories push and merge: the forge's project (linked) and the git remote, or the path. */
function ForgeCell({ repo }: { repo: Repo }) {
  if (repo.forge === 'local' || !repo.forge_project) return <td>{repo.forge}</td>;
  const label = `${FORGE_LABELS[repo.forge as Forge] ?? repo.forge} ${repo.forge_project}`;
  return (
    <td data-testid="repo-forge">
      {repo.forge_url ? (
        <a href={repo.forge_url} target="_blank" rel="noreferrer">
          {label}
        </a>
      ) : (
        label
      )}
      {repo.forge_events === 'poll' ? <div className="muted">polled (no webhooks)</div> : null}
    </td>
  );
}

function LocationCell({ repo }: { repo: Repo }) {
  if (!repo.remote_url) return <td className="mono">{repo.location}</td>;
  return (
    <td className="mono" data-testid="repo-remote">
      {repo.remote_url}
      <div className="muted">clone: {repo.location}</div>
    </td>
  );
}

function AddRepo({ onDone }: { onDone: () => void }) {
  const [forge, setForge] = useState<Forge>('local');
  const [repoPath, setRepoPath] = useState('');
  const [project, setProject] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [tokenEnv, setTokenEnv] = useState('');
  const [poll, setPoll] = useState(false);
  const [name, setName] = useState('');
  const [fields, setFields] = useState<RepoFields>(EMPTY);
  const [error, setError] = useState<Error>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const where =
        forge === 'local'
          ? { path: repoPath.trim() }
          : {
              forge,
              project: project.trim(),
              ...(baseUrl.trim() ? { base_url: baseUrl.trim() } : {}),
              ...(tokenEnv.trim() ? { token_env: tokenEnv.trim() } : {}),
              ...(poll ? { events: 'poll' } : {}),
            };
      const body = { ...where, ...toBody(fields, 'add'), ...(name.trim() ? { name: name.trim() } : {}) };
      await api('/api/repos', { method: 'POST', body });
      setRepoPath('');
      setProject('');
      setBaseUrl('');
      setTokenEnv('');
      setPoll(false);
      setName('');
      setFields(EMPTY);
      onDone();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <form className="card repo-form" data-testid="add-repo" onSubmit={(event) => void submit(event)}>
      <h2>Add a repository</h2>
      <label>
        Forge{' '}
        <select name="forge" value={forge} onChange={(e) => setForge(e.target.value as Forge)}>
          {(Object.keys(FORGE_LABELS) as Forge[]).map((kind) => (
            <option key={kind} value={kind}>
              {FORGE_LABELS[kind]}
            </option>
          ))}
        </select>
      </label>
      {forge === 'local' ? (
        <label>
          Absolute path <input name="path" required value={repoPath} onChange={(e) => setRepoPath(e.target.value)} />
        </label>
      ) : (
        <>
          <label>
            {forge === 'gitlab' ? 'Project (GROUP/NAME)' : 'Repository (OWNER/NAME)'}{' '}
            <input name="project" required value={project} onChange={(e) => setProject(e.target.value)} />
          </label>
          <label>
            {forge === 'gitlab' ? 'GitLab URL' : 'API URL'}{' '}
            <input
              name="base_url"
              placeholder={forge === 'gitlab' ? 'https://gitlab.com' : 'https://api.github.com'}
              value={baseUrl}
              onChange={(e) => setBaseUrl(e.target.value)}
            />
          </label>
          <label>
            Token variable{' '}
            <input
              name="token_env"
              placeholder={forge === 'gitlab' ? 'GITLAB_TOKEN' : 'GITHUB_TOKEN'}
              value={tokenEnv}
              onChange={(e) => setTokenEnv(e.target.value)}
            />
          </label>
          <label title="For a forge that cannot reach Auto-Dev: the scheduler service polls it instead of waiting for webhooks">
            <input name="poll" type="checkbox" checked={poll} onChange={(e) => setPoll(e.target.checked)} /> Poll the
            forge (no webhooks)
          </label>
        </>
      )}
      <label>
        Name <input name="name" placeholder="directory name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <SettingsFields value={fields} onChange={setFields} prefix="" />
      <button type="submit" disabled={forge === 'local' ? !repoPath.trim() : !project.trim()}>
        Add
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function RepoRow({ repo, admin, onDone }: { repo: Repo; admin: boolean; onDone: () => void }) {
  const [editing, setEditing] = useState<RepoFields | null>(null);
  const [error, setError] = useState<Error>();
  const run = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      setEditing(null);
      onDone();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const save = (fields: RepoFields) =>
    run(() => api(`/api/repos/${repo.id}`, { method: 'PATCH', body: toBody(fields, 'edit') }));
  const remove = () => {
    if (window.confirm(`Forget repository "${repo.name}"? Its files are not touched.`)) {
      void run(() => api(`/api/repos/${repo.id}`, { method: 'DELETE' }));
    }
  };
  return (
    <tr data-testid={`repo-${repo.name}`}>
      <td>{repo.name}</td>
      <ForgeCell repo={repo} />
      <LocationCell repo={repo} />
      <td>{repo.default_branch}</td>
      <td className="mono">
        {editing ? (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void save(editing);
            }}
          >
            <SettingsFields value={editing} onChange={setEditing} prefix="edit-" />
            <button type="submit">Save</button>{' '}
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </form>
        ) : (
          <>
            {[repo.test_command, repo.lint_command, repo.deploy_command].map((c) => c ?? '—').join(' · ')}
            <div className="muted" data-testid="repo-settings">
              {settingsSummary(repo)}
            </div>
          </>
        )}
        <ErrorNote error={error} />
      </td>
      <td>{time(repo.created_at)}</td>
      {admin ? (
        <td>
          {editing ? null : (
            <button type="button" onClick={() => setEditing(fieldsOf(repo))}>
              Edit
            </button>
          )}{' '}
          <button type="button" className="danger" onClick={remove}>
            Remove
          </button>
        </td>
      ) : null}
    </tr>
  );
}

export default function Repos({ me }: { me: Me | null }) {
  const list = useLoad(() => api<{ repos: Repo[] }>('/api/repos'), []);
  const admin = me?.role === 'admin';
  return (
    <div className="page">
      <h1>Repositories</h1>
      <ErrorNote error={list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.repos.length === 0 ? (
        <Empty>
          No repositories yet. {admin ? 'Add one below, or' : 'An admin adds one here, or'} register one with{' '}
          <code>autodev repos add PATH</code> (or <code>--gitlab URL --project GROUP/NAME</code>,{' '}
          <code>--github OWNER/NAME</code>).
        </Empty>
      ) : null}
      {list.data && list.data.repos.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Forge</th>
              <th>Location</th>
              <th>Branch</th>
              <th>Test / lint / deploy; merging and gates</th>
              <th>Added</th>
              {admin ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {list.data.repos.map((repo) => (
              <RepoRow key={repo.id} repo={repo} admin={admin} onDone={list.reload} />
            ))}
          </tbody>
        </table>
      ) : null}
      {admin ? <AddRepo onDone={list.reload} /> : null}
    </div>
  );
}
