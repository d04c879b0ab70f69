// The device cgroup rule emulator (runc's cgroups/devices emulator) and the default allow
// list. Run: node --import tsx --test test/unit/device-rules.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_DEVICES,
  Emulator,
  WILDCARD,
  cgroupString,
  defaultDeviceRules,
  permSet,
  permString,
} from '../../src/cgroups/devices.js';
import type { DeviceRule } from '../../src/cgroups/types.js';

const rule = (s: string, allow = true): DeviceRule => {
  const [type, mm, permissions] = s.split(' ') as [DeviceRule['type'], string, string];
  const [major, minor] = mm.split(':').map((x) => (x === '*' ? WILDCARD : Number(x))) as [number, number];
  return { type, major, minor, permissions, allow };
};
const show = (rules: DeviceRule[]) => rules.map((r) => `${r.allow ? 'allow' : 'deny'} ${cgroupString(r)}`);

describe('permissions and rule text', () => {
  test('permSet ignores other letters; permString writes rwm in order', () => {
    assert.equal(permString(permSet('mwrx')), 'rwm');
    assert.equal(permString(permSet('')), '');
    assert.equal(cgroupString(rule('c *:* m')), 'c *:* m');
    assert.equal(cgroupString(rule('b 8:0 rw')), 'b 8:0 rw');
  });
});

describe('default rules', () => {
  test("runc's list: mknod of anything, the standard nodes, pts, ptmx, tun", () => {
    assert.deepEqual(show(defaultDeviceRules([])), [
      'allow c *:* m',
      'allow b *:* m',
      'allow c 1:3 rwm',
      'allow c 1:8 rwm',
      'allow c 1:7 rwm',
      'allow c 5:0 rwm',
      'allow c 1:5 rwm',
      'allow c 1:9 rwm',
      'allow c 136:* rwm',
      'allow c 5:2 rwm',
      'allow c 10:200 rwm',
    ]);
  });

  test('a default whose node the config lists is left out; the rules are copies', () => {
    const rules = defaultDeviceRules(['/dev/null', '/dev/tty']);
    assert.ok(!show(rules).includes('allow c 1:3 rwm'));
    assert.ok(!show(rules).includes('allow c 5:0 rwm'));
    assert.equal(rules.length, DEFAULT_DEVICES.length - 2);
    const first = rules.at(0);
    assert.ok(first);
    first.permissions = 'rwm';
    assert.equal(DEFAULT_DEVICES.at(0)?.rule.permissions, 'm');
  });
});

describe('the emulator', () => {
  test('deny-all then allows: an allow list (whitelist)', () => {
    const e = Emulator.fromRules([
      rule('a *:* rwm', false),
      rule('c 1:3 rw'),
      rule('c 1:3 m'),
      rule('b 8:0 r'),
    ]);
    assert.equal(e.isBlacklist(), false);
    assert.deepEqual(show(e.cleanRules()), ['allow c 1:3 rwm', 'allow b 8:0 r']);
  });

  test('allow-all then denies: a deny list (blacklist), written as "a" then the denies', () => {
    const e = Emulator.fromRules([rule('a *:* rwm'), rule('c 1:3 w', false)]);
    assert.equal(e.isBlacklist(), true);
    assert.deepEqual(show(e.cleanRules()), ['allow a *:* rwm', 'deny c 1:3 w']);
    assert.equal(Emulator.fromRules([rule('a *:* rwm')]).isAllowAll(), true);
  });

  test('a later "a" rule resets everything before it', () => {
    const e = Emulator.fromRules([rule('c 1:3 rwm'), rule('a *:* rwm', false)]);
    assert.deepEqual(e.cleanRules(), []);
  });

  test('removing part of a wildcard rule is refused, as by the v1 controller', () => {
    const e = Emulator.fromRules([rule('a *:* rwm'), rule('c *:* m', false)]);
    assert.throws(
      () => e.apply(rule('c 1:3 m')),
      /cannot punch hole in existing wildcard rule \[c:-1:-1 m\]/,
    );
  });

  test('fromList reads devices.list', () => {
    assert.equal(Emulator.fromList('a *:* rwm\n').isAllowAll(), true);
    const e = Emulator.fromList('c 1:3 rwm\nb 8:* r\n');
    assert.deepEqual(show(e.cleanRules()), ['allow c 1:3 rwm', 'allow b 8:* r']);
    assert.throws(() => Emulator.fromList('c 1:3\n'), /malformed devices.list rule/);
    assert.throws(() => Emulator.fromList('x 1:3 r\n'), /unknown device type "x"/);
  });

  test('transition writes only what changes', () => {
    const current = Emulator.fromList('c 1:3 rwm\nc 1:5 rwm\n');
    const target = Emulator.fromRules([rule('c 1:3 rwm'), rule('c 1:9 rw')]);
    assert.deepEqual(show(current.transition(target)), ['deny c 1:5 rwm', 'allow c 1:9 rw']);
    assert.deepEqual(current.transition(current), []);
  });
});

describe('emulator properties (exact rules: wildcards may refuse a hole, as the kernel does)', () => {
  const exactRule = fc.record({
    type: fc.constantFrom<DeviceRule['type']>('a', 'b', 'c', 'c', 'c'),
    major: fc.integer({ min: 1, max: 3 }),
    minor: fc.integer({ min: 1, max: 3 }),
    permissions: fc.subarray(['r', 'w', 'm'], { minLength: 1 }).map((p) => p.join('')),
    allow: fc.boolean(),
  });
  const rules = fc.array(exactRule, { maxLength: 15 });

  test('applying transition(target) to the current state gives the target', () => {
    fc.assert(
      fc.property(rules, rules, (a, b) => {
        const current = Emulator.fromRules(a);
        const target = Emulator.fromRules(b);
        for (const w of current.transition(target)) current.apply(w);
        assert.ok(current.equals(target));
      }),
      { numRuns: 500 },
    );
  });

  test('the clean rules describe the same state, and cleaning twice changes nothing', () => {
    fc.assert(
      fc.property(rules, (a) => {
        const e = Emulator.fromRules(a);
        const clean = e.cleanRules();
        assert.ok(Emulator.fromRules(clean).equals(e));
        assert.deepEqual(Emulator.fromRules(clean).cleanRules(), clean);
      }),
      { numRuns: 500 },
    );
  });
});
