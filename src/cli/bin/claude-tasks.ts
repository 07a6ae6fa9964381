#!/usr/bin/env node
/**
 * @module The `claude-tasks` executable: the same as `autodev tasks ...` (the guide's name for it).
 */
import { startCli } from './start.js';

await startCli(['tasks']);
