/**
 * @module A session's memory channel: the only way an agent session reaches the swarm's memory. The sandboxed MCP
 * server has no database and no credential, so the runner (host side) serves this session alone on a unix socket in
 * the session directory (already bound writable into the sandbox), with a random token valid for this session only,
 * until it ends (`close`) or `expiresAt`. What a token can do is fixed here, never by the request: search the notes
 * of the session's repository plus the global ones, and add an `agent_note` to that repository (at most
 * `maxAdds` per session). A request naming another task (`task_id`) or repository (`repo_id`) is refused (403);
 * a missing, wrong or expired token is 401; anything else is 404. The token file `memory-channel.json` is written
 * 0600 beside the socket for the MCP server; the runner never puts the token in a prompt or transcript.
 *
 * ## Protocol (HTTP/1.1 over the socket, JSON bodies, `Authorization: Bearer <token>`)
 * - `POST /v1/search {"query": "...", "limit"?: 1..10}` -> `{"notes": [{id, source, text, created_at, scope}]}`
 * - `POST /v1/add {"text": "..."}` -> `{"note": {id, source, text, created_at, scope}}`
 * Errors: `{"error": {"code", "message"}}`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { z } from 'zod';
import { AutodevError, ERRORS, isAutodevError, type ErrorCode } from '../errors.js';
import { storableText } from '../domain/input-policy.js';
import { MEMORY_LIMITS } from './memory-limits.js';
import type { MemoryNote, MemoryScope } from './memory-notes.js';
import type { MemoryService } from './memory-service.js';

export const MEMORY_SOCKET_FILE = 'memory.sock';
export const MEMORY_CHANNEL_FILE = 'memory-channel.json';
/** Linux's limit on a unix socket path (sun_path, 108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;
const MAX_BODY_BYTES = 16 * 1024;
export const MAX_SEARCH_RESULTS = 10;

/** What one session may reach: fixed when the channel opens. */
export interface MemoryChannelScope {
  sessionId: number;
  taskId: number;
  /** The task's repository; null: only the global notes. */
  repoId: number | null;
}

export interface OpenMemoryChannelOptions {
  sessionDir: string;
  scope: MemoryChannelScope;
  memory: MemoryService;
  /** ms since the epoch after which the token is refused even if the channel is still open. */
  expiresAt: number;
  clock?: () => number;
  /** Notes one session may add. */
  maxAdds?: number;
  /** Who the notes are by, e.g. `builder:builder-1`. */
  author: string;
}

export interface MemoryChannel {
  socketPath: string;
  /** Stops serving and revokes the token; idempotent. */
  close(): Promise<void>;
}

/** The file the MCP server reads to reach the channel. */
export const MemoryChannelFileSchema = z.object({ socket: z.string().min(1), token: z.string().min(20) });
export type MemoryChannelFile = z.infer<typeof MemoryChannelFileSchema>;

const SearchRequest = z.strictObject({
  query: storableText({ trim: true, min: 1, max: MEMORY_LIMITS.queryMaxChars }),
  limit: z.number().int().min(1).max(MAX_SEARCH_RESULTS).optional(),
  task_id: z.number().optional(),
  repo_id: z.number().nullable().optional(),
});
const AddRequest = z.strictObject({
  text: storableText({ trim: true, min: 1, max: MEMORY_LIMITS.textMaxChars }),
  task_id: z.number().optional(),
  repo_id: z.number().nullable().optional(),
});

/** A note as a session sees it: no author, and `scope` says whether it is the repository's or global. */
export function sessionNoteView(note: MemoryNote) {
  return {
    id: note.id,
    source: note.source,
    text: note.text,
    created_at: note.created_at,
    scope: note.repo_id === null ? 'global' : 'repository',
  };
}

/**
 * Opens the channel and writes `memory-channel.json`. Throws if the socket path would be too long for Linux.
 *
 * ### Examples
 * ```ts
 * const channel = await openMemoryChannel({ sessionDir, scope: { sessionId: 9, taskId: 4, repoId: 1 }, memory,
 *   expiresAt: Date.now() + 3_600_000, author: 'builder:builder-1' });
 * try { await runTheSession(); } finally { await channel.close(); }
 * ```
 */
