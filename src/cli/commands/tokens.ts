/**
 * @module `autodev tokens create --role viewer|approver|admin [--name N]`: creates an API token for the dashboard or
 * a script and prints it once (only its hash is stored).
 */
import { createApiToken, TOKEN_ROLES } from '../../server/api-tokens.js';
import { AutodevError } from '../../errors.js';
import { assertStorableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import type { TokenRole } from '../../store/schema.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { writeJson, writeLine } from '../format.js';

export interface TokensArgs {
  globals: GlobalOptions;
  action: 'create';
  role: string;
  name?: string | undefined;
  json?: boolean | undefined;
}

function isTokenRole(value: string): value is TokenRole {
  return (TOKEN_ROLES as readonly string[]).includes(value);
}

export async function run(args: TokensArgs, deps: CliDeps): Promise<number> {
  if (!isTokenRole(args.role)) {
    throw new AutodevError('VALIDATION_FAILED', `unknown role "${args.role}"; roles are ${TOKEN_ROLES.join(', ')}`);
  }
  const role = args.role;
  const name = assertStorableText('--name', args.name ?? `${role}-token`).trim();
  if (name === '' || name.length > TEXT_LIMITS.name) {
    throw new AutodevError('VALIDATION_FAILED', `the name must be 1 to ${TEXT_LIMITS.name} characters`);
  }
  const token = await withContext(args.globals, deps, (ctx) =>
    createApiToken(ctx.handle.db, { name, role, now: deps.now() }),
  );
  if (args.json) writeJson(deps.stdout, { name, role, token });
  else {
    writeLine(deps.stdout, token);
    writeLine(deps.stderr, `token "${name}" (${role}) created; it is shown only now, so keep it somewhere safe`);
  }
  return 0;
}
