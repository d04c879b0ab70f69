// The runtime-spec's mount options as mount(2) flags, propagation, recursive attributes,
// id-mapping and data (runc's specconv table). Run: node --import tsx --test test/unit/mount-options.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MOUNT_ATTR, MS } from '../../src/linux/mount.js';
import {
  KNOWN_MOUNT_OPTIONS,
  PROPAGATION_OPTIONS,
  parseMountOptions,
} from '../../src/linux/mount-options.js';

describe('mount(2) flags', () => {
  test('no options: no flags, no data', () => {
    assert.deepEqual(parseMountOptions(), {
      flags: 0,
      cleared: 0,
      propagation: [],
      data: '',
      tmpcopyup: false,
      recursive: undefined,
      idmap: undefined,
    });
  });

  test('a typical proc/tmpfs/bind set', () => {
    assert.equal(parseMountOptions(['nosuid', 'noexec', 'nodev']).flags, MS.NOSUID | MS.NOEXEC | MS.NODEV);
    assert.equal(parseMountOptions(['rbind', 'ro']).flags, MS.BIND | MS.REC | MS.RDONLY);
    assert.equal(parseMountOptions(['bind']).flags, MS.BIND);
    assert.equal(parseMountOptions(['remount', 'ro', 'bind']).flags, MS.REMOUNT | MS.RDONLY | MS.BIND);
  });

  test('the last of a pair wins, and an explicit clear is remembered', () => {
    const roThenRw = parseMountOptions(['ro', 'rw']);
    assert.equal(roThenRw.flags & MS.RDONLY, 0);
    assert.equal(roThenRw.cleared & MS.RDONLY, MS.RDONLY);
    const rwThenRo = parseMountOptions(['rw', 'ro']);
    assert.equal(rwThenRo.flags & MS.RDONLY, MS.RDONLY);
    assert.equal(rwThenRo.cleared & MS.RDONLY, 0);
    assert.equal(parseMountOptions(['suid', 'dev', 'exec']).cleared, MS.NOSUID | MS.NODEV | MS.NOEXEC);
  });

  test('atime options', () => {
    assert.equal(parseMountOptions(['noatime']).flags, MS.NOATIME);
    assert.equal(parseMountOptions(['strictatime', 'nodiratime']).flags, MS.STRICTATIME | MS.NODIRATIME);
    assert.equal(parseMountOptions(['relatime', 'norelatime']).flags, 0);
    assert.equal(parseMountOptions(['defaults']).flags, 0);
  });

  test('set and cleared never overlap, whatever the order of options', () => {
    const flagOption = fc.constantFrom(
      'ro',
      'rw',
      'nosuid',
      'suid',
      'nodev',
      'dev',
      'noexec',
      'exec',
      'sync',
      'async',
      'noatime',
      'atime',
      'bind',
      'rbind',
      'nosymfollow',
      'symfollow',
    );
    fc.assert(
      fc.property(fc.array(flagOption, { maxLength: 20 }), (options) => {
        const o = parseMountOptions(options);
        assert.equal(o.flags & o.cleared, 0);
        // The last of ro/rw decides.
        const last = options.filter((x) => x === 'ro' || x === 'rw').at(-1);
        assert.equal((o.flags & MS.RDONLY) !== 0, last === 'ro');
      }),
    );
  });
});

describe('propagation', () => {
  test('each propagation option in order, recursive forms with MS_REC', () => {
    assert.deepEqual(parseMountOptions(['rprivate', 'shared', 'rslave']).propagation, [
      MS.PRIVATE | MS.REC,
      MS.SHARED,
      MS.SLAVE | MS.REC,
    ]);
    assert.equal(PROPAGATION_OPTIONS.runbindable, MS.UNBINDABLE | MS.REC);
    assert.equal(parseMountOptions(['rprivate']).flags, 0);
  });
});

describe('recursive attributes (mount_setattr)', () => {
  test('rro, rnosuid, rnoexec set; rrw clears', () => {
    assert.deepEqual(parseMountOptions(['rro', 'rnosuid', 'rnoexec']).recursive, {
      set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOEXEC,
      clear: 0,
    });
    assert.deepEqual(parseMountOptions(['rro', 'rrw']).recursive, { set: 0, clear: MOUNT_ATTR.RDONLY });
  });

  test('the atime attributes are one field: the last one named wins, and the field is cleared', () => {
    assert.deepEqual(parseMountOptions(['rnoatime', 'rstrictatime']).recursive, {
      set: MOUNT_ATTR.STRICTATIME,
      clear: MOUNT_ATTR._ATIME,
    });
    assert.deepEqual(parseMountOptions(['rstrictatime', 'rrelatime']).recursive, {
      set: 0,
      clear: MOUNT_ATTR._ATIME,
    });
  });

  test('recursive options are not mount(2) flags nor data', () => {
    const o = parseMountOptions(['rro', 'rnodev']);
    assert.equal(o.flags, 0);
    assert.equal(o.data, '');
  });
});

describe('idmap, tmpcopyup and data', () => {
  test('idmap and ridmap', () => {
    assert.deepEqual(parseMountOptions(['idmap']).idmap, { recursive: false });
    assert.deepEqual(parseMountOptions(['rbind', 'ridmap']).idmap, { recursive: true });
  });

  test('tmpcopyup is a flag of its own, not data', () => {
    const o = parseMountOptions(['tmpcopyup', 'mode=755']);
    assert.equal(o.tmpcopyup, true);
    assert.equal(o.data, 'mode=755');
  });

  test('options the kernel does not know as flags are data, in order', () => {
    assert.equal(
      parseMountOptions(['nosuid', 'mode=1777', 'size=65536k', 'ro', 'newinstance']).data,
      'mode=1777,size=65536k,newinstance',
    );
  });

  test('every known option is one of the tables (none becomes data)', () => {
    for (const opt of KNOWN_MOUNT_OPTIONS) assert.equal(parseMountOptions([opt]).data, '', opt);
    assert.deepEqual([...KNOWN_MOUNT_OPTIONS].sort(), KNOWN_MOUNT_OPTIONS);
  });
});
