/**
 * @module The one input policy of every entry point (HTTP routes, CLI commands, the queue): what text, numbers, ids
 * and JSON payloads Auto-Dev accepts, so both engines store the same things and refuse the same things with a clear
 * error naming the field, never a driver error.
 *
 * - Text: no NUL (PostgreSQL's `text` cannot hold U+0000) and no lone UTF-16 surrogate (it has no UTF-8 encoding;
 *   the driver would silently store U+FFFD instead). Each field has a documented maximum length.
 * - Whole numbers: documented bounds that fit their column (`integer` columns are int4: at most 2^31 - 1).
 * - Ids: canonical decimal digits only (`12`; never `012`, `1e1`, `0x1`, `+1`, ` 1`, `1\n`), 1..2^53 - 1.
 * - JSON payloads: a depth and a size limit, checked by an iterative walk (a payload nested 100,000 deep is refused
 *   without recursing into it).
 *
 * ### Examples
 * ```ts
 * const Body = z.strictObject({ title: storableText({ max: TEXT_LIMITS.title }) });
 * const id = parseIdText('task id', '12'); // 12; '1e1' throws VALIDATION_FAILED
 * ```
 */
import { z } from 'zod';
import { AutodevError, type ErrorCode } from '../errors.js';

/** The largest value of an `integer` (int4) column on PostgreSQL. */
export const INT4_MAX = 2_147_483_647;
/** The largest id Auto-Dev addresses: ids travel as JSON numbers. */
export const MAX_ID = Number.MAX_SAFE_INTEGER;
/** A task's attempts before it ends failed: at most this (settings, API, CLI). */
export const MAX_ATTEMPTS_LIMIT = 1000;

/** Maximum lengths (characters) of the text fields people and scripts send. */
export const TEXT_LIMITS = {
  /** Names: repositories, tokens, task types, roles. */
  name: 100,
  /** A story's or proposal's title. */
  title: 200,
  /** A story's body. */
  body: 20_000,
  /** Reasons and notes: cancel, approve, reject, resume. */
  reason: 4000,
  /** A repository's test, deploy or lint command. */
  command: 2000,
  /** A file system path. */
  path: 4096,
  /** A query value that is compared with stored text (a topic, a filter). */
  filter: 200,
  /** A pagination cursor. */
  cursor: 200,
} as const;

/** Task payloads: nesting depth and serialized size. */
export const PAYLOAD_LIMITS = { maxDepth: 64, maxBytes: 1024 * 1024 } as const;

/** With the u flag a paired surrogate is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `text` cannot be stored as sent, or undefined when it can. */
export function unstorableTextProblem(text: string): string | undefined {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return `contains a NUL character (\\u0000) at position ${nul}, which cannot be stored; remove it`;
  if (LONE_SURROGATE.test(text)) {
    return 'contains a lone UTF-16 surrogate (invalid Unicode), which cannot be stored; send valid UTF-8 text';
  }
  return undefined;
}

/** Throws VALIDATION_FAILED naming `field` when `text` cannot be stored. */
export function assertStorableText(field: string, text: string, max?: number): string {
  const problem = unstorableTextProblem(text);
  if (problem !== undefined) throw new AutodevError('VALIDATION_FAILED', `${field} ${problem}`);
  if (max !== undefined && text.length > max) {
    throw new AutodevError('VALIDATION_FAILED', `${field} must be at most ${max} characters (got ${text.length})`);
  }
  return text;
}

