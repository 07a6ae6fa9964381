/**
 * @module `--by` / `?by=` of the cost views: one of `COST_GROUPINGS` (default role), else a clear error.
 */
import { AutodevError } from '../errors.js';
import { COST_GROUPINGS, type CostGrouping } from './costs-schema.js';

export function parseGrouping(text: string | undefined, what = '--by'): CostGrouping {
  if (text === undefined) return 'role';
  if ((COST_GROUPINGS as readonly string[]).includes(text)) return text as CostGrouping;
  throw new AutodevError(
    'VALIDATION_FAILED',
    `${what} must be one of ${COST_GROUPINGS.join(', ')}; got ${JSON.stringify(text.slice(0, 40))}`,
  );
}
