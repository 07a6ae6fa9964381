/**
 * @module Stand-in for the GitHub REST API's releases (GitHub cannot be reached from here), as documented: list
 * releases (drafts included for an authorized caller), create a release (422 when a release has the tag), upload an
 * asset to the release's `upload_url` (a URI template; 422 for a duplicate name), update a release (publish the
 * draft). `Authorization: token` or `Bearer`; anything else is 401 `Bad credentials`.
 */
import { credential, startStandIn, type StandInRequest, type StandInServer } from './stand-in-server.js';

interface Release {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  assets: { id: number; name: string; size: number; content_type: string; data: Buffer }[];
}

export interface GithubStandIn extends StandInServer {
  releases: Map<string, Release[]>;
  /** How many releases were created (a retry must not create another). */
  created: () => number;
}

export async function startGithubStandIn(options: { token: string; repos: string[] }): Promise<GithubStandIn> {
  const releases = new Map<string, Release[]>(options.repos.map((r) => [r, []]));
  let nextId = 1;
  let created = 0;
  let base = () => '';
  const unauthorized = {
    status: 401,
    json: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' },
  };
  const notFound = { status: 404, json: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
  const view = (repo: string, r: Release) => ({
    id: r.id,
    tag_name: r.tag_name,
    name: r.name,
    body: r.body,
    draft: r.draft,
    prerelease: false,
    html_url: `https://github.com/${repo}/releases/tag/${r.draft ? `untagged-${r.id}` : r.tag_name}`,
    url: `${base()}/repos/${repo}/releases/${r.id}`,
    upload_url: `${base()}/uploads/repos/${repo}/releases/${r.id}/assets{?name,label}`,
    assets: r.assets.map((a) => ({
      id: a.id,
      name: a.name,
      size: a.size,
      content_type: a.content_type,
      state: 'uploaded',
      browser_download_url: `https://github.com/${repo}/releases/download/${r.tag_name}/${a.name}`,
    })),
  });
  const guarded =
    (handle: (req: StandInRequest, repo: string, list: Release[]) => { status: number; json?: unknown }) =>
    (req: StandInRequest) => {
      if (credential(req) !== options.token) return unauthorized;
      const repo = `${req.params[0]}/${req.params[1]}`;
      const list = releases.get(repo);
      if (!list) return notFound;
      return handle(req, repo, list);
    };
  const server = await startStandIn((getBase) => {
    base = getBase;
    return [
      [
        'GET',
        /^\/repos\/([^/]+)\/([^/]+)\/releases$/,
        guarded((_req, repo, list) => ({ status: 200, json: list.map((r) => view(repo, r)) })),
      ],
      [
        'POST',
        /^\/repos\/([^/]+)\/([^/]+)\/releases$/,
        guarded((req, repo, list) => {
          const body = req.json as { tag_name?: string; name?: string; body?: string; draft?: boolean } | undefined;
          if (!body?.tag_name)
            return {
              status: 422,
              json: { message: 'Validation Failed', errors: [{ field: 'tag_name', code: 'missing_field' }] },
            };
          if (list.some((r) => r.tag_name === body.tag_name)) {
            return {
              status: 422,
              json: {
                message: 'Validation Failed',
                errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
              },
            };
          }
          const release: Release = {
            id: nextId++,
            tag_name: body.tag_name,
            name: body.name ?? '',
            body: body.body ?? '',
            draft: body.draft === true,
            assets: [],
          };
          list.push(release);
          created += 1;
          return { status: 201, json: view(repo, release) };
        }),
      ],
      [
        'PATCH',
        /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/,
        guarded((req, repo, list) => {
          const release = list.find((r) => r.id === Number(req.params[2]));
          if (!release) return notFound;
          const body = (req.json ?? {}) as { draft?: boolean };
          if (body.draft !== undefined) release.draft = body.draft;
          return { status: 200, json: view(repo, release) };
        }),
      ],
      [
        'POST',
        /^\/uploads\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)\/assets$/,
        guarded((req, repo, list) => {
          const release = list.find((r) => r.id === Number(req.params[2]));
          if (!release) return notFound;
          const name = req.query.get('name');
          if (!name)
            return {
              status: 422,
              json: { message: 'Validation Failed', errors: [{ field: 'name', code: 'missing' }] },
            };
          if (Number(req.headers['content-length']) !== req.raw.length)
            return { status: 400, json: { message: 'Bad Content-Length' } };
          if (release.assets.some((a) => a.name === name)) {
            return {
              status: 422,
              json: {
                message: 'Validation Failed',
                errors: [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }],
              },
            };
          }
          const asset = {
            id: nextId++,
            name,
            size: req.raw.length,
            content_type: String(req.headers['content-type']),
            data: req.raw,
          };
          release.assets.push(asset);
          return { status: 201, json: view(repo, release).assets.find((a) => a.id === asset.id) };
        }),
      ],
    ];
  });
  return Object.assign(server, { releases, created: () => created });
}
