/**
 * @module The dashboard's API client: the token (kept in sessionStorage), JSON requests with a bearer header, and one
 * shared EventSource on `/api/events` (token as `?access_token=`) that reconnects by itself. The answers' types come
 * from the server's zod schemas in src/domain/ (`import type` only: nothing of zod is bundled).
 */
import type { Me } from '../../src/domain/agent-schema.js';
import type { LiveEvent } from '../../src/domain/event-schema.js';

const TOKEN_KEY = 'autodev.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const token = init.token ?? getToken();
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? 'HTTP_ERROR', error?.message ?? `HTTP ${response.status}`);
  }
  return body as T;
}

export type { Agent, AgentsResponse, Instruction, Me } from '../../src/domain/agent-schema.js';
export type { ActivityBucket } from '../../src/domain/activity-schema.js';
export type { LiveEvent } from '../../src/domain/event-schema.js';
export type { ProviderStatus, ProvidersResponse } from '../../src/domain/provider-schema.js';
export type { Session, TranscriptEntry } from '../../src/domain/session-schema.js';
export type { Discussion, DiscussionsResponse, Proposal } from '../../src/domain/swarm-schema.js';
export type { Task } from '../../src/domain/task-schema.js';
export type Role = Me['role'];
export const canChange = (me: Me | null) => me?.role === 'approver' || me?.role === 'admin';

export const ROLES = ['pm', 'architect', 'builder', 'reviewer', 'tester', 'security', 'devops', 'bug_finder'];
export const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];

type Listener = (event: LiveEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;
let connected = false;
const connectionListeners = new Set<(connected: boolean) => void>();

function setConnected(value: boolean) {
  connected = value;
  for (const listener of connectionListeners) listener(value);
}

/** Opens the shared stream; the browser reconnects with Last-Event-ID after a drop (the server sends `retry:`). */
export function startLiveEvents(): void {
  const token = getToken();
  if (source || !token) return;
  source = new EventSource(`/api/events?access_token=${encodeURIComponent(token)}`);
  source.onopen = () => setConnected(true);
  source.onerror = () => {
    setConnected(false);
    // A closed stream (e.g. 401) is not retried by the browser: try again later with a fresh EventSource.
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(startLiveEvents, 3000);
    }
  };
  source.onmessage = deliver;
  // Frames carry `event: <kind>`, which only reaches listeners registered for that kind.
  for (const kind of EVENT_KINDS) source.addEventListener(kind, deliver);
}

/** Every kind Auto-Dev records (src/**: recordEvent); new kinds still refresh pages on their next poll. */
export const EVENT_KINDS = [
  'agent.restart_requested',
  'agent.scaled',
  'agent.started',
  'agent.status',
  'approval.created',
  'approval.decided',
  'discussion.posted',
  'instruction.created',
  'instruction.delivered',
  'instruction.returned',
  'proposal.approved',
  'proposal.created',
  'proposal.rejected',
  'proposal.voted',
  'provider.rate_limited',
  'schedule.fired',
  'session.finished',
  'session.started',
  'task.cancelled',
  'task.claimed',
  'task.completed',
  'task.created',
  'task.failed',
  'task.lease_expired',
  'task.released',
  'task.retried',
  'task.retry_scheduled',
  'webhook.received',
  'workflow.advanced',
  'workflow.cancelled',
  'workflow.created',
  'workflow.event_ignored',
  'workflow.resumed',
  'workflow.waiting_for_human',
];

function deliver(event: MessageEvent) {
  try {
    const data = JSON.parse(String(event.data)) as LiveEvent;
    for (const listener of listeners) listener(data);
  } catch {
    // Not an event frame.
  }
}

export function stopLiveEvents(): void {
  source?.close();
  source = null;
  setConnected(false);
}

export function onLiveEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
export function onConnection(listener: (connected: boolean) => void): () => void {
  connectionListeners.add(listener);
  listener(connected);
  return () => connectionListeners.delete(listener);
}