/** A zod string both engines can store: no NUL, no lone surrogate, at most `max` characters (trimmed if asked). */
export function storableText(options: { max: number; min?: number; trim?: boolean }) {
  let text = z.string();
  if (options.trim) text = text.trim();
  if (options.min !== undefined) text = text.min(options.min, `must be at least ${options.min} character(s)`);
  return text.max(options.max, `must be at most ${options.max} characters`).superRefine((value, ctx) => {
    const problem = unstorableTextProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const ID_TEXT = /^[1-9][0-9]{0,15}$/;
const COUNT_TEXT = /^(0|[1-9][0-9]{0,15})$/;

/** `what` as an id: canonical decimal digits, 1..MAX_ID. Else undefined. */
function idFromText(text: string): number | undefined {
  if (!ID_TEXT.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

function idMessage(what: string): string {
  return `${what} must be a positive whole number in plain decimal digits (e.g. 12), at most ${MAX_ID}`;
}

/** An id sent as text (a path parameter, a CLI argument): canonical decimal digits, 1..MAX_ID. */
export function idText(what: string) {
  const message = idMessage(what);
  return z.string().regex(ID_TEXT, message).transform(Number).pipe(z.int().min(1, message).max(MAX_ID, message));
}

/** The CLI's (and any caller's) id parser: throws VALIDATION_FAILED naming `what` unless `text` is canonical. */
export function parseIdText(what: string, text: string, hint = ''): number {
  const id = idFromText(text);
  if (id === undefined) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `${what} must be a positive whole number (got ${quoteInput(text)}), in plain decimal digits${hint}`,
    );
  }
  return id;
}

/** A whole number sent as text (a query value), canonical decimal digits within `min..max`. */
export function wholeNumberText(what: string, min: number, max: number) {
  const message = `${what} must be a whole number from ${min} to ${max} in plain decimal digits`;
  return z
    .string()
    .regex(COUNT_TEXT, message)
    .meta({ minimum: min, maximum: max })
    .transform(Number)
    .pipe(z.int().min(min, message).max(max, message));
}

/** The CLI's counterpart of `wholeNumberText`: throws `code` (default VALIDATION_FAILED) naming `what`. */
export function parseWholeNumberText(
  what: string,
  text: string,
  min: number,
  max: number,
  code: ErrorCode = 'VALIDATION_FAILED',
): number {
  const value = COUNT_TEXT.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new AutodevError(code, `${what} must be a whole number from ${min} to ${max} (got ${quoteInput(text)})`);
  }
  return value;
}

/** A whole number in a JSON body, within `min..max` (which fit its column). */
export function boundedInt(what: string, min: number, max: number) {
  const message = `${what} must be a whole number from ${min} to ${max}`;
  return z.int(message).min(min, message).max(max, message);
}

/**
 * Why `value` (parsed JSON) breaks `limits`, or undefined. Iterative: the depth check never recurses, so a payload
 * nested deeper than the stack is refused instead of crashing the serializer. Only after the depth is known to be
 * small is the value serialized to measure its size.
 */
export function jsonLimitProblem(
  value: unknown,
  limits: { maxDepth: number; maxBytes: number } = PAYLOAD_LIMITS,
): string | undefined {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  let approxBytes = 0;
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') {
      approxBytes += typeof node === 'string' ? node.length : 8;
      if (approxBytes > limits.maxBytes) return `is larger than ${limits.maxBytes} bytes`;
      continue;
    }
    if (depth >= limits.maxDepth) return `is nested deeper than ${limits.maxDepth} levels`;
    const children = Array.isArray(node) ? node : Object.values(node);
    approxBytes += 2 + (Array.isArray(node) ? 0 : Object.keys(node).reduce((sum, key) => sum + key.length + 3, 0));
    if (approxBytes > limits.maxBytes) return `is larger than ${limits.maxBytes} bytes`;
    for (const child of children) stack.push({ node: child, depth: depth + 1 });
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  return bytes > limits.maxBytes ? `is larger than ${limits.maxBytes} bytes (${bytes} bytes)` : undefined;
}

/** A user's input quoted for an error message: escaped (NUL, line breaks) and cut to 60 characters. */
export function quoteInput(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}...` : text;
  return JSON.stringify(shown.replace(/\p{Cs}/gu, '\uFFFD'));
}

/** A zod refinement adding the storable-text check to an existing string schema: `.superRefine(refuseUnstorable)`. */
export function refuseUnstorable(value: string, ctx: z.RefinementCtx): void {
  const problem = unstorableTextProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
}
