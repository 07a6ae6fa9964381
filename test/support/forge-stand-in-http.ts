/**
 * @module The HTTP plumbing the GitLab and GitHub stand-ins share: one node server per stand-in that serves its
 * bare repositories over real git smart HTTP (`git-http-server.ts`) and its REST routes, with token auth, request
 * recording, page slicing and faults injected on demand (401/403/404/409/429 with the forge's headers).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { handleGitRequest, isGitRequest, requestToken } from './git-http-server.js';

export interface StandInRequest {
  method: string;
  url: URL;
  params: string[];
  body: Record<string, unknown>;
  token: string;
  user: StandInUser;
  headers: http.IncomingHttpHeaders;
}

export interface StandInReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as text/plain instead of JSON. */
  text?: string;
}

export type Route = [
  method: string,
  pattern: RegExp,
  handler: (req: StandInRequest) => Promise<StandInReply> | StandInReply,
];

export interface StandInUser {
  id: number;
  username: string;
  /** Scopes the token has (GitLab `api`/`read_api`/`write_repository`, GitHub `repo`...). */
  scopes: readonly string[];
}

/** A fault answered instead of the route for the next `times` matching requests. */
export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  times: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  at: number;
  status: number;
}

export interface StandInServerOptions {
  /** Where the bare repositories live (`<reposDir>/<group>/<name>.git`). */
  reposDir: string;
  users: Map<string, StandInUser>;
  /** The route table's prefix (`/api/v4` for GitLab, `` for GitHub at its own origin). */
  apiPrefix: string;
  routes: Route[];
  /** Paths answered without a token (GitHub's signed log blob URLs). */
  publicPaths?: RegExp;
  /** The body of a 401 (each forge's documented shape). */
  unauthorized: () => StandInReply;
}

export class StandInServer {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Fault[] = [];
  private server: http.Server | undefined;
  url = '';

  constructor(private readonly options: StandInServerOptions) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `times` requests matching answer with this fault instead. */
  inject(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (isGitRequest(rawUrl)) {
      handleGitRequest(req, res, {
        root: this.options.reposDir,
        tokens: () => new Set([...this.options.users.keys()]),
      });
      return;
    }
    const url = new URL(rawUrl, this.url);
    const method = req.method ?? 'GET';
    const reply = await this.answer(req, url, method).catch((error: unknown): StandInReply => ({
      status: 500,
      body: { message: String(error) },
    }));
    this.requests.push({ method, path: url.pathname + url.search, at: Date.now(), status: reply.status });
    const headers = { ...(reply.headers ?? {}) };
    if (reply.text !== undefined) {
      res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(reply.text);
    } else if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
    } else {
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(reply.body));
    }
  }

  private async answer(req: http.IncomingMessage, url: URL, method: string): Promise<StandInReply> {
    const raw = await readBody(req);
    const fault = this.faults.find(
      (f) => f.times > 0 && f.path.test(url.pathname) && (f.method === undefined || f.method === method),
    );
    if (fault) {
      fault.times -= 1;
      return { status: fault.status, headers: fault.headers ?? {}, body: fault.body ?? { message: `${fault.status}` } };
    }
    const token = req.headers['private-token']?.toString() ?? requestToken(req) ?? tokenHeader(req);
    const open = this.options.publicPaths?.test(url.pathname) ?? false;
    const user = open ? ANONYMOUS : token ? this.options.users.get(token) : undefined;
    if (!user) return this.options.unauthorized();
    if (!url.pathname.startsWith(this.options.apiPrefix)) return { status: 404, body: { message: '404 Not Found' } };
    const local = url.pathname.slice(this.options.apiPrefix.length);
    for (const [routeMethod, pattern, handler] of this.options.routes) {
      if (routeMethod !== method) continue;
      const match = pattern.exec(local);
      if (!match) continue;
      let body: Record<string, unknown>;
      try {
        body = await parseRequestBody(raw, req.headers['content-type'] ?? '');
      } catch {
        return { status: 400, body: { message: 'Problems parsing JSON' } };
      }
      return handler({
        method,
        url,
        params: match.slice(1).map((p) => decodeURIComponent(p)),
        body,
        token: token ?? '',
        user,
        headers: req.headers,
      });
    }
    return { status: 404, body: { message: '404 Not Found' } };
  }
}

