import fc from 'fast-check';
import { objectWithKeys, RawJson } from './json-text';

/**
 * What a hostile client puts where a value belongs. Each arbitrary is named for the kind of
 * trouble it makes, so a counterexample says what it was trying.
 */

/** Text that breaks naive handling of Unicode: unpaired surrogates, NUL, direction overrides, combining marks, look-alikes. */
const UNICODE_EDGES = [
  '\uD800',
  '\uDFFF',
  'a\uD83D',
  '\uDE00b',
  '\u0000',
  'a\u0000b',
  '\u202Eevil\u202C',
  '\u200F\u05D0\u05D1',
  '\u200B',
  '\uFEFF',
  '\u2028\u2029',
  'e\u0301',
  'Z\u0335\u0321\u0322\u031B\u0317\u0318\u0319',
  '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}',
  '\u{1F3F3}\uFE0F\u200D\u{1F308}',
  '\u{10FFFF}',
  '\uFFFD\uFFFE\uFFFF',
  '\u0430dmin',
  'ROOT_ADMIN',
  'admin\u200B',
  '\u212Aelvin',
  '\u0130stanbul',
  'ß'.repeat(100),
  '\u00A0',
  '\t\r\n',
  ' ',
  '',
];

/** Text that means something to some layer underneath: SQL, LIKE, paths, templates, HTML, numbers, dates. */
const MEANINGFUL_TEXT = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '%',
  '_',
  '\\',
  '%_\\%',
  '../../etc/passwd',
  '..%2F..%2F',
  '%00',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'true',
  'NaN',
  'Infinity',
  '-0',
  '1e999',
  '0x10',
  ' 1',
  '1 ',
  '١٢٣',
  '9007199254740993',
  '0000-00-00T00:00:00Z',
  '9999-12-31T23:59:59.999999999-23:59',
  '1000-01-01T00:00:00+23:59',
  '2024-02-30T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
  'Bearer x',
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...UNICODE_EDGES, ...MEANINGFUL_TEXT), weight: 6 },
  // Mixed into ordinary text, and repeated across a length limit.
  {
    arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...UNICODE_EDGES), fc.string({ maxLength: 8 })).map((parts) => parts.join('')),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '\u{1F600}', '\u0000', '\uD800', 'x\u0301'), fc.constantFrom(63, 64, 65, 199, 200, 201, 255, 256, 257, 500, 501))
      .map(([unit, count]) => unit.repeat(count)),
    weight: 2,
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 2 },
  // Large: past every field's limit, and past the 1 MiB body limit.
  {
    arbitrary: fc.constantFrom(['a', 1_048_577], ['\u{1F600}', 100_000], ['\u0000', 10_001], [' ', 10_001]).map(([unit, count]) => unit.repeat(count)),
    weight: 1,
  },
);

/** Numbers at the edges of every representation on the way: JSON, IEEE 754, int32, the safe integers. */
export const hostileNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1.5,
    -2_147_483_648,
    2_147_483_647,
    2_147_483_648,
    4_294_967_296,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1e308,
    -1e308,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    0.1 + 0.2,
  ),
  // Tokens JSON.stringify would never write: the parser decides what they become.
  fc.constantFrom('-0', '9007199254740993', '1e999', '-1e999', '1E400', '1e-400', '0.0000001e7', '1.0', '100e-2', '-0.0').map((text) => new RawJson(text)),
  fc.double(),
  fc.integer(),
);

/** Not JSON at all, where a value belongs: the whole body stops parsing. */
export const notJson: fc.Arbitrary<RawJson> = fc
  .constantFrom(
    'NaN',
    'Infinity',
    'undefined',
    "'single'",
    '01',
    '.5',
    '+1',
    '0x1F',
    '[1,]',
    '{"a":1,}',
    '"\\x00"',
    '"\\ud800"',
    '"unterminated',
    '{',
    '[',
    '}',
  )
  .map((text) => new RawJson(text));

/** Arrays and objects nested far deeper than any input: written as text, so no recursion builds them. */
export const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom('[]', '{}'), fc.constantFrom(64, 1_000, 10_000, 100_000))
  .map(([[open], depth]) =>
    open === '[' ? new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`) : new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  );

/** Property names that reach for the prototype chain or for fields only the server may set. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'),
  fc.constantFrom('id', 'ownerId', 'owner_id', 'userId', 'role', 'isAdmin', 'isActive', 'version', 'createdAt', 'password_hash', 'passwordHash'),
  fc.constantFrom('', ' ', '\u0000', '\uD800', 'a.b', 'a[b]', '0', '-1', 'title ', 'TITLE'),
  fc.string({ maxLength: 12 }),
);

const wrongType: fc.Arbitrary<unknown> = fc.constantFrom(null, true, false, [], {}, [[]], [null], { '': null }, [1, 'a', null]);

/** Objects built to poison a prototype if anything copies them carelessly. */
const pollutingObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('polluted', 'isAdmin', 'role', 'toString'))
  .map(([key, inner]) =>
    key === 'constructor'
      ? objectWithKeys([['constructor', objectWithKeys([['prototype', objectWithKeys([[inner, 'yes']])]])]])
      : objectWithKeys([[key, objectWithKeys([[inner, 'yes']])]]),
  );

/** Many elements or many keys, past every documented maximum. */
const huge: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constantFrom(101, 1_000, 100_000), fc.constantFrom<unknown>(1, 'a', null, 2_147_483_647)).map(([length, item]) => new Array(length).fill(item)),
  fc.constantFrom(1_000, 5_000).map((count) => objectWithKeys(Array.from({ length: count }, (_, index): [string, unknown] => [`k${index}`, index]))),
);

/** Any of the above: what goes where a well-formed value belonged. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 8 },
  { arbitrary: hostileNumber, weight: 5 },
  { arbitrary: wrongType, weight: 4 },
  { arbitrary: pollutingObject, weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  { arbitrary: notJson, weight: 1 },
  { arbitrary: deepNesting, weight: 1 },
  { arbitrary: huge, weight: 1 },
);