export async function openMemoryChannel(options: OpenMemoryChannelOptions): Promise<MemoryChannel> {
  const clock = options.clock ?? Date.now;
  const socketPath = path.resolve(options.sessionDir, MEMORY_SOCKET_FILE);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `the memory socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter --data-dir`,
    );
  }
  const token = randomBytes(32).toString('base64url');
  const tokenHash = createHash('sha256').update(token).digest();
  let revoked = false;
  let adds = 0;
  const maxAdds = options.maxAdds ?? 20;
  const { scope } = options;
  const searchScope: MemoryScope =
    scope.repoId === null ? { kind: 'global' } : { kind: 'repo', repoId: scope.repoId, includeGlobal: true };

  const authorized = (header: string | undefined): boolean => {
    if (revoked || clock() >= options.expiresAt) return false;
    const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header ?? '');
    if (!match) return false;
    return timingSafeEqual(createHash('sha256').update(match[1]!).digest(), tokenHash);
  };
  const checkScope = (body: { task_id?: number | undefined; repo_id?: number | null | undefined }) => {
    if (body.task_id !== undefined && body.task_id !== scope.taskId) {
      throw new AutodevError('FORBIDDEN', `this session's token is for task ${scope.taskId} only`);
    }
    if (body.repo_id !== undefined && body.repo_id !== scope.repoId) {
      throw new AutodevError('FORBIDDEN', "this session's token is for its own task's repository only");
    }
  };

  const handle = async (request: http.IncomingMessage): Promise<{ status: number; body: unknown }> => {
    if (!authorized(request.headers.authorization)) {
      throw new AutodevError('UNAUTHORIZED', 'missing, wrong or expired session token');
    }
    if (request.method !== 'POST' || (request.url !== '/v1/search' && request.url !== '/v1/add')) {
      throw new AutodevError('NOT_FOUND', 'the memory channel serves POST /v1/search and POST /v1/add only');
    }
    const raw = await readBody(request);
    if (request.url === '/v1/search') {
      const body = parseRequest(SearchRequest, raw);
      checkScope(body);
      const notes = await options.memory.search({
        query: body.query,
        scope: searchScope,
        limit: body.limit ?? 5,
      });
      return { status: 200, body: { notes: notes.map(sessionNoteView) } };
    }
    const body = parseRequest(AddRequest, raw);
    checkScope(body);
    if (adds >= maxAdds) {
      throw new AutodevError('VALIDATION_FAILED', `this session already added ${maxAdds} notes, the most allowed`);
    }
    adds++;
    const note = await options.memory.add({
      repoId: scope.repoId,
      source: 'agent_note',
      text: body.text,
      subject: `task:${scope.taskId}`,
      createdBy: options.author,
      now: clock(),
    });
    return { status: 201, body: { note: sessionNoteView(note) } };
  };

  const server = http.createServer((request, response) => {
    handle(request)
      .catch((error: unknown) => {
        const code: ErrorCode = isAutodevError(error) ? error.code : 'INTERNAL';
        const message = isAutodevError(error) ? error.message : 'the memory channel failed; the runner logged it';
        return { status: ERRORS[code].status, body: { error: { code, message } } };
      })
      .then(({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await fs.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  // Only this process's uid may connect (the sandboxed session's uid maps to it); the session dir is 0700 anyway.
  await fs.chmod(socketPath, 0o600);
  const file: MemoryChannelFile = { socket: socketPath, token };
  await fs.writeFile(path.join(options.sessionDir, MEMORY_CHANNEL_FILE), `${JSON.stringify(file)}\n`, { mode: 0o600 });

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      revoked = true;
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => fs.rm(socketPath, { force: true }));
      return closing;
    },
  };
}

function parseRequest<T>(schema: z.ZodType<T>, raw: string): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new AutodevError('INVALID_JSON', 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw new AutodevError('VALIDATION_FAILED', detail);
  }
  return parsed.data;
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AutodevError('VALIDATION_FAILED', `the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
