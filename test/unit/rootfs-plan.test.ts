// The rootfs plan: the config turned into ordered, typed steps without touching the
// kernel (src/init/rootfs-plan.ts). Run: node --import tsx --test test/unit/rootfs-plan.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MOUNT_ATTR, MS } from '../../src/linux/mount.js';
import { defaultSpec } from '../../src/spec/defaults.js';
import type { Mount, Spec } from '../../src/spec/types.gen.js';
import {
  DEFAULT_DEVICES,
  bindAttrChanges,
  hostPropagation,
  planMount,
  planRootfs,
  type FilesystemStep,
  type RootfsPlanInput,
  type RootfsStep,
} from '../../src/init/rootfs-plan.js';

function input(patch: (s: Spec) => void = () => {}, over: Partial<RootfsPlanInput> = {}): RootfsPlanInput {
  const spec = defaultSpec({ rootless: false });
  patch(spec);
  return { spec, rootfs: '/bundle/rootfs', bundle: '/bundle', inUserNs: false, hostHasKcore: true, ...over };
}

/** A short name per step, for order assertions. */
function label(s: RootfsStep): string {
  switch (s.kind) {
    case 'bind-mount':
    case 'remount':
    case 'mount-cgroup':
    case 'mount-filesystem':
      return `${s.kind} ${s.mount.destination}`;
    case 'device':
      return `device ${s.device.path}`;
    case 'dev-symlink':
      return `link ${s.link}`;
    case 'readonly-path':
      return `readonly ${s.path}`;
    default:
      return s.kind;
  }
}

const indexOf = (steps: RootfsStep[], l: string) => {
  const i = steps.map(label).indexOf(l);
  assert.ok(i >= 0, `no step ${l} in\n${steps.map(label).join('\n')}`);
  return i;
};

describe('order', () => {
  const steps = planRootfs(input());
  const labels = steps.map(label);

  test('the phases come in the order the init runs them', () => {
    const phases = steps.map((s) => s.phase);
    const order = ['prepare', 'mounts', 'dev', 'enter', 'finish'];
    for (let i = 1; i < phases.length; i++) {
      assert.ok(
        order.indexOf(phases.at(i) ?? '') >= order.indexOf(phases.at(i - 1) ?? ''),
        `${labels.at(i - 1)} before ${labels.at(i)}`,
      );
    }
    assert.deepEqual(labels.slice(0, 2), ['host-propagation', 'bind-rootfs']);
  });

  test("the config's mounts keep their order, /dev before /dev/pts", () => {
    const mounts = steps.filter((s) => s.phase === 'mounts').map(label);
    assert.deepEqual(mounts, [
      'mount-filesystem /proc',
      'mount-filesystem /dev',
      'mount-filesystem /dev/pts',
      'mount-filesystem /dev/shm',
      'mount-filesystem /dev/mqueue',
      'mount-filesystem /sys',
      'mount-cgroup /sys/fs/cgroup',
    ]);
  });

  test('/dev is mounted before its devices, and the devices before pivot_root', () => {
    assert.ok(indexOf(steps, 'mount-filesystem /dev') < indexOf(steps, 'device /dev/null'));
    assert.ok(indexOf(steps, 'link /dev/stderr') < indexOf(steps, 'enter-root'));
  });

  test('read-only remounts, then masks, come after every mount and device', () => {
    const lastMountOrDevice = Math.max(
      ...steps.map((s, i) => (s.phase === 'mounts' || s.phase === 'dev' ? i : -1)),
    );
    const deferred = indexOf(steps, 'deferred-readonly');
    const firstReadonly = indexOf(steps, 'readonly /proc/bus');
    const masks = indexOf(steps, 'mask-paths');
    assert.ok(lastMountOrDevice < indexOf(steps, 'enter-root'));
    assert.ok(indexOf(steps, 'enter-root') < deferred && deferred < firstReadonly && firstReadonly < masks);
  });

  test("readonly root before the read-only paths; an unbindable root's propagation last", () => {
    const s = planRootfs(
      input((c) => {
        c.root = { path: 'rootfs', readonly: true };
        c.linux = { ...c.linux, rootfsPropagation: 'unbindable' };
      }),
    );
    assert.ok(indexOf(s, 'readonly-root') < indexOf(s, 'readonly /proc/bus'));
    assert.equal(label(s.at(-1)!), 'root-propagation');
    assert.deepEqual(s.at(-1), {
      phase: 'finish',
      kind: 'root-propagation',
      flag: MS.UNBINDABLE,
      name: 'unbindable',
    });
  });
});

