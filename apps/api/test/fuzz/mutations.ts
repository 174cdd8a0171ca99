import fc from 'fast-check';
import { hostileKey, hostileValue } from './hostile-values';
import { arbitraryOf, type JsonSchema, type PropertyHints } from './json-schema-arbitrary';
import { objectWithKeys } from './json-text';

/**
 * One change to a well-formed input. Kept as data, applied when the call is made, so a
 * counterexample reads as "this valid input, with field 2 replaced by that".
 */
export type Mutation =
  /** A field (by index among the schema's fields and the value's own keys; `path` goes into nested objects) gets a hostile value. */
  | { kind: 'replace'; path: number[]; value: unknown }
  /** A field goes missing. */
  | { kind: 'drop'; path: number[] }
  /** A field the schema does not have appears. */
  | { kind: 'add'; key: string; value: unknown }
  /** The whole input is something else. */
  | { kind: 'whole'; value: unknown };

export interface FuzzInput {
  valid: unknown;
  mutations: Mutation[];
}

const fieldPath = fc.array(fc.nat(), { minLength: 1, maxLength: 2 });

function mutationArbitrary(planted: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> {
  const value = fc.oneof({ arbitrary: hostileValue, weight: 4 }, { arbitrary: planted, weight: 1 });
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('replace' as const), path: fieldPath, value }), weight: 5 },
    { arbitrary: fc.record({ kind: fc.constant('drop' as const), path: fieldPath }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('add' as const), key: hostileKey, value }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('whole' as const), value: hostileValue }), weight: 1 },
  );
}

/**
 * A well-formed input of the schema (none when the procedure takes none), left as it is two
 * times in five so calls get past validation, otherwise changed one to three times.
 *
 * @param planted values worth planting anywhere: the world's ids, names and tokens
 */
export function fuzzInputArbitrary(schema: JsonSchema | undefined, hints: PropertyHints, planted: fc.Arbitrary<unknown>): fc.Arbitrary<FuzzInput> {
  const valid = schema ? arbitraryOf(schema, hints) : fc.constant(undefined);
  const mutations = fc.oneof(
    { arbitrary: fc.constant([] as Mutation[]), weight: 2 },
    { arbitrary: fc.array(mutationArbitrary(planted), { minLength: 1, maxLength: 3 }), weight: 3 },
  );
  return fc.record({ valid, mutations });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The schema's fields and the value's own keys, in a stable order. */
function fieldsOf(value: Record<string, unknown>, schema: JsonSchema | undefined): string[] {
  return [...new Set([...Object.keys(schema?.properties ?? {}), ...Object.keys(value)])];
}

function withField(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const entries = Object.keys(object)
    .filter((own) => own !== key)
    .map((own): [string, unknown] => [own, object[own]]);
  if (value !== undefined) entries.push([key, value]);
  return objectWithKeys(entries);
}

/** Applies changes at a field path, copying along the way (generated values are shared by fast-check). */
function changeAt(value: unknown, schema: JsonSchema | undefined, path: number[], change: (current: unknown) => unknown): unknown {
  const object = isPlainObject(value) ? value : {};
  const fields = fieldsOf(object, schema);
  const [index = 0, ...rest] = path;
  if (fields.length === 0) return change(value);
  const key = fields[index % fields.length] as string;
  const current = object[key];
  const next = rest.length > 0 && isPlainObject(current) ? changeAt(current, schema?.properties?.[key], rest, change) : change(current);
  return withField(object, key, next);
}

export function applyMutations(input: FuzzInput, schema: JsonSchema | undefined): unknown {
  let value = input.valid;
  for (const mutation of input.mutations) {
    switch (mutation.kind) {
      case 'replace':
        value = changeAt(value, schema, mutation.path, () => mutation.value);
        break;
      case 'drop':
        value = changeAt(value, schema, mutation.path, () => undefined);
        break;
      case 'add':
        value = withField(isPlainObject(value) ? value : {}, mutation.key, mutation.value);
        break;
      case 'whole':
        value = mutation.value;
        break;
    }
  }
  return value;
}
