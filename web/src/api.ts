/**
 * @module The dashboard's API client: the token (kept in sessionStorage), JSON requests with a bearer header, and one
 * shared EventSource on `/api/events` (token as `?access_token=`) that reconnects by itself.
 */
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

export type Role = 'viewer' | 'approver' | 'admin';
export interface Me {
  name: string;
  role: Role;
}
export const canChange = (me: Me | null) => me?.role === 'approver' || me?.role === 'admin';

export interface Agent {
  instance_id: string;
  role: string;
  status: string;
  current_task_id: number | null;
  provider: string | null;
  detail: string | null;
  host: string;
  pid: number;
  heartbeat_at: string;
}
export interface AgentsResponse {
  /** Live agents; those of processes that are gone are only counted in `folded`. */
  agents: Agent[];
  folded: { stopped: number; crashed: number };
  provider_limits: Array<{ provider: string; limited_until: string; reason: string }>;
  today: { tokens: number; tokens_in: number; tokens_out: number; cost_usd: number; daily_budget: number };
}
export interface Task {
  id: number;
  type: string;
  status: string;
  priority: number;
  payload: Record<string, unknown>;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
  created_by: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}
export interface Session {
  id: number;
  task_id: number | null;
  role: string;
  provider: string;
  model: string | null;
  status: string;
  outcome: string | null;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  started_at: string;
  finished_at: string | null;
}
export interface TranscriptEntry {
  seq: number;
  kind: string;
  data: unknown;
  at: string;
}
export interface Instruction {
  id: number;
  role: string;
  message: string;
  created_by: string;
  created_at: string;
  delivered_at: string | null;
  delivered_to_session_id: number | null;
}
export interface Discussion {
  id: number;
  topic: string;
  author: string;
  author_kind: 'agent' | 'human';
  body: string;
  reply_to: number | null;
  task_id: number | null;
  created_at: string;
}
export interface DiscussionsResponse {
  discussions: Discussion[];
  topics: Array<{ topic: string; messages: number; last_at: string }>;
}
export interface Proposal {
  id: number;
  title: string;
  body: string;
  kind: 'story' | 'product';
  author: string;
  repo_id: number | null;
  source_task_id: number | null;
  votes_for: number;
  votes_against: number;
  votes: Array<{ voter: string; vote: 'up' | 'down'; reason: string | null; created_at: string }>;
  status: 'open' | 'approved' | 'rejected';
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
  workflow_id: number | null;
  task_id: number | null;
  created_at: string;
  updated_at: string;
}
export interface ActivityBucket {
  day: string;
  completed: number;
  failed: number;
  cost_usd: number;
  tokens: number;
}
export interface ProviderStatus {
  name: 'claude' | 'codex';
  used_by: string[];
  executable: { found: boolean; path: string | null; problem: string | null };
  login: { logged_in: boolean; via: string | null; how_to_login: string };
  limited_until: string | null;
  limit_reason: string | null;
  usable: boolean;
}
export interface ProvidersResponse {
  providers: ProviderStatus[];
  default_provider: string;
  fallback_provider: string | null;
  forced_provider: string | null;
  can_run: boolean;
  logged_in_any: boolean;
}
export interface LiveEvent {
  id: number;
  kind: string;
  subject_type: string;
  subject_id: string;
  actor: string;
  created_at: string;
}

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
