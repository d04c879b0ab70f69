/**
 * The systemd cgroup driver (--systemd-cgroup, issue 17). This host has no
 * systemd: here, the pure logic (unit names and paths, resource and
 * annotation properties, as runc 1.1 makes them) and the failures, which
 * must be clear and leave nothing behind. The driver against a real systemd
 * is tested in the VM lane's systemd mode (test/vm/systemd.vm.ts).
 *
 * Run as root after `npm run build`.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { containerSuite, runts, RUNTS } from '../helpers.js';
import {
  annotationProperties,
  deviceProperties,
  expandSlice,
  parseVariant,
  rangeToBits,
  unitPlace,
  unitProperties,
  v1ResourceProperties,
  v2ResourceProperties,
  type Property,
} from '../../src/cgroups/systemd/unit.js';
import { addressSocket } from '../../src/cgroups/systemd/bus.js';
import { emptyResources } from '../../src/cgroups/types.js';
import { defaultDeviceRules } from '../../src/cgroups/devices.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const byName = (props: Property[]) => Object.fromEntries(props.map(([n, v]) => [n, v]));

describe('systemd driver: unit names and cgroup paths (runc 1.1)', () => {
  test('slice:prefix:name gives a scope in that slice', () => {
    assert.deepEqual(unitPlace('system.slice:docker:abc', 'id'), {
      unit: 'docker-abc.scope',
      slice: 'system.slice',
      name: 'abc',
      cgroup: '/system.slice/docker-abc.scope',
    });
    assert.deepEqual(
      unitPlace('machine-libpod.slice:libpod:x', 'id').cgroup,
      '/machine.slice/machine-libpod.slice/libpod-x.scope',
    );
  });
  test('an empty path is runc-<id>.scope in system.slice; an empty slice too', () => {
    assert.deepEqual(unitPlace(undefined, 'c1'), {
      unit: 'runc-c1.scope',
      slice: 'system.slice',
      name: 'c1',
      cgroup: '/system.slice/runc-c1.scope',
    });
    assert.equal(unitPlace('', 'c1').unit, 'runc-c1.scope');
    assert.equal(unitPlace(':p:n', 'c1').cgroup, '/system.slice/p-n.scope');
    assert.equal(unitPlace(undefined, 'c1', true).slice, 'user.slice');
  });
  test('a name ending in .slice makes a slice', () => {
    const p = unitPlace('test.slice:ignored:test-mine.slice', 'c');
    assert.equal(p.unit, 'test-mine.slice');
    assert.equal(p.cgroup, '/test.slice/test-mine.slice');
    const props = byName(unitProperties(p, 42));
    assert.deepEqual(props.Wants, { sig: 'as', value: ['test.slice'] });
    assert.equal(props.Slice, undefined);
    assert.equal(props.Delegate, undefined);
  });
  test("a path not in three parts is refused with runc's message", () => {
    assert.throws(
      () => unitPlace('/a/b', 'c'),
      /expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/a\/b" instead/,
    );
    assert.throws(() => unitPlace('a:b', 'c'), /slice:prefix:name/);
  });
  test('expandSlice', () => {
    assert.equal(expandSlice('-.slice'), '/');
    assert.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
    assert.throws(() => expandSlice('a--b.slice'), /invalid slice name/);
    assert.throws(() => expandSlice('a/b.slice'), /invalid slice name/);
    assert.throws(() => expandSlice('foo'), /invalid slice name/);
    assert.throws(() => unitPlace('notaslice:p:n', 'c'), /invalid slice name: notaslice/);
  });
  test('a scope: Description (of the name, not the ID), Slice, Delegate, PIDs, accounting, DefaultDependencies=no', () => {
    const props = unitProperties(unitPlace('system.slice:docker:abc', 'the-id'), 1234);
    assert.deepEqual(
      props.map(([n, v]) => `${n}=${v.sig}:${JSON.stringify(v.value)}`),
      [
        'Description=s:"libcontainer container abc"',
        'Slice=s:"system.slice"',
        'Delegate=b:true',
        'PIDs=au:[1234]',
        'MemoryAccounting=b:true',
        'CPUAccounting=b:true',
        'IOAccounting=b:true',
        'TasksAccounting=b:true',
        'DefaultDependencies=b:false',
      ],
    );
  });
});

describe('systemd driver: resources as unit properties (runc 1.1)', () => {
  const info = { version: 252 };
  test('memory, CPU weight, quota and period, tasks, cpuset (v2)', () => {
    const r = {
      ...emptyResources(),
      skipDevices: true,
      memory: 256 << 20,
      memoryReservation: 128 << 20,
      memorySwap: 512 << 20,
    };
    Object.assign(r, {
      cpuWeight: 39,
      cpuQuota: 50_000,
      cpuPeriod: 100_000,
      pidsLimit: 100,
      cpusetCpus: '0-1,9',
      cpusetMems: '0',
    });
    const p = byName(v2ResourceProperties(r, info));
    assert.deepEqual(p.MemoryMax, { sig: 't', value: 256n << 20n });
    assert.deepEqual(p.MemoryLow, { sig: 't', value: 128n << 20n });
    assert.deepEqual(p.MemorySwapMax, { sig: 't', value: 256n << 20n });
    assert.deepEqual(p.CPUWeight, { sig: 't', value: 39n });
    assert.deepEqual(p.CPUQuotaPeriodUSec, { sig: 't', value: 100_000n });
    assert.deepEqual(p.CPUQuotaPerSecUSec, { sig: 't', value: 500_000n });
    assert.deepEqual(p.TasksMax, { sig: 't', value: 100n });
    assert.deepEqual(p.AllowedCPUs, { sig: 'ay', value: [3, 2] });
    assert.deepEqual(p.AllowedMemoryNodes, { sig: 'ay', value: [1] });
  });
  test('unlimited is infinity; the quota rounds up to 1% of a CPU; old systemd gets no period or cpuset', () => {
    const r = {
      ...emptyResources(),
      skipDevices: true,
      memory: -1,
      pidsLimit: -1,
      cpuQuota: 12_345,
      cpusetCpus: '0',
    };
    const p = byName(v2ResourceProperties(r, info));
    assert.deepEqual(p.MemoryMax, { sig: 't', value: U64_MAX });
    assert.deepEqual(p.TasksMax, { sig: 't', value: U64_MAX });
    assert.deepEqual(p.CPUQuotaPerSecUSec, { sig: 't', value: 130_000n });
    const old = byName(v2ResourceProperties({ ...r, cpuPeriod: 50_000 }, { version: 241 }));
    assert.equal(old.CPUQuotaPeriodUSec, undefined);
    assert.equal(old.AllowedCPUs, undefined);
    const q = byName(
      v2ResourceProperties({ ...emptyResources(), skipDevices: true, cpuPeriod: 50_000 }, info),
    );
    assert.deepEqual(q.CPUQuotaPerSecUSec, { sig: 't', value: U64_MAX });
  });
  test('unified entries systemd knows become properties too', () => {
    const r = {
      ...emptyResources(),
      skipDevices: true,
      unified: { 'memory.high': '1048576', 'pids.max': 'max', 'cpu.max': '20000 50000', 'io.weight': '50' },
    };
    const p = byName(v2ResourceProperties(r, info));
    assert.deepEqual(p.MemoryHigh, { sig: 't', value: 1048576n });
    assert.deepEqual(p.TasksMax, { sig: 't', value: U64_MAX });
    assert.deepEqual(p.CPUQuotaPerSecUSec, { sig: 't', value: 400_000n });
    assert.equal(p.IOWeight, undefined);
    assert.throws(() => v2ResourceProperties({ ...r, unified: { 'a/b': '1' } }, info), /must be a file name/);
  });
  test('v1 hosts: MemoryLimit, CPUShares, BlockIOWeight', () => {
    const r = {
      ...emptyResources(),
      skipDevices: true,
      memory: 1 << 20,
      cpuShares: 512,
      blkioWeight: 300,
      pidsLimit: 7,
    };
    const p = byName(v1ResourceProperties(r, info));
    assert.deepEqual(p.MemoryLimit, { sig: 't', value: 1n << 20n });
    assert.deepEqual(p.CPUShares, { sig: 't', value: 512n });
    assert.deepEqual(p.BlockIOWeight, { sig: 't', value: 300n });
    assert.deepEqual(p.TasksMax, { sig: 't', value: 7n });
    assert.equal(p.MemoryMax, undefined);
  });
  test('rangeToBits', () => {
    assert.deepEqual(rangeToBits('0'), [1]);
    assert.deepEqual(rangeToBits('0-7'), [255]);
    assert.deepEqual(rangeToBits('8'), [0, 1]);
    assert.deepEqual(rangeToBits(' 1 , 3-4 '), [0b11010]);
    assert.throws(() => rangeToBits('3-1'), /invalid range/);
    assert.throws(() => rangeToBits('x'), /invalid range/);
  });
  test('devices: allow-all is DevicePolicy=auto; the default rules are a strict allow list', () => {
    const look = {
      procDevices: () => 'Character devices:\n  1 mem\n136 pts\n  5 /dev/tty\n\nBlock devices:\n  8 sd\n',
      exists: (p: string) => p.startsWith('/dev/char/'),
    };
    const all = deviceProperties(
      [{ type: 'a', major: -1, minor: -1, permissions: 'rwm', allow: true }],
      undefined,
      look,
    );
    assert.deepEqual(byName(all).DevicePolicy, { sig: 's', value: 'auto' });
    const warnings: string[] = [];
    const strict = deviceProperties(defaultDeviceRules([]), (m) => warnings.push(m), look);
    assert.deepEqual(strict[0], ['DevicePolicy', { sig: 's', value: 'strict' }]);
    const last = strict.at(-1);
    assert.ok(last);
    const allow = last[1].value as Array<[string, string]>;
    assert.ok(
      allow.some(([p, perm]) => p === '/dev/char/1:3' && perm === 'rwm'),
      JSON.stringify(allow),
    );
    assert.ok(
      allow.some(([p]) => p === 'char-pts'),
      JSON.stringify(allow),
    );
    assert.ok(
      allow.some(([p, perm]) => p === 'char-*' && perm === 'm'),
      JSON.stringify(allow),
    );
    const deny = deviceProperties(
      [
        { type: 'a', major: -1, minor: -1, permissions: 'rwm', allow: true },
        { type: 'c', major: 1, minor: 3, permissions: 'rwm', allow: false },
      ],
      (m) => warnings.push(m),
      look,
    );
    assert.deepEqual(byName(deny).DeviceAllow, { sig: 'a(ss)', value: [] });
    assert.ok(warnings.some((w) => /blacklist/.test(w)));
  });
});

describe('systemd driver: org.systemd.property.* annotations (runc 1.1)', () => {
  test('values in the GVariant text format', () => {
    assert.deepEqual(parseVariant('true'), { sig: 'b', value: true });
    assert.deepEqual(parseVariant('42'), { sig: 'i', value: 42 });
    assert.deepEqual(parseVariant('uint64 42'), { sig: 't', value: 42n });
    assert.deepEqual(parseVariant('@t 7'), { sig: 't', value: 7n });
    assert.deepEqual(parseVariant('1.5'), { sig: 'd', value: 1.5 });
    assert.deepEqual(parseVariant("'a b'"), { sig: 's', value: 'a b' });
    assert.deepEqual(parseVariant('"x"'), { sig: 's', value: 'x' });
    assert.deepEqual(parseVariant("['a', 'b']"), { sig: 'as', value: ['a', 'b'] });
    assert.deepEqual(parseVariant('@as []'), { sig: 'as', value: [] });
    assert.throws(() => parseVariant('uint32 -1'), /out of range/);
    assert.throws(() => parseVariant('[1, true]'), /not of type i/);
    assert.throws(() => parseVariant("[1, 'a']"), /mixed|not of type/);
    assert.throws(() => parseVariant('nope'), /cannot parse/);
  });
  test('names and the Sec → USec conversion', () => {
    const p = annotationProperties({
      'org.systemd.property.CollectMode': "'inactive-or-failed'",
      'org.systemd.property.TimeoutStopSec': '15',
      'org.systemd.property.RuntimeMaxSec': 'uint64 2',
      'org.systemd.property.CPUSec': '3',
      'other.annotation': 'x',
    });
    assert.deepEqual(byName(p), {
      CollectMode: { sig: 's', value: 'inactive-or-failed' },
      TimeoutStopUSec: { sig: 't', value: 15_000_000n },
      RuntimeMaxUSec: { sig: 't', value: 2_000_000n },
      CPUSec: { sig: 'i', value: 3 },
    });
    assert.throws(
      () => annotationProperties({ 'org.systemd.property.Ab': '1' }),
      /annotation org.systemd.property.Ab name incorrect: too short/,
    );
    assert.throws(() => annotationProperties({ 'org.systemd.property.A_b': '1' }), /non-alphabetic/);
    assert.throws(
      () => annotationProperties({ 'org.systemd.property.TimeoutSec': "'x'" }),
      /value parse error: not a number/,
    );
    assert.throws(
      () => annotationProperties({ 'org.systemd.property.Foo': '[' }),
      /annotation org.systemd.property.Foo=\[ value parse error/,
    );
  });
  test('the socket of a bus address', () => {
    assert.equal(addressSocket('unix:path=/run/dbus/system_bus_socket'), '/run/dbus/system_bus_socket');
    assert.equal(addressSocket('unix:path=/x/y,guid=123'), '/x/y');
  });
});

describe('systemd driver without systemd (this host): clear errors, nothing left', () => {
  const suite = containerSuite(after);
  const { base, root } = suite;
  let n = 0;
  const bundle = suite.bundle('sleep 30');

  /** What a failed `run` of `id` must not leave: state, a cgroup under any hierarchy, a process. */
  function assertNothingLeft(id: string, except?: number): void {
    assert.deepEqual(fs.existsSync(root) ? fs.readdirSync(root) : [], [], 'state left');
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      for (const unit of [`runc-${id}.scope`, `test-${id}.scope`]) {
        assert.equal(
          fs.existsSync(path.join('/sys/fs/cgroup', h, 'system.slice', unit)),
          false,
          `cgroup ${h}/system.slice/${unit} left`,
        );
      }
    }
    const procs = spawnSync('pgrep', ['-f', base], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((p) => p && Number(p) !== except);
    assert.deepEqual(procs, [], 'processes left');
  }

  test("no /run/systemd/system: runc's message, exit 1", () => {
    const id = `s${++n}`;
    const r = runts(['--root', root, '--systemd-cgroup', 'run', '--bundle', bundle, id]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'runts: systemd not running on this host, cannot use systemd cgroups manager\n');
    assertNothingLeft(id);
  });

  test('a cgroupsPath not in systemd form is refused first, as runc', () => {
    const id = `s${++n}`;
    const b = suite.bundle('true', (c) => (c.linux.cgroupsPath = '/plain/path'));
    const r = runts(['--root', root, '--systemd-cgroup', 'run', '--bundle', b, id]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^runts: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/plain\/path" instead\n$/,
    );
    assertNothingLeft(id);
  });

  /** runts in a mount namespace of its own where /run/systemd/system exists (systemd "runs"), the host untouched. */
  function runWithSystemdDir(args: string[], env: NodeJS.ProcessEnv = {}) {
    const script = 'mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && exec "$@"';
    const r = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', RUNTS, ...args],
      {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 60_000,
      },
    );
    return r;
  }

  test('the system bus cannot be reached: the error names its socket', () => {
    const id = `s${++n}`;
    const sock = path.join(base, 'no-such-bus');
    const r = runWithSystemdDir(['--root', root, '--systemd-cgroup', 'run', '--bundle', bundle, id], {
      DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${sock}`,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr,
      `runts: cannot connect to the D-Bus system bus at ${sock}: ENOENT: no such file or directory, stat '${sock}'\n`,
    );
    assertNothingLeft(id);
  });

  test('a socket that does not answer as a bus: the error names it, the container is undone', () => {
    const id = `s${++n}`;
    const sock = path.join(base, 'not-a-bus');
    fs.writeFileSync(sock, '');
    const r = runWithSystemdDir(['--root', root, '--systemd-cgroup', 'run', '--bundle', bundle, id], {
      DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${sock}`,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^runts: unable to apply cgroup configuration: unable to start unit "runc-${id}.scope": cannot connect to the D-Bus system bus at ${sock}: .*ECONNREFUSED.*\\n$`,
      ),
    );
    assertNothingLeft(id);
  });

  test(
    'a bus without systemd on it: the unit cannot start, the container is undone',
    { skip: !fs.existsSync('/usr/bin/dbus-daemon') && 'no dbus-daemon' },
    async (t) => {
      const id = `s${++n}`;
      const sock = path.join(base, 'bus');
      const conf = path.join(base, 'bus.conf');
      fs.writeFileSync(
        conf,
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${sock}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow eavesdrop="false"/></policy></busconfig>`,
      );
      const daemon = spawn('dbus-daemon', ['--config-file', conf, '--nofork', '--nopidfile'], {
        stdio: 'ignore',
      });
      t.after(() => daemon.kill());
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      const r = runWithSystemdDir(['--root', root, '--systemd-cgroup', 'run', '--bundle', bundle, id], {
        DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${sock}`,
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^runts: unable to apply cgroup configuration: unable to start unit "runc-${id}.scope": .*org.freedesktop.systemd1.*\\n$`,
        ),
      );
      assertNothingLeft(id, daemon.pid);
    },
  );

  test("without --systemd-cgroup the driver's D-Bus client is not loaded", () => {
    // dist/systemd-bus.cjs holds the library: only a worker started by the driver loads it.
    const text = fs.readFileSync(path.join(path.dirname(RUNTS), 'commands', 'create.cjs'), 'utf8');
    assert.equal(/dbus-next|DBusConnection/.test(text), false);
    assert.ok(fs.existsSync(path.join(path.dirname(RUNTS), 'systemd-bus.cjs')));
  });
});
