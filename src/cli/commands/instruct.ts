/**
 * @module `autodev instruct ROLE MESSAGE`: leaves an operator instruction for a role; its next session receives it
 * (shown as trusted operator instructions in the prompt) and it is marked delivered with that session.
 */
import { addInstruction, MAX_INSTRUCTION_CHARS } from '../../agents/instructions.js';
import { isRole, ROLES } from '../../domain/roles.js';
import { AutodevError } from '../../errors.js';
import { assertStorableText } from '../../domain/input-policy.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { writeJson, writeLine } from '../format.js';

export interface InstructArgs {
  globals: GlobalOptions;
  role: string;
  message: string;
  json?: boolean | undefined;
}

export async function run(args: InstructArgs, deps: CliDeps): Promise<number> {
  if (!isRole(args.role)) {
    throw new AutodevError('VALIDATION_FAILED', `unknown role "${args.role}"; roles are ${ROLES.join(', ')}`);
  }
  const message = assertStorableText('<message>', args.message).trim();
  if (message === '' || message.length > MAX_INSTRUCTION_CHARS) {
    throw new AutodevError('VALIDATION_FAILED', `the message must be 1 to ${MAX_INSTRUCTION_CHARS} characters`);
  }
  const role = args.role;
  const id = await withContext(args.globals, deps, (ctx) =>
    addInstruction(ctx.handle.db, { role, message, createdBy: 'cli', now: deps.now() }),
  );
  if (args.json) writeJson(deps.stdout, { id, role, message, delivered_at: null });
  else writeLine(deps.stdout, `instruction ${id} for ${role} saved; its next session will receive it`);
  return 0;
}
