/**
 * @module Vitest setup file (every test file): no child process outlives its test. The process groups started
 * during a test (`spawnInGroup` / `execFileInGroup`) are SIGKILLed after it, passed or failed or timed out, once the
 * test's own `afterEach` hooks have stopped them gracefully; those started in `beforeAll` after the file; all of them
 * when the test process exits.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { killTrackedGroups, setChildScope } from './child-processes.js';

beforeEach(() => {
  setChildScope('test');
});

afterEach(() => {
  setChildScope('file');
  killTrackedGroups('test');
});

afterAll(() => {
  killTrackedGroups();
});

process.once('exit', () => killTrackedGroups());
