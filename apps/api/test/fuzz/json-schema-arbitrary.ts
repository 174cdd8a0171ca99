/**
 * fast-check arbitraries derived from a procedure's input schema, by way of `z.toJSONSchema()`
 * (the input side: what a client sends). zod-fast-check, the library for this, supports zod 3 and
 * fast-check 3 only (its 0.10.1 peers on `zod ^3.18` and `fast-check <4`), hence this module.
 */
import fc from 'fast-check';

/** The part of JSON Schema that `z.toJSONSchema()` writes for this API's inputs. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
}

/**
 * Values a property may also take besides random ones of its schema: the ids, names and tokens
 * that exist, so generated calls reach the rules behind validation and not only validation.
 * An array's items are asked for as `name[]`.
 */
export type PropertyHints = (name: string, schema: JsonSchema) => fc.Arbitrary<unknown> | undefined;

const noHints: PropertyHints = () => undefined;

/**
 * Values that satisfy the schema as JSON Schema can tell (refinements such as "distinct ids" or
 * "from before to" are zod's alone, so some values still fail them, which is worth sending too).
 */
export function arbitraryOf(schema: JsonSchema, hints: PropertyHints = noHints, name = ''): fc.Arbitrary<unknown> {
  const ownArbitrary = schemaArbitrary(schema, hints, name);
  const hinted = name ? hints(name, schema) : undefined;
  return hinted ? fc.oneof({ arbitrary: ownArbitrary, weight: 1 }, { arbitrary: hinted, weight: 2 }) : ownArbitrary;
}

function schemaArbitrary(schema: JsonSchema, hints: PropertyHints, name: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => schemaArbitrary(alternative, hints, name)));
  switch (schema.type) {
    case 'object':
      return objectArbitrary(schema, hints);
    case 'array':
      // The items of `ids` are hinted as `ids[]`.
      return fc.array(arbitraryOf(schema.items ?? {}, hints, name && `${name}[]`), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 10, (schema.minItems ?? 0) + 10),
      });
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return integerArbitrary(schema);
    case 'number':
      return fc.double({ min: lowerBound(schema), max: upperBound(schema), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

const ABSENT = Symbol('absent');

/**
 * Required fields always; an optional one a third of the time (so calls with several optional
 * fields still pass now and then), or two thirds if hinted (a refresh token, a cursor).
 */
function objectArbitrary(schema: JsonSchema, hints: PropertyHints): fc.Arbitrary<Record<string, unknown>> {
  const required = new Set(schema.required ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const value = arbitraryOf(property, hints, key);
    const presence = hints(key, property) === undefined ? 1 : 4;
    model[key] = required.has(key) ? value : fc.oneof({ arbitrary: fc.constant(ABSENT), weight: 2 }, { arbitrary: value, weight: presence });
  }
  return fc.record(model, { noNullPrototype: true }).map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== ABSENT)));
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'date-time') return isoDateTimeArbitrary;
  if (schema.format === 'uuid') return fc.uuid();
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? 1_000;
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((value) => value.length >= minLength && value.length <= maxLength);
  }
  const lengths = { minLength, maxLength: Math.min(maxLength, minLength + 40) };
  const ordinary = fc.oneof(
    fc.string({ ...lengths, unit: 'grapheme-ascii' }),
    fc.string({ ...lengths, unit: 'grapheme' }),
    fc.string({ ...lengths, unit: 'binary' }),
  );
  // Exactly at the bounds, where off-by-one mistakes live (in UTF-16 units, as zod counts).
  const atBounds = fc.constantFrom(minLength, maxLength).chain((length) => fc.string({ unit: 'grapheme-ascii', minLength: length, maxLength: length }));
  return fc.oneof({ arbitrary: ordinary, weight: 4 }, { arbitrary: atBounds, weight: 1 });
}

function lowerBound(schema: JsonSchema): number {
  if (schema.exclusiveMinimum !== undefined) return schema.exclusiveMinimum + (schema.type === 'integer' ? 1 : Number.EPSILON);
  return schema.minimum ?? -Number.MAX_SAFE_INTEGER;
}

function upperBound(schema: JsonSchema): number {
  if (schema.exclusiveMaximum !== undefined) return schema.exclusiveMaximum - (schema.type === 'integer' ? 1 : Number.EPSILON);
  return schema.maximum ?? Number.MAX_SAFE_INTEGER;
}

/** Mostly small values (ids that exist are small), sometimes the bounds, sometimes anywhere between. */
function integerArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const min = Math.max(lowerBound(schema), Number.MIN_SAFE_INTEGER);
  const max = Math.min(upperBound(schema), Number.MAX_SAFE_INTEGER);
  const near = fc.integer({ min: 0, max: Math.min(60, max - min) }).map((offset) => min + offset);
  const anywhere = fc.double({ min, max, noNaN: true }).map((value) => Math.min(max, Math.max(min, Math.round(value))));
  return fc.oneof({ arbitrary: near, weight: 5 }, { arbitrary: fc.constantFrom(min, max), weight: 1 }, { arbitrary: anywhere, weight: 1 });
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/**
 * ISO 8601 date-times with an offset, across the whole grammar zod accepts: any year of four
 * digits (the API takes 1000–9999), offsets up to ±23:59, none to nine fraction digits.
 */
export const isoDateTimeArbitrary: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof({ arbitrary: fc.integer({ min: 1990, max: 2100 }), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 9999 }), weight: 1 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
    offset: fc.oneof(
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
        .map(([sign, hours, minutes]) => `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`),
    ),
  })
  .map(
    ({ year, month, day, hour, minute, second, fraction, offset }) =>
      `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction === undefined ? '' : `.${fraction}`}${offset}`,
  );
