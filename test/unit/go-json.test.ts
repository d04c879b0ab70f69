/** Go's encoding/json output (src/json.ts goJson) and the exact 64-bit integers of stringifyJson/parseJson. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goJson, parseJson, stringifyJson } from '../../src/json.js';

test('goJson escapes as Go does: <, >, &, U+2028, U+2029, \\b and \\f', () => {
  assert.equal(goJson({ s: '<a>&b' }), '{"s":"\\u003ca\\u003e\\u0026b"}');
  assert.equal(goJson('\u2028\u2029'), '"\\u2028\\u2029"');
  assert.equal(goJson('\b\f\n\t'), '"\\u0008\\u000c\\n\\t"');
  // An escaped backslash followed by "b" is not the escape \b.
  assert.equal(goJson('\\b'), '"\\\\b"');
  assert.equal(goJson('\\\b'), '"\\\\\\u0008"');
});

test("goJson indents as json.MarshalIndent and keeps the caller's key order", () => {
  const state = {
    ociVersion: '1.2.0',
    id: 'c1',
    pid: 0,
    status: 'stopped',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-01-01T00:00:00.000000000Z',
    owner: '',
  };
  assert.equal(
    goJson(state, '  '),
    '{\n  "ociVersion": "1.2.0",\n  "id": "c1",\n  "pid": 0,\n  "status": "stopped",\n  "bundle": "/b",\n' +
      '  "rootfs": "/b/rootfs",\n  "created": "2026-01-01T00:00:00.000000000Z",\n  "owner": ""\n}',
  );
  assert.equal(goJson([{ a: 1 }], '    '), '[\n    {\n        "a": 1\n    }\n]');
  assert.equal(goJson(null), 'null');
  assert.equal(goJson([]), '[]');
});

test('goJson is JSON.stringify wherever Go writes the same', () => {
  const v = { a: [1, 2.5, -3e-7, true, null], b: 'é ü \u0001', c: { d: '' } };
  assert.equal(goJson(v), JSON.stringify(v));
  assert.equal(goJson(v, '\t'), JSON.stringify(v, null, '\t'));
});

test('64-bit integers survive a round trip, in goJson too', () => {
  const max = 18446744073709551615n;
  const { value, inexact } = parseJson('{"rlimit":18446744073709551615,"n":1}');
  assert.deepEqual(value, { rlimit: max, n: 1 });
  assert.deepEqual(inexact, [{ path: ['rlimit'], source: '18446744073709551615', exact: max }]);
  assert.equal(stringifyJson(value), '{"rlimit":18446744073709551615,"n":1}');
  assert.equal(goJson({ limit: max, s: '<' }), '{"limit":18446744073709551615,"s":"\\u003c"}');
});
