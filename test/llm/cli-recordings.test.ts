/**
 * @module The recorded CLI output under test/fixtures stays identical to the shared reference it was copied from.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RECORDINGS_DIR } from '../support/fake-cli/fake-cli-harness.js';

// The shared reference sits beside the repository in the development workspace; a plain clone does not have it.
const REFERENCE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../shared/reference/cli-recordings',
);

// CI always has it (a missing reference is a failure there); a newcomer's clone elsewhere has nothing to compare to.
const REQUIRED = process.env.CI === 'true';

describe.skipIf(!REQUIRED && !existsSync(REFERENCE))('recorded CLI output fixtures', () => {
  it('the shared reference recordings are beside the repository', () => {
    expect(
      existsSync(REFERENCE),
      `${REFERENCE} is missing: the fixtures must be compared with the shared originals`,
    ).toBe(true);
  });

  it.each(['claude', 'codex'])('%s recordings match the shared reference byte for byte', (cli) => {
    const names = readdirSync(path.join(REFERENCE, cli)).sort();
    expect(readdirSync(path.join(RECORDINGS_DIR, cli)).sort()).toEqual(names);
    for (const name of names) {
      expect(readFileSync(path.join(RECORDINGS_DIR, cli, name), 'utf8'), name).toBe(
        readFileSync(path.join(REFERENCE, cli, name), 'utf8'),
      );
    }
  });
});
