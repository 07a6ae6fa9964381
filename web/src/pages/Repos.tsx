/**
 * @module Repositories registered with Auto-Dev (read-only here; `autodev repos add PATH` registers one).
 */
import { api } from '../api.js';
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

export default function Repos() {
  const list = useLoad(() => api<{ repos: Repo[] }>('/api/repos'), []);
  return (
    <div className="page">
      <h1>Repositories</h1>
      <ErrorNote error={list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.repos.length === 0 ? (
        <Empty>
          No repositories yet. Register one with <code>autodev repos add PATH</code>.
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
            </tr>
          </thead>
          <tbody>
            {list.data.repos.map((repo) => (
              <tr key={repo.id}>
                <td>{repo.name}</td>
                <td>{repo.forge}</td>
                <td className="mono">{repo.location}</td>
                <td>{repo.default_branch}</td>
                <td className="mono">
                  {[repo.test_command, repo.lint_command, repo.deploy_command].map((c) => c ?? '—').join(' · ')}
                </td>
                <td>{time(new Date(repo.created_at).toISOString())}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
