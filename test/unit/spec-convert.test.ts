// spec/convert.ts: the namespaces of a config resolved once (no root, no build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerConfig } from '../../src/spec/convert.js';
import { CLONE } from '../../src/linux/ns.js';
import type { Spec } from '../../src/spec/types.gen.js';

const base: Spec = { ociVersion: '1.2.0', process: { cwd: '/', args: ['sh'] }, root: { path: 'rootfs' } };

test('new namespaces become clone flags; time and cgroup are made apart', () => {
  const c = containerConfig(
    {
      ...base,
      linux: {
        namespaces: [
          { type: 'pid' },
          { type: 'mount' },
          { type: 'user' },
          { type: 'time' },
          { type: 'cgroup' },
        ],
      },
    },
    '/b',
  );
  assert.equal(c.namespaces.cloneFlags, CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWUSER);
  assert.equal(c.namespaces.newTimeNs, true);
  assert.equal(c.namespaces.newCgroupNs, true);
  assert.deepEqual(c.namespaces.join, []);
  assert.equal(c.rootfs, '/b/rootfs');
});

test('namespaces given by path: user, pid and time apart, the rest joined by the init in order', () => {
  const c = containerConfig(
    {
      ...base,
      linux: {
        namespaces: [
          { type: 'network', path: '/n' },
          { type: 'user', path: '/u' },
          { type: 'pid', path: '/p' },
          { type: 'time', path: '/t' },
          { type: 'cgroup', path: '/c' },
          { type: 'mount' },
        ],
      },
    },
    '/b',
  );
  assert.equal(c.namespaces.cloneFlags, CLONE.NEWNS);
  assert.deepEqual(c.namespaces.join, [
    { type: 'network', path: '/n' },
    { type: 'cgroup', path: '/c' },
  ]);
  assert.equal(c.namespaces.userNsPath, '/u');
  assert.equal(c.namespaces.pidNsPath, '/p');
  assert.equal(c.namespaces.timeNsPath, '/t');
  assert.equal(c.namespaces.newCgroupNs, false);
  assert.deepEqual(
    c.namespaces.paths.map((p) => p.type),
    ['network', 'user', 'pid', 'time', 'cgroup'],
  );
});

test('a config without a process cannot make a container', () => {
  assert.throws(
    () => containerConfig({ ociVersion: '1.2.0' }, '/b'),
    /process is required to create a container/,
  );
});

test('an absolute root path stays as it is', () => {
  assert.equal(containerConfig({ ...base, root: { path: '/abs/root' } }, '/b').rootfs, '/abs/root');
});