const ANONYMOUS: StandInUser = { id: 0, username: 'anonymous', scopes: [] };

function tokenHeader(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const match = /^token\s+(.+)$/i.exec(header);
  return match?.[1];
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A request body as the forges accept it: JSON, or form data (GitLab clients send line positions as multipart
 * `position[base_sha]=...`), bracketed keys nested into objects.
 */
async function parseRequestBody(raw: Buffer, contentType: string): Promise<Record<string, unknown>> {
  if (raw.length === 0) return {};
  if (!/multipart\/form-data|application\/x-www-form-urlencoded/.test(contentType)) {
    return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  }
  const form = await new Request('http://stand-in.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: raw,
  }).formData();
  const body: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) {
    const text = typeof value === 'string' ? value : '';
    const nested = /^([^[]+)\[([^\]]+)\]$/.exec(key);
    if (nested?.[1] && nested[2]) {
      const inner = (body[nested[1]] ??= {}) as Record<string, unknown>;
      inner[nested[2]] = text;
    } else body[key] = text;
  }
  return body;
}

/** One page of `items` by `page`/`per_page` (capped at `maxPerPage`), with the page's Link and GitLab headers. */
export function pageOf<T>(
  url: URL,
  items: readonly T[],
  maxPerPage: number,
  gitlabHeaders: boolean,
): { body: T[]; headers: Record<string, string> } {
  const perPage = Math.min(maxPerPage, Math.max(1, Number(url.searchParams.get('per_page') ?? 20) || 20));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const body = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number): string => {
    const next = new URL(url);
    next.searchParams.set('page', String(p));
    next.searchParams.set('per_page', String(perPage));
    return next.toString();
  };
  const links: string[] = [];
  if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
  links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
  const headers: Record<string, string> = { link: links.join(', ') };
  if (gitlabHeaders) {
    Object.assign(headers, {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
    });
  }
  return { body, headers };
}

/** Runs git in a bare repository of a stand-in (the stand-ins merge for real). */
export function bareGit(
  repo: string,
  args: readonly string[],
  okExitCodes: readonly number[] = [],
): Promise<{ stdout: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-C', repo, '-c', 'user.name=Forge Stand-in', '-c', 'user.email=forge@stand-in.invalid', ...args],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, HOME: os.tmpdir() } },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        if (exitCode !== 0 && !okExitCodes.includes(exitCode)) {
          reject(new Error(`git ${args.join(' ')} failed (${exitCode}): ${stderr}`));
          return;
        }
        resolve({ stdout, exitCode });
      },
    );
  });
}

/** The commit a branch of a bare repository points at, or null. */
export async function branchSha(repo: string, branch: string): Promise<string | null> {
  const result = await bareGit(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], [1]);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/**
 * Merges `source` into `target` in a bare repository the way a forge does: `git merge-tree --write-tree`, then a
 * merge commit (two parents) or a squash commit (one), and the target ref moved only if it still is `targetSha`.
 */
export async function mergeBranches(
  repo: string,
  input: { source: string; target: string; squash: boolean; message: string },
): Promise<{ status: 'merged'; sha: string } | { status: 'conflict' }> {
  const targetSha = await branchSha(repo, input.target);
  const sourceSha = await branchSha(repo, input.source);
  if (!targetSha || !sourceSha) return { status: 'conflict' };
  const tree = await bareGit(repo, ['merge-tree', '--write-tree', targetSha, sourceSha], [1]);
  if (tree.exitCode !== 0) return { status: 'conflict' };
  const treeSha = tree.stdout.split('\n')[0]?.trim() ?? '';
  const parents = input.squash ? ['-p', targetSha] : ['-p', targetSha, '-p', sourceSha];
  const commit = await bareGit(repo, ['commit-tree', treeSha, ...parents, '-m', input.message]);
  const sha = commit.stdout.trim();
  await bareGit(repo, ['update-ref', `refs/heads/${input.target}`, sha, targetSha]);
  return { status: 'merged', sha };
}

