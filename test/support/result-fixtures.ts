/**
 * @module Keeps the results that tests complete tasks with honest: a result that stands for an agent's must pass the
 * task type's result contract (`validateResult`, what `submit_result` enforces on a real agent), so a fixture cannot
 * drift from what real agents must submit. The test helpers that complete tasks by hand call `checkedResult`.
 */
import { validateResult } from '../../src/agents/result-contracts.js';

/** `value`, after checking it is a result an agent could submit for a `type` task; throws naming the broken field. */
export function checkedResult<T>(type: string, value: T): T {
  const outcome = validateResult(type as never, value);
  if (!outcome.ok) throw new Error(`test fixture is not a valid agent result: ${outcome.reason}`);
  return value;
}
