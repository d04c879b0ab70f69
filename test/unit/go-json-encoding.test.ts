// Go-style JSON: goJson writes strings as Go's encoding/json does (runc's output byte for
// byte), and parseJson/stringifyJson keep 64-bit integers exact.
// Run: node --import tsx --test test/unit/go-json-encoding.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goJson } from '../../src/json.js';
import { JsonDepthError, MAX_DEPTH, parseJson, stringifyJson } from '../../src/json.js';

/** With the u flag a surrogate pair is one code point: only a lone surrogate is in Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A string as Go's encoding/json encodeState.string writes it (HTML escaping on), from its spec. */
function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029)
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

describe('goJson strings', () => {
  test('the characters Go escapes differently from JSON.stringify', () => {
    assert.equal(goJson('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
    assert.equal(goJson('\b\f'), '"\\u0008\\u000c"');
    assert.equal(goJson('\u2028\u2029'), '"\\u2028\\u2029"');
  });

  test('an escaped backslash before "b" or "f" stays a backslash', () => {
    assert.equal(goJson('\\b\\f'), '"\\\\b\\\\f"');
    assert.equal(goJson('\\\b'), '"\\\\\\u0008"');
  });

  test('matches the reference encoder on any well-formed string', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom(
              '<',
              '>',
              '&',
              '\\',
              '"',
              '\b',
              '\f',
              '\u2028',
              '\u2029',
              '\u0000',
              '\u001f',
              'b',
              'f',
            ),
            fc.string({ unit: 'binary', maxLength: 1 }),
          ),
        }),
        (s) => {
          fc.pre(!LONE_SURROGATE.test(s)); // Go's strings are UTF-8: they cannot hold one
          assert.equal(goJson(s), goString(s));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("object keys are escaped too, and structure is JSON.stringify's", () => {
    assert.equal(
      goJson({ '<k>': ['&'], n: 1, b: true, z: null }),
      '{"\\u003ck\\u003e":["\\u0026"],"n":1,"b":true,"z":null}',
    );
  });

  test('MarshalIndent layout', () => {
    assert.equal(
      goJson({ a: [1, 2], b: {}, c: [] }, '  '),
      '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {},\n  "c": []\n}',
    );
  });

  test('the result parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) =>
        assert.deepEqual(JSON.parse(goJson(v)), JSON.parse(JSON.stringify(v))),
      ),
    );
  });
});

describe('parseJson / stringifyJson keep 64-bit integers exact', () => {
  test('u64 max and i64 min survive a round trip', () => {
    const text = '{"hard":18446744073709551615,"soft":-9223372036854775808,"small":5}';
    const { value, inexact } = parseJson(text);
    assert.deepEqual(value, { hard: 18446744073709551615n, soft: -9223372036854775808n, small: 5 });
    assert.deepEqual(
      inexact.map((l) => [l.path, l.source]),
      [
        [['hard'], '18446744073709551615'],
        [['soft'], '-9223372036854775808'],
      ],
    );
    assert.equal(stringifyJson(value), text);
  });

  test('digits inside strings are not numbers', () => {
    const { value, inexact } = parseJson('{"s":"18446744073709551615"}');
    assert.deepEqual(value, { s: '18446744073709551615' });
    assert.deepEqual(inexact, []);
  });

  test('out-of-range literals are reported and stay Infinity', () => {
    const { value, inexact } = parseJson('[1e400]');
    assert.deepEqual(value, [Infinity]);
    const first = inexact[0];
    assert.ok(first);
    assert.equal(first.source, '1e400');
    assert.equal(first.exact, undefined);
  });

  test('any bigint round-trips, and a string that looks like the internal tag stays a string', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }), fc.string())),
        (arr) => {
          const exact = arr.map((x) =>
            typeof x === 'bigint' &&
            x >= BigInt(Number.MIN_SAFE_INTEGER) &&
            x <= BigInt(Number.MAX_SAFE_INTEGER)
              ? Number(x)
              : x,
          );
          assert.deepEqual(parseJson(stringifyJson(exact)).value, exact);
        },
      ),
    );
  });

  test('null members are dropped when asked, except in the maps named', () => {
    const text = '{"a":null,"annotations":{"k":null},"o":{"b":null}}';
    assert.deepEqual(parseJson(text, { dropNullMembers: true, keepNullIn: new Set(['annotations']) }).value, {
      annotations: { k: null },
      o: {},
    });
  });

  test('nesting past MAX_DEPTH is refused when the tree is walked (as config.json is read)', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.throws(() => parseJson(deep(MAX_DEPTH + 1), { dropNullMembers: true }), JsonDepthError);
    assert.doesNotThrow(() => parseJson(deep(MAX_DEPTH), { dropNullMembers: true }));
  });
});
