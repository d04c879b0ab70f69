// linux.cgroupsPath → cgroup directories, as runc's cgroupfs driver resolves them, on
// hand-made mount tables (no /proc read). Run: node --import tsx --test test/unit/cgroup-paths.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CgroupMount } from '../../src/cgroups/mounts.js';
import { cleanPath, innerPath, v1Dirs, v1DirsOfPaths, v2Dir } from '../../src/cgroups/paths.js';

/** The test machine's hybrid layout: v1 controllers plus a cgroup2 mount holding nothing. */
const HYBRID: CgroupMount[] = [
  { mountpoint: '/sys/fs/cgroup/unified', root: '/', subsystems: [], version: 2 },
  { mountpoint: '/sys/fs/cgroup/memory', root: '/', subsystems: ['memory'], version: 1 },
  { mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', subsystems: ['cpu', 'cpuacct'], version: 1 },
  { mountpoint: '/sys/fs/cgroup/devices', root: '/', subsystems: ['devices'], version: 1 },
  { mountpoint: '/sys/fs/cgroup/pids', root: '/', subsystems: ['pids'], version: 1 },
  { mountpoint: '/sys/fs/cgroup/systemd', root: '/', subsystems: ['name=systemd'], version: 1 },
];

describe('cleanPath (runc utils.CleanPath)', () => {
  test('examples', () => {
    assert.equal(cleanPath(undefined), '');
    assert.equal(cleanPath(''), '');
    assert.equal(cleanPath('/a/b/'), '/a/b');
    assert.equal(cleanPath('/a/../../b'), '/b');
    assert.equal(cleanPath('../x'), 'x');
    assert.equal(cleanPath('a/../../../x/./y'), 'x/y');
    assert.equal(cleanPath('.'), '');
    assert.equal(cleanPath('/'), '/');
  });

  test('never climbs out: no ".." component, and idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('..', '.', 'a', 'b', '', 'c..d'), { maxLength: 10 }),
        fc.boolean(),
        (parts, abs) => {
          const c = cleanPath((abs ? '/' : '') + parts.join('/'));
          assert.ok(!c.split('/').includes('..'), c);
          assert.equal(cleanPath(c), c);
        },
      ),
    );
  });
});

describe('innerPath', () => {
  test('the cgroupsPath when given, else the container ID', () => {
    assert.equal(innerPath('/k8s.io/abc', 'id'), '/k8s.io/abc');
    assert.equal(innerPath(undefined, 'id'), 'id');
    assert.equal(innerPath('', 'id'), 'id');
    assert.equal(innerPath('../../escape', 'id'), 'escape');
  });
});

describe('v1Dirs (hybrid and v1 hosts)', () => {
  const own = new Map([
    ['memory', '/user.slice/me'],
    ['cpu', '/user.slice/me'],
    ['cpuacct', '/user.slice/me'],
    ['devices', '/'],
    ['pids', '/user.slice/me'],
    ['', '/'],
  ]);

  test('absolute: under each mountpoint, co-mounted controllers share their directory', () => {
    const dirs = v1Dirs('/runts/c1', ['memory', 'cpu', 'cpuacct', 'devices', ''], HYBRID, own);
    assert.deepEqual(Object.fromEntries(dirs), {
      memory: '/sys/fs/cgroup/memory/runts/c1',
      cpu: '/sys/fs/cgroup/cpu,cpuacct/runts/c1',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/runts/c1',
      devices: '/sys/fs/cgroup/devices/runts/c1',
      '': '/sys/fs/cgroup/unified/runts/c1',
    });
  });

  test('relative: under our own cgroup in each hierarchy', () => {
    const dirs = v1Dirs('c1', ['memory', 'devices'], HYBRID, own);
    assert.equal(dirs.get('memory'), '/sys/fs/cgroup/memory/user.slice/me/c1');
    assert.equal(dirs.get('devices'), '/sys/fs/cgroup/devices/c1');
  });

  test('a subsystem the host has not mounted is skipped, except devices', () => {
    assert.equal(v1Dirs('/c', ['freezer', 'memory'], HYBRID, own).has('freezer'), false);
    const noDevices = HYBRID.filter((m) => !m.subsystems.includes('devices'));
    assert.throws(() => v1Dirs('/c', ['devices'], noDevices, own), /mountpoint for devices not found/);
  });

  test('our own cgroup missing from devices is an error; from another controller it is skipped', () => {
    const partial = new Map([['memory', '/']]);
    assert.equal(v1Dirs('c', ['pids'], HYBRID, partial).has('pids'), false);
    assert.throws(
      () => v1Dirs('c', ['devices'], HYBRID, partial),
      /cannot find our own cgroup in the devices hierarchy/,
    );
  });

  test('a mount whose root is not "/" (inside a container): our cgroup relative to it', () => {
    const nested: CgroupMount[] = [
      { mountpoint: '/sys/fs/cgroup/memory', root: '/docker/x', subsystems: ['memory'], version: 1 },
    ];
    assert.equal(
      v1Dirs('c', ['memory'], nested, new Map([['memory', '/docker/x/sub']])).get('memory'),
      '/sys/fs/cgroup/memory/sub/c',
    );
  });

  test('never outside the hierarchy, whatever cgroupsPath says', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('..', '.', 'a', 'b', ''), { maxLength: 8 }),
        fc.boolean(),
        (parts, abs) => {
          const inner = innerPath((abs ? '/' : '') + parts.join('/'), 'id');
          for (const [sub, dir] of v1Dirs(inner, ['memory', 'devices'], HYBRID, own)) {
            const mount = `/sys/fs/cgroup/${sub}`;
            assert.ok(dir === mount || dir.startsWith(mount + '/'), `${inner} → ${dir}`);
          }
        },
      ),
    );
  });
});

describe('v2Dir (unified hosts)', () => {
  test('absolute: under the mountpoint', () => {
    assert.equal(v2Dir('/k8s.io/abc', '/sys/fs/cgroup', new Map()), '/sys/fs/cgroup/k8s.io/abc');
  });

  test('relative: a sibling of our own cgroup (ours has processes, so no children with controllers)', () => {
    assert.equal(
      v2Dir('c1', '/sys/fs/cgroup', new Map([['', '/user.slice/session-1.scope']])),
      '/sys/fs/cgroup/user.slice/c1',
    );
  });

  test('relative without our own cgroup is an error', () => {
    assert.throws(() => v2Dir('c1', '/sys/fs/cgroup', new Map()), /cgroup path not found/);
  });
});

describe('v1DirsOfPaths (a state record back to controllers)', () => {
  test('each directory maps to the subsystems of its hierarchy; unknown ones are dropped', () => {
    const dirs = v1DirsOfPaths(
      ['/sys/fs/cgroup/cpu,cpuacct/c', '/sys/fs/cgroup/unified/c', '/elsewhere/c'],
      HYBRID,
    );
    assert.deepEqual(Object.fromEntries(dirs), {
      cpu: '/sys/fs/cgroup/cpu,cpuacct/c',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/c',
      '': '/sys/fs/cgroup/unified/c',
    });
  });

  test('a prefix of a name is not its mount (/sys/fs/cgroup/memoryx)', () => {
    assert.equal(v1DirsOfPaths(['/sys/fs/cgroup/memoryx/c'], HYBRID).size, 0);
  });
});
