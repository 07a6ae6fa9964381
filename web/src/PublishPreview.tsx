/**
 * @module The publishing approval's preview (`GET /api/approvals/:id/preview`): the product's listings rendered
 * (agent-written Markdown, sanitized), its file tree with sizes, the npm package's contents, and what exactly each
 * publisher will send (method, URL, body summary, files; secrets by name, missing ones flagged). The server keeps
 * previews per product directory content: a preview of a directory that changed since says so (`stale`), the card
 * asks again every second until the fresh one is in, and tells its approval card (`onStale`) so Approve waits.
 */
import { useEffect, useState } from 'react';
import type { PublishPreview as Preview } from '../../src/domain/project-schema.js';
import { api } from './api.js';
import { Markdown } from './Markdown.js';
import { ErrorNote, Loading, useLoad } from './ui.js';

type PreviewFile = Preview['files'][number];
type Plan = Preview['plans'][number];

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

interface TreeNode {
  name: string;
  file?: PreviewFile;
  children: Map<string, TreeNode>;
}

function buildTree(files: readonly PreviewFile[]): TreeNode {
  const root: TreeNode = { name: '', children: new Map() };
  for (const file of files) {
    let node = root;
    for (const part of file.path.split('/')) {
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
    node.file = file;
  }
  return root;
}

const dirSize = (node: TreeNode): number =>
  (node.file?.size ?? 0) + [...node.children.values()].reduce((sum, child) => sum + dirSize(child), 0);

function TreeList({ node }: { node: TreeNode }) {
  const entries = [...node.children.values()].sort(
    (a, b) => Number(a.file !== undefined) - Number(b.file !== undefined) || a.name.localeCompare(b.name),
  );
  return (
    <ul className="file-tree">
      {entries.map((entry) =>
        entry.file ? (
          <li key={entry.name} title={`sha256 ${entry.file.sha256}`}>
            {entry.name}
            <span className="size">{bytes(entry.file.size)}</span>
          </li>
        ) : (
          <li key={entry.name}>
            {entry.name}/<span className="size">{bytes(dirSize(entry))}</span>
            <TreeList node={entry} />
          </li>
        ),
      )}
    </ul>
  );
}

export function FileTree({ files, testId }: { files: readonly PreviewFile[]; testId?: string }) {
  return (
    <div data-testid={testId}>
      <TreeList node={buildTree(files)} />
    </div>
  );
}

function PlanView({ plan }: { plan: Plan }) {
  const total = plan.files.reduce((sum, f) => sum + f.size, 0);
  return (
    <div className="plan" data-testid={`plan-${plan.target}`}>
      <h3>{plan.target}</h3>
      <p>
        Secrets:{' '}
        {plan.secrets.length === 0
          ? 'none'
          : plan.secrets.map((name, index) => (
              <span key={name}>
                {index > 0 ? ', ' : ''}
                <code>{name}</code>
                {plan.missing_secrets.includes(name) ? (
                  <span className="missing-secret"> (missing: publishing {plan.target} would fail)</span>
                ) : null}
              </span>
            ))}
      </p>
      <ol>
        {plan.requests.map((request, index) => (
          <li key={index} className="request">
            <code>
              {request.method} {request.url}
            </code>
            {request.body !== undefined ? (
              <pre className="json">
                {typeof request.body === 'string' ? request.body : JSON.stringify(request.body, null, 2)}
              </pre>
            ) : null}
            {request.note ? <div className="muted">{request.note}</div> : null}
          </li>
        ))}
      </ol>
      <details>
        <summary>
          {plan.target === 'npm' ? 'Package contents' : 'Files sent'}: {plan.files.length} files, {bytes(total)}
        </summary>
        <FileTree files={plan.files} testId={`plan-files-${plan.target}`} />
      </details>
    </div>
  );
}

const STALE_POLL_MS = 1_000;

/** Where the preview came from: the content it shows, when computed, and whether the directory changed since. */
function CacheNote({ cache }: { cache: Preview['cache'] }) {
  const when = new Date(cache.computed_at).toLocaleString();
  if (cache.state === 'stale') {
    return (
      <p className="stale-preview" role="alert" data-testid="preview-stale">
        Stale: the product directory changed after this preview was computed ({when}); a fresh preview is being
        computed. Approving waits for it.
      </p>
    );
  }
  return (
    <p className="muted" data-testid="preview-cache">
      Preview of content <code title={cache.digest}>{cache.digest.slice(0, 12)}</code>, computed {when}
      {cache.state === 'fresh' ? ' (unchanged since: from the cache)' : ''}.
    </p>
  );
}

/** The whole preview of publishing approval `id`; asked again while it is stale. */
export default function PublishPreview({ id, onStale }: { id: number; onStale?: (stale: boolean) => void }) {
  const [stale, setStale] = useState(false);
  const preview = useLoad(
    () => api<Preview>(`/api/approvals/${id}/preview`),
    [id],
    undefined,
    stale ? STALE_POLL_MS : undefined,
  );
  const p = preview.data;
  const nowStale = p?.cache.state === 'stale';
  useEffect(() => {
    setStale(nowStale);
    onStale?.(nowStale);
  }, [nowStale]);
  if (preview.error) return <ErrorNote error={preview.error} />;
  if (!p) return <Loading />;
  const npm = p.plans.find((plan) => plan.target === 'npm');
  const missing = p.plans.flatMap((plan) => plan.missing_secrets);
  return (
    <div className="publish-preview" data-testid={`preview-${id}`}>
      <p className="muted">
        <code>{p.name}</code> {p.version} · <code>{p.product_dir}</code> · {p.files.length} files,{' '}
        {bytes(p.files.reduce((sum, f) => sum + f.size, 0))}
      </p>
      <CacheNote cache={p.cache} />
      {missing.length > 0 ? (
        <p className="missing-secret" role="alert">
          The secret store lacks {[...new Set(missing)].join(', ')}: set them (<code>autodev secrets set NAME</code>)
          before approving, or those targets fail.
        </p>
      ) : null}
      <h3>Listings</h3>
      {p.listings.map((listing, index) => (
        <details key={listing.file} open={index === 0} data-testid={`listing-${listing.target}`}>
          <summary>
            {listing.file} ({listing.target === 'all' ? 'every target' : listing.target})
          </summary>
          <Markdown text={listing.markdown} />
        </details>
      ))}
      <h3>Files</h3>
      <FileTree files={p.files} testId="product-files" />
      {npm ? (
        <>
          <h3>npm package contents</h3>
          <FileTree files={npm.files} testId="npm-contents" />
        </>
      ) : null}
      <h3>What each publisher will send</h3>
      {p.plans.map((plan) => (
        <PlanView key={plan.target} plan={plan} />
      ))}
    </div>
  );
}
