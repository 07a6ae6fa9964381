/**
 * @module Which LLM providers can run agent sessions (`GET /api/providers`): a plain warning with what to do when none
 * the agents use can (no login, no executable, rate limited), else one line per provider. Shown on the overview
 * beside the agents.
 */
import { api, type ProviderStatus, type ProvidersResponse } from './api.js';
import { ErrorNote, time, useLoad } from './ui.js';

function problemOf(p: ProviderStatus): string | null {
  if (!p.executable.found) return p.executable.problem ?? 'its CLI was not found';
  if (!p.login.logged_in) return 'not logged in';
  if (p.limited_until)
    return `rate limited until ${time(p.limited_until)}${p.limit_reason ? ` (${p.limit_reason})` : ''}`;
  return null;
}

function usedBy(p: ProviderStatus): string {
  const roles = p.used_by.filter((r) => r !== 'fallback');
  const fallback = p.used_by.includes('fallback');
  if (roles.length === 0) return fallback ? 'fallback' : 'not used';
  const who = roles.length >= 8 ? 'all roles' : roles.join(', ');
  return fallback ? `${who}; fallback` : who;
}

export function useProviders() {
  return useLoad(
    () => api<ProvidersResponse>('/api/providers'),
    [],
    (e) => e.kind.startsWith('provider.') || e.kind === 'session.finished',
    // A login happens outside Auto-Dev (`claude login`): look again now and then.
    30_000,
  );
}

/** The warning shown when no provider the agents use can run; nothing when one can. */
export function NoProviderNotice({ data }: { data: ProvidersResponse | undefined }) {
  if (!data || data.can_run) return null;
  const used = data.providers.filter((p) => p.used_by.length > 0);
  const onlyLimited = data.logged_in_any;
  return (
    <div className="notice" role="status" data-testid="no-provider">
      <h2>{onlyLimited ? 'Every LLM provider the agents use is rate limited' : 'No LLM provider is logged in'}</h2>
      <p>
        {onlyLimited
          ? 'Agents wait for the reset; tasks stay pending and no attempt is counted.'
          : 'Agents cannot run any session until one is: tasks stay pending.'}
      </p>
      <ul>
        {used.map((p) => (
          <li key={p.name}>
            <b>{p.name}</b> <span className="muted">({usedBy(p)})</span>: {problemOf(p)}
            {!p.login.logged_in ? <> — {p.login.how_to_login}.</> : null}
          </li>
        ))}
      </ul>
      {!onlyLimited ? (
        <p className="muted">
          Or choose a provider that is logged in with <code>llm.default_provider</code> (and{' '}
          <code>llm.fallback_provider</code>) in settings.yaml. Restart <code>autodev up</code> after changing the
          environment or settings.
        </p>
      ) : null}
    </div>
  );
}

/** One line per provider: usable or what is wrong. */
export function ProvidersCard({ providers }: { providers: ReturnType<typeof useProviders> }) {
  const data = providers.data;
  return (
    <section className="card" aria-label="LLM providers">
      <h2>LLM providers</h2>
      <ErrorNote error={providers.error} />
      {data ? (
        <ul className="providers">
          {data.providers.map((p) => {
            const problem = problemOf(p);
            return (
              <li key={p.name} data-testid={`provider-${p.name}`}>
                <span className={problem ? 'error-text' : 'ok'} aria-hidden="true">
                  {problem ? '✗' : '✓'}
                </span>{' '}
                <b>{p.name}</b> <span className="muted">({usedBy(p)})</span>:{' '}
                {problem ?? <>ready{p.login.via ? <span className="muted"> via {p.login.via}</span> : null}</>}
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