describe('propagation of /', () => {
  test('rslave by default; private and slave forms as asked; unbindable is private until the end', () => {
    assert.deepEqual(hostPropagation(undefined), { flag: MS.SLAVE | MS.REC, name: 'rslave' });
    assert.deepEqual(hostPropagation('private'), { flag: MS.PRIVATE, name: 'private' });
    assert.deepEqual(hostPropagation('rshared'), { flag: MS.SHARED | MS.REC, name: 'rshared' });
    assert.deepEqual(hostPropagation('runbindable'), { flag: MS.PRIVATE | MS.REC, name: 'runbindable' });
  });

  test('only shared and unbindable need a step after pivot_root', () => {
    for (const prop of ['private', 'rprivate', 'slave', 'rslave'] as const) {
      assert.ok(
        !planRootfs(input((c) => (c.linux = { ...c.linux, rootfsPropagation: prop }))).some(
          (s) => s.kind === 'root-propagation',
        ),
        prop,
      );
    }
    assert.ok(
      planRootfs(input((c) => (c.linux = { ...c.linux, rootfsPropagation: 'rshared' }))).some(
        (s) => s.kind === 'root-propagation',
      ),
    );
  });
});

describe('devices', () => {
  const devices = (steps: RootfsStep[]) => steps.flatMap((s) => (s.kind === 'device' ? [s] : []));
  const links = (steps: RootfsStep[]) =>
    steps.flatMap((s) => (s.kind === 'dev-symlink' ? [`${s.link} -> ${s.target}`] : []));

  test("runc's default devices, ptmx and the links", () => {
    const steps = planRootfs(input());
    assert.deepEqual(
      devices(steps).map((d) => d.device.path),
      DEFAULT_DEVICES.map((d) => d.path),
    );
    assert.ok(devices(steps).every((d) => !d.bindFromHost));
    assert.ok(indexOf(steps, 'ptmx') > indexOf(steps, 'device /dev/urandom'));
    assert.deepEqual(links(steps), [
      '/dev/fd -> /proc/self/fd',
      '/dev/stdin -> /proc/self/fd/0',
      '/dev/stdout -> /proc/self/fd/1',
      '/dev/stderr -> /proc/self/fd/2',
      '/dev/core -> /proc/kcore',
    ]);
  });

  test('no /dev/core where the host has no /proc/kcore', () => {
    assert.ok(
      !links(planRootfs(input(undefined, { hostHasKcore: false }))).some((l) => l.startsWith('/dev/core')),
    );
  });

  test('a config device replaces the default of its path, keeps its place; /dev/ptmx is the devpts one', () => {
    const steps = planRootfs(
      input((c) => {
        c.linux = {
          ...c.linux,
          devices: [
            { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
            { path: '/dev/fuse', type: 'c', major: 10, minor: 229 },
            { path: '/dev/ptmx', type: 'c', major: 5, minor: 2 },
          ],
        };
      }),
    );
    const made = devices(steps).map((d) => d.device);
    const first = made[0];
    assert.ok(first);
    assert.equal(first.path, '/dev/null');
    assert.equal(first.fileMode, 0o600);
    assert.equal(made.at(-1)?.path, '/dev/fuse');
    assert.ok(!made.some((d) => d.path === '/dev/ptmx'));
  });

  test('in a user namespace devices are bound from the host', () => {
    assert.ok(devices(planRootfs(input(undefined, { inUserNs: true }))).every((d) => d.bindFromHost));
  });

  test('/dev bound from the host: no device nodes and no links of ours', () => {
    for (const options of [['rbind'], ['bind', 'ro']]) {
      const steps = planRootfs(
        input((c) => (c.mounts = [{ destination: '/dev/', type: 'none', source: '/dev', options }])),
      );
      assert.ok(!steps.some((s) => s.phase === 'dev'), options.join(','));
    }
    const byType = planRootfs(
      input((c) => (c.mounts = [{ destination: '/dev', type: 'bind', source: '/dev' }])),
    );
    assert.ok(!byType.some((s) => s.phase === 'dev'));
  });
});

describe('mounts', () => {
  test('tmpfs and /dev defer their read-only flag; others do not', () => {
    const ro = (m: Mount) =>
      planMount({ ...m, options: [...(m.options ?? []), 'ro'] }, 0, '/b') as FilesystemStep;
    const tmp = ro({ destination: '/tmp', type: 'tmpfs' });
    assert.equal(tmp.deferReadonly, true);
    assert.equal(tmp.flags & MS.RDONLY, 0);
    assert.deepEqual(tmp.sbFlags, []);
    const dev = ro({ destination: '/dev/', type: 'devtmpfs' });
    assert.equal(dev.deferReadonly, true);
    const proc = ro({ destination: '/proc', type: 'proc' });
    assert.equal(proc.deferReadonly, false);
    assert.deepEqual(proc.sbFlags, ['ro']);
    assert.equal(proc.attrs & MOUNT_ATTR.RDONLY, MOUNT_ATTR.RDONLY);
  });

  test('tmpcopyup and data options', () => {
    const step = planMount(
      { destination: '/etc', type: 'tmpfs', options: ['tmpcopyup', 'mode=755', 'nosuid'] },
      3,
      '/b',
    ) as FilesystemStep;
    assert.equal(step.kind, 'mount-filesystem');
    assert.equal(step.copyUp, true);
    assert.equal(step.options.data, 'mode=755');
    assert.equal(step.attrs, MOUNT_ATTR.NOSUID);
    assert.equal(step.index, 3);
    assert.equal(step.source, 'tmpfs');
  });

  test('mount labels go to every filesystem but proc, sysfs and mqueue', () => {
    const labelled = (type: string) =>
      (planMount({ destination: '/x', type }, 0, undefined) as FilesystemStep).labelled;
    assert.deepEqual(['tmpfs', 'devpts', 'proc', 'sysfs', 'mqueue'].map(labelled), [
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  test('bind sources are relative to the bundle; rbind is recursive', () => {
    const step = planMount(
      { destination: '/data', type: 'bind', source: 'data', options: ['rbind'] },
      0,
      '/bundle',
    );
    assert.equal(step.kind, 'bind-mount');
    assert.equal(step.source, '/bundle/data');
    assert.equal(step.recursive, true);
    assert.equal(step.attrs, undefined, "no flag named: the source's flags are kept");
    const abs = planMount(
      { destination: '/data', type: 'none', source: '/srv', options: ['bind'] },
      0,
      '/bundle',
    );
    assert.equal(abs.kind, 'bind-mount');
    assert.equal(abs.recursive, false);
  });

  test('remount, cgroup and cgroup2 are steps of their own', () => {
    assert.equal(
      planMount({ destination: '/x', type: 'bind', options: ['remount', 'ro'] }, 0, '/b').kind,
      'bind-mount',
    );
    assert.equal(
      planMount({ destination: '/x', type: 'tmpfs', options: ['remount', 'ro'] }, 0, '/b').kind,
      'remount',
    );
    assert.deepEqual(
      [
        planMount({ destination: '/c', type: 'cgroup' }, 0, '/b'),
        planMount({ destination: '/c', type: 'cgroup2' }, 0, '/b'),
      ].map((s) => (s.kind === 'mount-cgroup' ? s.version : 0)),
      [1, 2],
    );
  });
});

describe('bind flags', () => {
  const attrs = (options: string[]) => {
    const step = planMount({ destination: '/x', type: 'bind', source: '/s', options }, 0, '/b');
    assert.equal(step.kind, 'bind-mount');
    return step.attrs;
  };

  test('named flags are exact: ro set, the other plain flags cleared, atime untouched', () => {
    const a = attrs(['rbind', 'ro']);
    assert.ok(a);
    assert.equal(a.first, 'exact');
    assert.equal(a.exact.set, MOUNT_ATTR.RDONLY);
    assert.equal(
      a.exact.clear,
      MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW,
    );
    assert.deepEqual(a.keepLocked, { set: MOUNT_ATTR.RDONLY, clear: 0 });
  });

  test('an atime option replaces the whole atime field', () => {
    const a = attrs(['bind', 'noatime']);
    assert.ok(a);
    assert.equal(a.exact.set, MOUNT_ATTR.NOATIME);
    assert.equal(
      a.exact.clear & (MOUNT_ATTR._ATIME | MOUNT_ATTR.NODIRATIME),
      MOUNT_ATTR._ATIME | MOUNT_ATTR.NODIRATIME,
    );
  });

  test('an explicit rw is a change; a remount keeps what the kernel locked first', () => {
    const rw = attrs(['bind', 'rw']);
    assert.ok(rw);
    assert.equal(rw.keepLocked.clear, MOUNT_ATTR.RDONLY);
    const remount = attrs(['bind', 'remount', 'nosuid']);
    assert.equal(remount?.first, 'keepLocked');
  });

  test('exact gives exactly the plain flags named, whatever the source had (mount_setattr clears, then sets)', () => {
    const plain =
      MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW;
    const opt = fc.constantFrom(
      'ro',
      'rw',
      'nosuid',
      'suid',
      'nodev',
      'dev',
      'noexec',
      'exec',
      'noatime',
      'strictatime',
      'relatime',
      'nodiratime',
      'nosymfollow',
      'remount',
    );
    fc.assert(
      fc.property(
        fc.array(opt, { maxLength: 10 }),
        fc.integer({ min: 0, max: 0x3fffff }),
        (options, before) => {
          const parsed = planMount({ destination: '/x', type: 'bind', options }, 0, '/b').options;
          const a = bindAttrChanges(parsed);
          if (!a) return;
          const after = (before & ~a.exact.clear) | a.exact.set;
          assert.equal(after & plain, a.exact.set & plain);
          // keepLocked changes only what was named.
          const kept = (before & ~a.keepLocked.clear) | a.keepLocked.set;
          const named = a.exact.set | (a.keepLocked.clear & plain);
          assert.equal(kept & plain & ~named, before & plain & ~named);
        },
      ),
    );
  });
});

describe('finish', () => {
  test('every read-only path in order, masks in one step with the mount label', () => {
    const steps = planRootfs(
      input((c) => {
        c.linux = { ...c.linux, readonlyPaths: ['/a', '/b'], maskedPaths: ['/m', '/m/'], mountLabel: 'lbl' };
      }),
    );
    const finish = steps.filter((s) => s.phase === 'finish');
    assert.deepEqual(finish.map(label), [
      'deferred-readonly',
      'readonly-root',
      'readonly /a',
      'readonly /b',
      'mask-paths',
    ]);
    assert.deepEqual(finish.at(-1), {
      phase: 'finish',
      kind: 'mask-paths',
      paths: ['/m', '/m/'],
      mountLabel: 'lbl',
    });
  });

  test('no masks, no mask step', () => {
    assert.ok(
      !planRootfs(input((c) => (c.linux = { ...c.linux, maskedPaths: [] }))).some(
        (s) => s.kind === 'mask-paths',
      ),
    );
  });
});
