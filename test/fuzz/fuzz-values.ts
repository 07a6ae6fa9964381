/**
 * @module Values for the fuzz tests of the API and the CLI: valid and boundary values read from a JSON schema, and
 * the hostile ones every field gets (NUL, lone surrogates, huge and negative numbers, 2^31, deep JSON, non-canonical
 * ids, long text). Also how to run a fast-check property with the suite's fixed seed and say how to rerun a failure.
 */
import fc from 'fast-check';

/** The seed of every fuzz run: fixed unless AUTODEV_FUZZ_SEED says otherwise, so CI repeats the same inputs. */
export const FUZZ_SEED = Number(process.env.AUTODEV_FUZZ_SEED ?? 11_2026);
/** Generated cases per property (the hard-coded examples come on top). */
export const FUZZ_RUNS = Number(process.env.AUTODEV_FUZZ_RUNS ?? 400);

/** `{"a":{"a":...1...}}` nested `depth` objects deep, as JSON text (never built as an object: no recursion). */
export function deepJsonText(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Ids written every way but the canonical one (each would address 1 if parsed loosely). */
export const NON_CANONICAL_IDS = ['1e0', '0x1', '+1', ' 1', '1 ', '1\n', '01', '1.0', '1_0', '１'];
/** The same, percent-encoded for a URL path (`%201`, `1%0A`, ...). */
export const NON_CANONICAL_ID_PATHS = [
  '1e0',
  '0x1',
  '+1',
  '%201',
  '1%20',
  '1%0A',
  '01',
  '1.0',
  '%2B1',
  '0',
  '-1',
  '2147483648',
  '9007199254740993',
  '99999999999999999999',
];
/** Path segments the router itself refuses or must not choke on. */
export const HOSTILE_PATH_SEGMENTS = [
  'a'.repeat(101),
  '1'.repeat(150),
  'x'.repeat(5000),
  '%',
  '%E0%A4%A',
  '%ZZ',
  '%00',
  '%C0%80',
  '%ED%A0%80',
  '..%2F..%2Fetc',
];

export const NUL_TEXTS = ['\u0000', 'a\u0000b', 'title\u0000', '\u0000'.repeat(50)];
export const LONE_SURROGATES = ['\ud800', 'x\udc00y'];
export const HOSTILE_NUMBERS = [
  2 ** 31,
  2 ** 31 - 1,
  2 ** 31 + 1,
  2 ** 32,
  2 ** 53,
  2 ** 63,
  -1,
  -(2 ** 31) - 1,
  0,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
];

/** Hostile values of any JSON type for a body field. */
export const HOSTILE_JSON_VALUES: unknown[] = [
  ...NUL_TEXTS,
  ...LONE_SURROGATES,
  ...HOSTILE_NUMBERS,
  ...NON_CANONICAL_IDS,
  null,
  true,
  [],
  {},
  [1, 2],
  { nested: { deeper: '\u0000' } },
  '',
  ' ',
  'x'.repeat(5000),
  'y'.repeat(70_000),
];

/** Hostile text for a query value or a CLI argument. */
export const HOSTILE_TEXTS = [
  ...NUL_TEXTS,
  ...LONE_SURROGATES,
  ...NON_CANONICAL_IDS,
  '2147483648',
  '9007199254740993',
  '-1',
  '0',
  '',
  ' ',
  'x'.repeat(5000),
  '--help',
  '../../etc/passwd',
];

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  default?: unknown;
}

/** Valid and boundary values for a JSON schema (depth-limited; `$ref`s resolved with `resolve`). */
export function validValue(
  schema: JsonSchema | undefined,
  resolve: (ref: string) => JsonSchema | undefined,
  hints: Record<string, fc.Arbitrary<unknown>> = {},
  name = '',
  depth = 0,
): fc.Arbitrary<unknown> {
  if (hints[name]) return hints[name]!;
  if (!schema || depth > 4) return fc.constant(undefined);
  if (schema.$ref) return validValue(resolve(schema.$ref), resolve, hints, name, depth + 1);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return fc.oneof(...branches.map((b) => validValue(b, resolve, hints, name, depth + 1)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -5);
      const max = schema.maximum ?? min + 100;
      const safeMax = Math.min(max, Number.MAX_SAFE_INTEGER);
      return fc.oneof(
        fc.constantFrom(min, safeMax),
        fc.integer({ min: Math.max(min, -1e9), max: Math.min(safeMax, 1e9) }),
      );
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(validValue(schema.items, resolve, hints, name, depth + 1), { maxLength: 3 });
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const entries = Object.entries(properties).map(([key, property]) => {
        const value = validValue(property, resolve, hints, key, depth + 1);
        return [key, required.has(key) ? value : fc.option(value, { nil: undefined })] as const;
      });
      if (entries.length === 0) return fc.constant({});
      return fc
        .record(Object.fromEntries(entries))
        .map((record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)));
    }
    default: {
      if (schema.pattern) return textForPattern(schema);
      const max = Math.min(schema.maxLength ?? 40, 40);
      const min = Math.min(schema.minLength ?? 0, max);
      return fc.oneof(
        fc.string({ minLength: min, maxLength: max }),
        fc.constant('x'.repeat(Math.max(min, schema.maxLength ?? 1))),
      );
    }
  }
}

/** Numbers-as-text patterns get numbers in range (plus their boundaries); other patterns get plain words. */
function textForPattern(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (/\[0-9\]|\\d/.test(schema.pattern ?? '')) {
    const min = schema.minimum ?? 1;
    const max = Math.min(schema.maximum ?? 5, 1e6);
    return fc.oneof(
      fc.constantFrom(String(min), String(max)),
      fc.integer({ min, max: Math.min(max, min + 5) }).map(String),
    );
  }
  return fc.constantFrom('task.', 'task.,approval.', 'workflow.');
}

/** Runs `property` with the suite's seed; a failure names the seed and the command that reruns it. */
export async function assertWithSeed<T>(
  property: fc.IAsyncPropertyWithHooks<[T]> | fc.IAsyncProperty<[T]>,
  examples: T[],
  rerun: string,
  runs = FUZZ_RUNS,
): Promise<void> {
  try {
    await fc.assert(property, {
      seed: FUZZ_SEED,
      numRuns: runs + examples.length,
      examples: examples.map((example) => [example] as [T]),
      endOnFailure: true,
      verbose: 1,
    });
  } catch (error) {
    const message = `${(error as Error).message}\n\nrerun this seed: AUTODEV_FUZZ_SEED=${FUZZ_SEED} AUTODEV_FUZZ_RUNS=${FUZZ_RUNS} ${rerun}`;
    throw Object.assign(new Error(message), { stack: message });
  }
}

/** `encodeURIComponent`, except that a lone surrogate (which it refuses) becomes its CESU-8 bytes: invalid UTF-8. */
export function percentEncode(text: string): string {
  return text
    .split(/(\p{Cs})/u)
    .map((part) => {
      if (!/^\p{Cs}$/u.test(part)) return encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join('');
    })
    .join('');
}
