/**
 * @module Small shared pieces of the dashboard: navigation, data loading that refreshes on live events, status
 * badges, times, and the sanitized Markdown and JSON views.
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { onLiveEvent, type ApiError, type LiveEvent } from './api.js';

export function navigate(to: string): void {
  history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return path;
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  reload: () => void;
}

/**
 * Loads with `load` now, again when `deps` change, and again (at most every 300 ms) when a live event passes
 * `refreshOn`; also every `pollMs` if given.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
  refreshOn?: (event: LiveEvent) => boolean,
  pollMs?: number,
): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useCallback(() => {
    loadRef.current().then(
      (value) => {
        setData(value);
        setError(undefined);
      },
      (failure: unknown) => setError(failure instanceof Error ? failure : new Error(String(failure))),
    );
  }, []);
  useEffect(() => {
    setData(undefined);
    run();
  }, deps);
  const refreshRef = useRef(refreshOn);
  refreshRef.current = refreshOn;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onLiveEvent((event) => {
      if (!refreshRef.current?.(event) || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        run();
      }, 300);
    });
    const poll = pollMs ? setInterval(run, pollMs) : undefined;
    return () => {
      off();
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
    };
  }, [run, pollMs]);
  return { data, error, reload: run };
}

export function Status({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/[^a-z_]/g, '')}`}>{value.replace(/_/g, ' ')}</span>;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function ago(iso: string): string {
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error.message}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Loading() {
  return <p className="muted">Loading…</p>;
}

/** JSON as text (React escapes it; nothing in it is interpreted). */
export function JsonView({ value }: { value: unknown }) {
  return <pre className="json">{value === undefined ? '—' : JSON.stringify(value, null, 2)}</pre>;
}

/**
 * Runs a request from a button or form: `busy` while it runs, and its failure (or an Error the function throws for
 * bad input) as `error` for an `<ErrorNote>`.
 */
export function useSend<A extends unknown[]>(send: (...args: A) => Promise<void>) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const run = async (...args: A) => {
    setError(undefined);
    setBusy(true);
    try {
      await send(...args);
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}
