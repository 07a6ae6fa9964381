/**
 * @module `--by` / `?by=` of the cost views: one of `COST_GROUPINGS` (default role), else a clear error. Imports no
 * zod, so the CLI names the groupings in its help without loading the schemas.
 */
import { AutodevError } from '../errors.js';

/** What the sessions' tokens and cost are grouped by. */
export const COST_GROUPINGS = ['task', 'story', 'role', 'provider', 'day'] as const;
export type CostGrouping = (typeof COST_GROUPINGS)[number];

export function parseGrouping(text: string | undefined, what = '--by'): CostGrouping {
  if (text === undefined) return 'role';
  if ((COST_GROUPINGS as readonly string[]).includes(text)) return text as CostGrouping;
  throw new AutodevError(
    'VALIDATION_FAILED',
    `${what} must be one of ${COST_GROUPINGS.join(', ')}; got ${JSON.stringify(text.slice(0, 40))}`,
  );
}
