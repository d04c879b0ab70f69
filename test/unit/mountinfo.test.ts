/** The mountinfo parser (src/linux/mountinfo.ts) on fixed texts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountinfo, parseMountinfoLine, unescapeMountinfo } from '../../src/linux/mountinfo.js';

const SAMPLE = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
  '25 22 0:22 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,memory',
  '26 22 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 master:3 - cgroup2 cgroup2 rw,nsdelegate',
  '90 22 8:1 /srv/my\\040dir /mnt/a\\011b\\012c\\134d rw,relatime - ext4 /dev/sda1 rw',
  '91 22 0:50 / /run/x rw - tmpfs  rw',
  '',
].join('\n');

test('fields of a line, optional fields and the separator', () => {
  const mounts = parseMountinfo(SAMPLE);
  const [root, memory, unified] = [mounts.at(0), mounts.at(1), mounts.at(2)];
  assert.deepEqual(root, {
    id: 22,
    parentId: 1,
    device: '8:1',
    root: '/',
    mountPoint: '/',
    options: 'rw,relatime',
    optionalFields: ['shared:1'],
    fsType: 'ext4',
    source: '/dev/sda1',
    superOptions: 'rw,errors=remount-ro',
  });
  assert.ok(memory);
  assert.ok(unified);
  assert.equal(memory.fsType, 'cgroup');
  assert.equal(memory.superOptions, 'rw,memory');
  assert.deepEqual(unified.optionalFields, ['shared:10', 'master:3']);
  assert.equal(unified.mountPoint, '/sys/fs/cgroup/unified');
});

test('space, tab, newline and backslash are unescaped, in root and mount point alike', () => {
  const m = parseMountinfo(SAMPLE).at(3);
  assert.ok(m);
  assert.equal(m.root, '/srv/my dir');
  assert.equal(m.mountPoint, '/mnt/a\tb\nc\\d');
  assert.equal(
    unescapeMountinfo('\\134040'),
    '\\040',
    'one pass: an escaped backslash followed by 040 stays',
  );
});

test('an empty source field does not shift the super options', () => {
  const m = parseMountinfo(SAMPLE).at(4);
  assert.ok(m);
  assert.equal(m.fsType, 'tmpfs');
  assert.equal(m.source, '');
  assert.equal(m.superOptions, 'rw');
});

test('lines that are not mounts are skipped', () => {
  assert.equal(parseMountinfoLine(''), undefined);
  assert.equal(parseMountinfoLine('garbage'), undefined);
  assert.equal(parseMountinfoLine('1 2 - ext4'), undefined);
  assert.equal(parseMountinfo(SAMPLE).length, 5);
});
