/**
 * @module The HTTP harness the publisher API stand-ins share (test/support/publish/*-stand-in.ts): a node:http
 * server on a free 127.0.0.1 port, routes by method and path pattern, raw and JSON bodies, a log of every request
 * (method, path with query, authorization header) so a test can check what was sent and that no token ever appeared
 * in a URL, and `failNext` to make the next matching request fail the way the API does (a partial publish).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  /** Path with query string. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** The body parsed as JSON when it is JSON; undefined otherwise. */
  json: unknown;
  params: string[];
}

export interface StandInResponse {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export type Route = [method: string, path: RegExp, handle: (req: StandInRequest) => StandInResponse];

export interface LoggedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface StandInServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  log: LoggedRequest[];
  /** The next request matching method and path pattern answers `response` instead of being handled. */
  failNext(method: string, path: RegExp, response: StandInResponse): void;
  close(): Promise<void>;
}

export async function startStandIn(routes: (base: () => string) => Route[]): Promise<StandInServer> {
  let base = '';
  const table = routes(() => base);
  const log: LoggedRequest[] = [];
  const faults: { method: string; path: RegExp; response: StandInResponse }[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const parsedUrl = new URL(request.url ?? '/', 'http://stand-in');
      const method = request.method ?? 'GET';
      log.push({ method, url: request.url ?? '/', authorization: request.headers.authorization });
      let json: unknown;
      if (String(request.headers['content-type'] ?? '').includes('application/json') && raw.length > 0) {
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          json = undefined;
        }
      }
      const send = (answer: StandInResponse) => {
        const body = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.text ?? '');
        response.writeHead(answer.status, {
          ...(answer.json !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          ...answer.headers,
        });
        response.end(body);
      };
      const faultIndex = faults.findIndex((f) => f.method === method && f.path.test(parsedUrl.pathname));
      if (faultIndex >= 0) {
        const [fault] = faults.splice(faultIndex, 1);
        if (fault) return send(fault.response);
      }
      for (const [routeMethod, pattern, handle] of table) {
        const match = routeMethod === method ? pattern.exec(parsedUrl.pathname) : null;
        if (!match) continue;
        try {
          return send(
            handle({
              method,
              url: request.url ?? '/',
              path: parsedUrl.pathname,
              query: parsedUrl.searchParams,
              headers: request.headers,
              raw,
              json,
              params: match.slice(1).map((p) => decodeURIComponent(p)),
            }),
          );
        } catch (error) {
          return send({ status: 500, json: { message: `stand-in bug: ${(error as Error).message}` } });
        }
      }
      send({ status: 404, json: { message: `Not Found (stand-in has no route ${method} ${parsedUrl.pathname})` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    log,
    failNext(method, path, response) {
      faults.push({ method, path, response });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The bearer (or GitHub `token`) credential of a request, or undefined. */
export function credential(req: StandInRequest): string | undefined {
  const match = /^(?:Bearer|token) (.+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}
