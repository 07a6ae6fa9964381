/**
 * @module Masks known secret values in text and in nested JSON before anything is stored: each value, its
 * JSON-escaped form, and its base64 forms (standard and url-safe; whole, and the three alignments of the value inside
 * a longer encoded string, as `echo "$KEY" | base64` or `base64 ~/.env` would print it) become `[masked]`. Which
 * values are secret is `known-secrets.ts`'s job; values shorter than `MIN_SECRET_LENGTH` are ignored (too many false
 * hits in ordinary text).
 *
 * ### Examples
 * ```ts
 * const masker = new SecretMasker(['sk-ant-0123456789']);
 * masker.maskText('key=sk-ant-0123456789') // 'key=[masked]'
 * masker.mask({ out: [Buffer.from('sk-ant-0123456789').toString('base64')] }) // { out: ['[masked]'] }
 * ```
 */

export const MASK = '[masked]';
/** Shorter values are not masked: `admin`, `true` or a port number would be masked everywhere. */
export const MIN_SECRET_LENGTH = 8;

const BASE64_ALIGNMENTS = [0, 1, 2] as const;

const toUrlSafe = (base64: string) => base64.replaceAll('+', '-').replaceAll('/', '_');

/**
 * The base64 text that `value`'s bytes always encode to, wherever they sit in a longer string: with `offset` (0-2)
 * bytes before it in its 3-byte group, the characters that mix with the neighbours' bits are left out.
 */
function embeddedBase64(bytes: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
  const totalBits = (offset + bytes.length) * 8;
  return encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(totalBits / 6));
}

/** Every form of `value` that is masked: itself, JSON-escaped, and its base64 encodings. */
export function secretForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1)]);
  const whole = bytes.toString('base64');
  forms.add(whole);
  forms.add(toUrlSafe(whole));
  for (const offset of BASE64_ALIGNMENTS) {
    const fragment = embeddedBase64(bytes, offset);
    forms.add(fragment);
    forms.add(toUrlSafe(fragment));
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where more secret values may appear while the process runs (a login writes a credentials file). */
export interface SecretSource {
  read: () => Iterable<string>;
  /** Read again at most this often, when something is masked. */
  everyMs: number;
  now?: () => number;
}

export class SecretMasker {
  private readonly values = new Set<string>();
  private pattern: RegExp | null = null;
  private readonly sources: { source: SecretSource; readAt: number }[] = [];

  constructor(values: Iterable<string> = []) {
    this.register(...values);
  }

  /** Reads `source` now and again, at most every `everyMs`, before masking: values that appear later are masked too. */
  addSource(source: SecretSource): void {
    const now = source.now ?? Date.now;
    this.register(...source.read());
    this.sources.push({ source, readAt: now() });
  }

  private refresh(): void {
    for (const entry of this.sources) {
      const now = (entry.source.now ?? Date.now)();
      if (now - entry.readAt < entry.source.everyMs) continue;
      entry.readAt = now;
      this.register(...entry.source.read());
    }
  }

  /** Adds secret values (e.g. a token created after start); shorter ones than `MIN_SECRET_LENGTH` are ignored. */
  register(...values: (string | undefined | null)[]): void {
    for (const raw of values) {
      const value = raw?.trim();
      if (!value || value.length < MIN_SECRET_LENGTH || this.values.has(value)) continue;
      this.values.add(value);
      this.pattern = null;
    }
  }

  /** How many secret values are known. */
  get size(): number {
    return this.values.size;
  }

  private regex(): RegExp | null {
    if (this.pattern === null && this.values.size > 0) {
      const forms = new Set<string>();
      for (const value of this.values) for (const form of secretForms(value)) forms.add(form);
      // Longest first: the alternation takes the first form that matches at a position.
      const sorted = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.pattern = new RegExp(sorted.join('|'), 'g');
    }
    return this.pattern;
  }

  /** `text` with every form of every known secret replaced by `[masked]`. */
  maskText(text: string): string {
    if (this.sources.length > 0) this.refresh();
    const regex = this.regex();
    if (!regex || text.length < MIN_SECRET_LENGTH) return text;
    regex.lastIndex = 0;
    return regex.test(text) ? text.replace(regex, MASK) : text;
  }

  /** A copy of `value` with every string in it (nested in arrays and objects, keys included) masked. */
  mask<T>(value: T): T {
    return this.maskValue(value) as T;
  }

  private maskValue(value: unknown): unknown {
    if (typeof value === 'string') return this.maskText(value);
    if (Array.isArray(value)) return value.map((item) => this.maskValue(item));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.maskText(key), this.maskValue(item)]));
    }
    return value;
  }
}
