/**
 * @module Stand-in for the Apify API v2's actors, versions and builds (api.apify.com cannot be reached from here), as
 * documented: answers wrapped in `{data}`, errors as `{error:{type,message}}`; `GET/POST /v2/acts`,
 * `GET/PUT /v2/acts/:id/versions/:version`, `POST /v2/acts/:id/versions`, `POST /v2/acts/:id/builds?version=`
 * (the build snapshots the version as `actVersion`), `GET /v2/acts/:id/builds` and `GET /v2/actor-builds/:id`.
 * Bearer token; anything else is 401 `user-or-token-not-found`.
 */
import { credential, startStandIn, type StandInRequest, type StandInServer } from './stand-in-server.js';

interface Version {
  versionNumber: string;
  sourceType: string;
  buildTag?: string;
  sourceFiles: unknown[];
}

interface Build {
  id: string;
  actId: string;
  status: string;
  buildNumber: string;
  startedAt: string;
  finishedAt: string;
  actVersion: Version;
}

interface Actor {
  id: string;
  name: string;
  username: string;
  versions: Version[];
}

export interface ApifyStandIn extends StandInServer {
  actors: Actor[];
  builds: Build[];
  /** The status the next builds end in (default SUCCEEDED). */
  buildStatus: { value: string };
}

export async function startApifyStandIn(options: { token: string }): Promise<ApifyStandIn> {
  const actors: Actor[] = [];
  const builds: Build[] = [];
  const buildStatus = { value: 'SUCCEEDED' };
  let next = 1;
  const error = (status: number, type: string, message: string) => ({ status, json: { error: { type, message } } });
  const authed = (handle: (req: StandInRequest) => { status: number; json?: unknown }) => (req: StandInRequest) =>
    credential(req) === options.token
      ? handle(req)
      : error(401, 'user-or-token-not-found', 'User was not found or authentication token is not valid');
  const actorOf = (ref: string | undefined) => actors.find((a) => a.id === ref || `${a.username}~${a.name}` === ref);
  const withActor = (handle: (req: StandInRequest, actor: Actor) => { status: number; json?: unknown }) =>
    authed((req) => {
      const actor = actorOf(req.params[0]);
      return actor ? handle(req, actor) : error(404, 'record-not-found', 'Actor was not found');
    });
  const list = <T>(items: T[]) => ({
    total: items.length,
    offset: 0,
    limit: 1000,
    count: items.length,
    desc: false,
    items,
  });
  const server = await startStandIn(() => [
    [
      'GET',
      /^\/v2\/acts$/,
      authed(() => ({
        status: 200,
        json: { data: list(actors.map(({ id, name, username }) => ({ id, name, username }))) },
      })),
    ],
    [
      'POST',
      /^\/v2\/acts$/,
      authed((req) => {
        const body = (req.json ?? {}) as { name?: string };
        if (!body.name) return error(400, 'invalid-input', 'name is required');
        if (actors.some((a) => a.name === body.name))
          return error(400, 'actor-name-not-unique', 'Actor name is not unique');
        const actor: Actor = { id: `act${next++}`, name: body.name, username: 'standin', versions: [] };
        actors.push(actor);
        return {
          status: 201,
          json: { data: { id: actor.id, name: actor.name, username: actor.username, versions: [] } },
        };
      }),
    ],
    [
      'GET',
      /^\/v2\/acts\/([^/]+)\/versions\/([^/]+)$/,
      withActor((req, actor) => {
        const version = actor.versions.find((v) => v.versionNumber === req.params[1]);
        return version
          ? { status: 200, json: { data: version } }
          : error(404, 'record-not-found', 'Actor version was not found');
      }),
    ],
    [
      'POST',
      /^\/v2\/acts\/([^/]+)\/versions$/,
      withActor((req, actor) => {
        const body = req.json as Version | undefined;
        if (!body?.versionNumber || body.sourceType !== 'SOURCE_FILES' || !Array.isArray(body.sourceFiles)) {
          return error(400, 'invalid-input', 'versionNumber, sourceType SOURCE_FILES and sourceFiles are required');
        }
        if (actor.versions.some((v) => v.versionNumber === body.versionNumber))
          return error(400, 'invalid-input', 'Version already exists');
        actor.versions.push(structuredClone(body));
        return { status: 201, json: { data: body } };
      }),
    ],
    [
      'PUT',
      /^\/v2\/acts\/([^/]+)\/versions\/([^/]+)$/,
      withActor((req, actor) => {
        const version = actor.versions.find((v) => v.versionNumber === req.params[1]);
        if (!version) return error(404, 'record-not-found', 'Actor version was not found');
        Object.assign(version, structuredClone(req.json as Version), { versionNumber: version.versionNumber });
        return { status: 200, json: { data: version } };
      }),
    ],
    [
      'POST',
      /^\/v2\/acts\/([^/]+)\/builds$/,
      withActor((req, actor) => {
        const version = actor.versions.find((v) => v.versionNumber === req.query.get('version'));
        if (!version) return error(400, 'invalid-input', 'Actor version was not found');
        const count = builds.filter(
          (b) => b.actId === actor.id && b.actVersion.versionNumber === version.versionNumber,
        ).length;
        const now = new Date().toISOString();
        const build: Build = {
          id: `build${next++}`,
          actId: actor.id,
          status: buildStatus.value,
          buildNumber: `${version.versionNumber}.${count + 1}`,
          startedAt: now,
          finishedAt: now,
          actVersion: structuredClone(version),
        };
        builds.unshift(build);
        return { status: 201, json: { data: build } };
      }),
    ],
    [
      'GET',
      /^\/v2\/acts\/([^/]+)\/builds$/,
      withActor((_req, actor) => ({
        status: 200,
        json: {
          data: list(
            builds
              .filter((b) => b.actId === actor.id)
              .map(({ id, status, buildNumber, startedAt, finishedAt }) => ({
                id,
                status,
                buildNumber,
                startedAt,
                finishedAt,
              })),
          ),
        },
      })),
    ],
    [
      'GET',
      /^\/v2\/actor-builds\/([^/]+)$/,
      authed((req) => {
        const build = builds.find((b) => b.id === req.params[0]);
        return build
          ? { status: 200, json: { data: build } }
          : error(404, 'record-not-found', 'Actor build was not found');
      }),
    ],
  ]);
  return Object.assign(server, { actors, builds, buildStatus });
}
