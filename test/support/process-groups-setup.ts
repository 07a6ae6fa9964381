/**
 * @module Vitest setup file (every test file): no child process outlives its test. The process groups started
 * during a test (`spawnInGroup` / `execFileInGroup`) are SIGKILLed after it, passed or failed or timed out, once the
 * test's own `afterEach` hooks have stopped them gracefully (after the last one of `it.concurrent` tests that run
 * together); those started in `beforeAll` after the file; all of them when the test process exits.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { killTrackedGroups, killTrackedGroupsOnExit, setChildScope } from './child-processes.js';

/** Tests running now: `it.concurrent` tests overlap, and one's end must not kill another's children. */
let running = 0;

beforeEach(() => {
  running++;
  setChildScope('test');
});

afterEach(() => {
  running--;
  if (running > 0) return; // the last of a concurrent run kills the children of all of them
  setChildScope('file');
  killTrackedGroups('test');
});

afterAll(() => {
  killTrackedGroups();
});

killTrackedGroupsOnExit();
