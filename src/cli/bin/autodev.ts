#!/usr/bin/env node
/**
 * @module The `autodev` executable.
 */
import { startCli } from './start.js';

await startCli([]);