/** A new bare repository under `reposDir` holding one commit on `defaultBranch`. */
export async function createBareRepository(reposDir: string, fullPath: string, defaultBranch: string): Promise<string> {
  const bare = path.join(reposDir, `${fullPath}.git`);
  fs.mkdirSync(path.dirname(bare), { recursive: true });
  await bareGit(reposDir, ['init', '--bare', '-q', '-b', defaultBranch, bare]);
  const readme = await new Promise<string>((resolve, reject) => {
    const child = execFile('git', ['-C', bare, 'hash-object', '-w', '--stdin'], (error, stdout) =>
      error ? reject(error) : resolve(stdout.trim()),
    );
    child.stdin?.end(`# ${fullPath}\n`);
  });
  const tree = await new Promise<string>((resolve, reject) => {
    const child = execFile('git', ['-C', bare, 'mktree'], (error, stdout) =>
      error ? reject(error) : resolve(stdout.trim()),
    );
    child.stdin?.end(`100644 blob ${readme}\tREADME.md\n`);
  });
  const commit = await bareGit(bare, ['commit-tree', tree, '-m', 'Initial commit']);
  await bareGit(bare, ['update-ref', `refs/heads/${defaultBranch}`, commit.stdout.trim()]);
  return bare;
}

/** A new bare repository without any commit (what a forge makes for a project created empty). */
export async function createEmptyBareRepository(
  reposDir: string,
  fullPath: string,
  defaultBranch: string,
): Promise<string> {
  const bare = path.join(reposDir, `${fullPath}.git`);
  fs.mkdirSync(path.dirname(bare), { recursive: true });
  await bareGit(reposDir, ['init', '--bare', '-q', '-b', defaultBranch, bare]);
  return bare;
}

/** Whether a bare repository has any branch yet (an empty project reports no default branch on GitLab). */
export function hasBranches(bare: string): boolean {
  const loose = path.join(bare, 'refs', 'heads');
  const hasLoose = (dir: string): boolean =>
    fs.existsSync(dir) &&
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => e.isFile() || hasLoose(path.join(dir, e.name)));
  const packed = path.join(bare, 'packed-refs');
  return hasLoose(loose) || (fs.existsSync(packed) && fs.readFileSync(packed, 'utf8').includes(' refs/heads/'));
}

/** `git diff base...head` of a bare repository as one unified diff, and per file. */
export async function branchDiff(
  repo: string,
  baseSha: string,
  headSha: string,
): Promise<{ patch: string; files: { oldPath: string; newPath: string; status: string; diff: string }[] }> {
  const patch = (await bareGit(repo, ['diff', `${baseSha}...${headSha}`])).stdout;
  const files: { oldPath: string; newPath: string; status: string; diff: string }[] = [];
  for (const section of patch.split(/^(?=diff --git )/m)) {
    if (!section.startsWith('diff --git ')) continue;
    const header = /^diff --git a\/(.+?) b\/(.+)$/m.exec(section);
    const hunkStart = section.indexOf('\n@@');
    const status = /^new file mode/m.test(section)
      ? 'added'
      : /^deleted file mode/m.test(section)
        ? 'removed'
        : 'modified';
    files.push({
      oldPath: header?.[1] ?? '',
      newPath: header?.[2] ?? '',
      status,
      diff: hunkStart >= 0 ? section.slice(hunkStart + 1) : '',
    });
  }
  return { patch, files };
}
