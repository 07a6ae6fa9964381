/**
 * @module Repositories registered with Auto-Dev; admins add one by absolute path, edit its commands and remove it.
 */
import { useState, type FormEvent } from 'react';
import { api, type Me } from '../api.js';
import { Empty, ErrorNote, Loading, time, useLoad } from '../ui.js';

interface Repo {
  id: number;
  name: string;
  forge: string;
  location: string;
  default_branch: string;
  test_command: string | null;
  lint_command: string | null;
  deploy_command: string | null;
  created_at: number;
}

const COMMANDS = ['test_command', 'deploy_command', 'lint_command'] as const;
type Commands = Record<(typeof COMMANDS)[number], string>;
const LABELS: Commands = { test_command: 'Test', deploy_command: 'Deploy', lint_command: 'Lint' };

function CommandFields({
  value,
  onChange,
  prefix,
}: {
  value: Commands;
  onChange: (v: Commands) => void;
  prefix: string;
}) {
  return (
    <>
      {COMMANDS.map((key) => (
        <label key={key}>
          {LABELS[key]} command{' '}
          <input
            name={`${prefix}${key}`}
            value={value[key]}
            onChange={(event) => onChange({ ...value, [key]: event.target.value })}
          />
        </label>
      ))}
    </>
  );
}

function AddRepo({ onDone }: { onDone: () => void }) {
  const [repoPath, setRepoPath] = useState('');
  const [name, setName] = useState('');
  const [commands, setCommands] = useState<Commands>({ test_command: '', deploy_command: '', lint_command: '' });
  const [error, setError] = useState<Error>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const body: Record<string, string> = { path: repoPath.trim() };
    if (name.trim()) body.name = name.trim();
    for (const key of COMMANDS) if (commands[key].trim()) body[key] = commands[key].trim();
    try {
      await api('/api/repos', { method: 'POST', body });
      setRepoPath('');
      setName('');
      setCommands({ test_command: '', deploy_command: '', lint_command: '' });
      onDone();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <form className="card repo-form" data-testid="add-repo" onSubmit={(event) => void submit(event)}>
      <h2>Add a repository</h2>
      <label>
        Absolute path <input name="path" required value={repoPath} onChange={(e) => setRepoPath(e.target.value)} />
      </label>
      <label>
        Name <input name="name" placeholder="directory name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <CommandFields value={commands} onChange={setCommands} prefix="" />
      <button type="submit" disabled={!repoPath.trim()}>
        Add
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function RepoRow({ repo, admin, onDone }: { repo: Repo; admin: boolean; onDone: () => void }) {
  const [editing, setEditing] = useState<Commands | null>(null);
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
  const save = (commands: Commands) =>
    run(() =>
      api(`/api/repos/${repo.id}`, {
        method: 'PATCH',
        body: Object.fromEntries(COMMANDS.map((key) => [key, commands[key].trim() || null])),
      }),
    );
  const remove = () => {
    if (window.confirm(`Forget repository "${repo.name}"? Its files are not touched.`)) {
      void run(() => api(`/api/repos/${repo.id}`, { method: 'DELETE' }));
    }
  };
  return (
    <tr data-testid={`repo-${repo.name}`}>
      <td>{repo.name}</td>
      <td>{repo.forge}</td>
      <td className="mono">{repo.location}</td>
      <td>{repo.default_branch}</td>
      <td className="mono">
        {editing ? (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void save(editing);
            }}
          >
            <CommandFields value={editing} onChange={setEditing} prefix="edit-" />
            <button type="submit">Save</button>{' '}
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </form>
        ) : (
          [repo.test_command, repo.lint_command, repo.deploy_command].map((c) => c ?? '—').join(' · ')
        )}
        <ErrorNote error={error} />
      </td>
      <td>{time(new Date(repo.created_at).toISOString())}</td>
      {admin ? (
        <td>
          {editing ? null : (
            <button
              type="button"
              onClick={() =>
                setEditing({
                  test_command: repo.test_command ?? '',
                  deploy_command: repo.deploy_command ?? '',
                  lint_command: repo.lint_command ?? '',
                })
              }
            >
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
          <code>autodev repos add PATH</code>.
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
              <th>Test / lint / deploy</th>
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
