/**
 * @module Which recorded session the demo plays for which request: one file in `examples/recordings/` per role, task
 * type and round (0 = the feature, n = the n-th fix round). Pure lookup plus the directory they ship in.
 */
import path from 'node:path';
import { findPackageRoot } from '../config/package-root.js';
import type { Role } from '../domain/roles.js';

export interface RecordingKey {
  role: Role;
  taskType: string;
  round: number;
}

interface RecordingEntry extends RecordingKey {
  file: string;
}

/** Every session of the demo story, in the order they run. */
export const DEMO_RECORDINGS: readonly RecordingEntry[] = [
  { role: 'pm', taskType: 'create_user_story', round: 0, file: '01-pm-create-user-story.jsonl' },
  { role: 'architect', taskType: 'write_spec', round: 0, file: '02-architect-write-spec.jsonl' },
  { role: 'builder', taskType: 'implement_feature', round: 0, file: '03-builder-implement-feature.jsonl' },
  { role: 'reviewer', taskType: 'review_mr', round: 0, file: '04-reviewer-review-mr-round-0.jsonl' },
  { role: 'tester', taskType: 'run_tests', round: 0, file: '04-tester-run-tests-round-0.jsonl' },
  { role: 'security', taskType: 'security_scan', round: 0, file: '04-security-scan-round-0.jsonl' },
  { role: 'builder', taskType: 'implement_fix', round: 1, file: '05-builder-implement-fix-round-1.jsonl' },
  { role: 'reviewer', taskType: 'review_mr', round: 1, file: '06-reviewer-review-mr-round-1.jsonl' },
  { role: 'tester', taskType: 'run_tests', round: 1, file: '06-tester-run-tests-round-1.jsonl' },
  { role: 'security', taskType: 'security_scan', round: 1, file: '06-security-scan-round-1.jsonl' },
];

/** The roles whose agents the demo runs (DevOps deploys without a session: `agents/run-deploy-task.ts`). */
export const DEMO_ROLES: readonly Role[] = ['pm', 'architect', 'builder', 'reviewer', 'tester', 'security', 'devops'];

/** `examples/recordings/` of this installation. */
export function recordingsDir(): string {
  return path.join(findPackageRoot(), 'examples', 'recordings');
}

/** The recording for a request, or undefined when the demo has none (e.g. a third fix round). */
export function recordingFor(key: RecordingKey, dir: string = recordingsDir()): string | undefined {
  const entry = DEMO_RECORDINGS.find(
    (e) => e.role === key.role && e.taskType === key.taskType && e.round === key.round,
  );
  return entry ? path.join(dir, entry.file) : undefined;
}

/** The round a task was started for: `payload.round` when it is a whole number, else 0. */
export function roundOf(payload: Record<string, unknown>): number {
  const round = payload.round;
  return typeof round === 'number' && Number.isInteger(round) && round >= 0 ? round : 0;
}
