/**
 * @module What a webhook is told: the four moments a human is needed, read from the change log (`events`), and the
 * two wire forms: Slack-compatible (`{"text"}` with mrkdwn, which Slack, Mattermost and Rocket.Chat accept) and plain
 * JSON (`{"event", "title", "text", "path", "subject", "at"}`). Pure.
 */
import type { NotifyEventName } from '../config/settings-schema.js';
import type { EventRow } from '../store/schema.js';

export interface NotifyMessage {
  event: NotifyEventName;
  title: string;
  text: string;
  /** The dashboard path that shows it (relative: Auto-Dev does not know the URL people reach it by). */
  path: string;
  subject: { type: string; id: string };
  /** ISO 8601 with zone. */
  at: string;
}

export interface NotifyItem {
  /** Unique per moment: the same approval opening is sent once per webhook, whoever reads the log. */
  dedupeKey: string;
  message: NotifyMessage;
}

function data(row: EventRow): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(row.data);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/**
 * The message for one event, or null when it needs nobody. `hasFallback(provider)` says whether the agents have a
 * usable provider to fall back on while `provider` is limited (only a limit without one is worth a nudge).
 */
export function messageForEvent(row: EventRow, hasFallback: (provider: string) => boolean): NotifyItem | null {
  const at = new Date(row.created_at).toISOString();
  const d = data(row);
  if (row.kind === 'approval.created') {
    const workflowId = typeof d.workflow_id === 'number' ? d.workflow_id : null;
    const kind = text(d.kind) ?? 'an';
    const title = text(d.title) ?? `approval ${row.subject_id}`;
    return {
      dedupeKey: `approval:${row.subject_id}`,
      message: {
        event: 'approval_opened',
        title: `Approval needed: ${title}`,
        text: `A ${kind} approval is waiting for a decision${workflowId !== null ? ` (story ${workflowId})` : ''}.`,
        path: workflowId !== null ? `/stories/${workflowId}` : `/approvals`,
        subject: { type: 'approval', id: row.subject_id },
        at,
      },
    };
  }
  if (row.kind === 'workflow.waiting_for_human') {
    return {
      dedupeKey: `waiting:${row.id}`,
      message: {
        event: 'waiting_for_human',
        title: `Story ${row.subject_id} waits for a human`,
        text: text(d.summary) ?? 'The agents stopped and need a decision: resume it with a note, or cancel it.',
        path: `/stories/${row.subject_id}`,
        subject: { type: 'workflow', id: row.subject_id },
        at,
      },
    };
  }
  if (row.kind === 'provider.rate_limited') {
    if (hasFallback(row.subject_id)) return null;
    const until = typeof d.until === 'number' ? new Date(d.until).toISOString() : 'an unknown time';
    return {
      dedupeKey: `rate_limited:${row.id}`,
      message: {
        event: 'rate_limited',
        title: `Provider ${row.subject_id} is rate-limited with no fallback`,
        text: `Agents using ${row.subject_id} wait until ${until}${text(d.reason) ? ` (${text(d.reason)})` : ''}.`,
        path: '/',
        subject: { type: 'provider', id: row.subject_id },
        at,
      },
    };
  }
  return null;
}

/** The daily budget message; one per UTC day. */
export function budgetSpentMessage(day: string, used: number, budget: number, now: number): NotifyItem {
  return {
    dedupeKey: `budget:${day}`,
    message: {
      event: 'budget_spent',
      title: 'The daily token budget is spent',
      text: `${used} of ${budget} tokens used on ${day}; agents wait until 00:00 UTC (or raise tokens.daily_budget).`,
      path: '/',
      subject: { type: 'budget', id: day },
      at: new Date(now).toISOString(),
    },
  };
}

/** The request body for a webhook of `format`. */
export function webhookBody(format: 'slack' | 'json', message: NotifyMessage): unknown {
  if (format === 'json') return message;
  const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { text: `*${escape(message.title)}*\n${escape(message.text)}\nDashboard: ${escape(message.path)}` };
}
