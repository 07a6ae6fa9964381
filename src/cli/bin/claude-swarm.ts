#!/usr/bin/env node
/**
 * @module The `claude-swarm` executable: the same as `autodev swarm ...` (the guide's name for it).
 */
import { startCli } from './start.js';

await startCli(['swarm']);
