import fc from 'fast-check';

/**
 * JSON text exactly as a hostile client may write it, which `JSON.stringify` cannot: number
 * tokens such as `-0`, `1e999` (Infinity once parsed) or `NaN` (not JSON at all), nesting deeper
 * than a recursive serializer survives, and own `__proto__` keys.
 */
export class RawJson {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
  /** How a counterexample shows it: deep nesting is 200,000 characters long. */
  [fc.toStringMethod]() {
    return this.text.length > 60 ? `raw(${JSON.stringify(this.text.slice(0, 60))}… ${this.text.length} chars)` : `raw(${JSON.stringify(this.text)})`;
  }
}

/** An object whose keys are all its own, `__proto__` included, as `JSON.parse` would build it. */
export function objectWithKeys(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${toJsonText((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** How a value travels as one query-string or path value: text as it is, anything else as JSON. */
export function toParameterText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (typeof value === 'string') return value;
  return toJsonText(value);
}

/**
 * A query string of the input's fields: arrays as repeated keys (as the REST bridge reads them),
 * everything else as one value.
 */
export function toQueryString(input: unknown): string {
  if (input === null || typeof input !== 'object' || input instanceof RawJson) {
    return input === undefined ? '' : `input=${percentEncode(toParameterText(input))}`;
  }
  const parts: string[] = [];
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      parts.push(`${percentEncode(key)}=${percentEncode(toParameterText(item))}`);
    }
  }
  return parts.join('&');
}

const LONE_SURROGATE = /([\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/;

/**
 * `encodeURIComponent`, except that a lone surrogate (which it refuses) goes out as the three
 * bytes a careless encoder would write for it: not valid UTF-8, which is the point.
 */
export function percentEncode(text: string): string {
  // Splitting on a capturing pattern leaves the lone surrogates at the odd indexes.
  return text
    .split(LONE_SURROGATE)
    .map((part, index) => {
      if (index % 2 === 0) return encodeURIComponent(part);
      const unit = part.charCodeAt(0);
      return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    })
    .join('');
}
