/**
 * cgroups on real containers: every container's cgroup is read from the
 * host, and limits are checked from inside by behaviour (OOM kill, a fork
 * bomb held at pids.max, a denied device, a frozen busy loop). Containers
 * live under a parent cgroup of this test run (/runts-test-<pid>) in every
 * hierarchy, removed at the end: the host's own cgroups are never touched.
 * Needs root, a build (`npm run build`) and busybox-static; runc for the
 * comparisons (skipped without it).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runts, runtsAsync, tempDir, RUNTS } from '../helpers.js';
import { makeBundle } from '../rootfs.js';
import { cgroupMounts, cgroupMode, parseCgroupFile, type CgroupMount } from '../../src/cgroups/mounts.js';
import { cleanPath, innerPath, v1Dirs, v2Dir } from '../../src/cgroups/paths.js';
import { Emulator, cgroupString, defaultDeviceRules } from '../../src/cgroups/devices.js';
import { deviceFilter, disassemble } from '../../src/cgroups/v2/device-filter.js';
import { attachDeviceFilter } from '../../src/cgroups/v2/devices.js';
import { V2Manager } from '../../src/cgroups/v2/manager.js';
import { resourcesFromSpec, sharesToWeight, swapToV2 } from '../../src/cgroups/resources.js';
import { emptyResources, type DeviceRule } from '../../src/cgroups/types.js';
import { queryPrograms, retryOnEagain, BPF_CGROUP_DEVICE, PROG_LOAD_TRIES } from '../../src/linux/bpf.js';
import { SyscallError } from '../../src/linux/errno.js';
import { parseGoDuration, marshal } from '../../src/cgroups/events.js';
import { removePath } from '../../src/cgroups/fsutil.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const isRoot = process.getuid?.() === 0;
const mode = cgroupMode();
const mounts: CgroupMount[] = cgroupMounts();
const v1 = mounts.filter((m) => m.version === 1);
const unified = mounts.find((m) => m.version === 2);
const haveRunc = spawnSync('runc', ['--version']).status === 0;
const PARENT = `/runts-test-${process.pid}`;

const suite = { after };
const base = tempDir(suite);
const root = path.join(base, 'state');
let n = 0;

/** Every directory a test run's parent cgroup has, one per hierarchy. */
function parentDirs(): string[] {
  return mounts.map((m) => path.join(m.mountpoint, PARENT));
}

after(() => {
  // Containers first (a failed test may have left one), then the parent cgroups.
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : [])
    runts(['--root', root, 'delete', '--force', id]);
  const left: string[] = [];
  for (const d of parentDirs()) {
    if (!fs.existsSync(d)) continue;
    for (let i = 0; i < 50 && !removePath(d); i++) spawnSync('sleep', ['0.1']);
    if (fs.existsSync(d)) left.push(d);
  }
  assert.deepEqual(left, [], 'cgroups left behind');
});

/** A bundle whose process runs `script` with sh, in cgroup PARENT/<name>. */
function bundle(name: string, script: string, patch?: (c: Config) => void): string {
  const dir = path.join(base, `bundle-${++n}`);
  makeBundle(dir, (c: Config) => {
    c.process.terminal = false;
    c.process.args = ['sh', '-c', script];
    c.linux.cgroupsPath = `${PARENT}/${name}`;
    patch?.(c);
  });
  return dir;
}

/** Host directory of the test cgroup `name` in a v1 subsystem ("" = the cgroup2 mount). */
function cg(sub: string, name: string): string {
  const m = sub === '' ? unified : v1.find((x) => x.subsystems.includes(sub));
  assert.ok(m, `${sub} is mounted`);
  return path.join(m.mountpoint, PARENT, name);
}

/** A hierarchy's key in a parsed /proc/<pid>/cgroup: "" for cgroup2, else its first subsystem. */
function hierarchyKey(m: CgroupMount): string {
  return m.version === 2
    ? ''
    : (m.subsystems[0] ?? assert.fail(`${m.mountpoint}: a v1 mount without subsystems`));
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();

function state(id: string): { pid: number; status: string } {
  const r = runts(['--root', root, 'state', id]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function waitFor(cond: () => boolean, ms = 5000): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    spawnSync('sleep', ['0.05']);
  }
  return cond();
}

/** `run -d` with the container's stdout and stderr going to files; returns their paths. */
function runDetached(dir: string, id: string): { out: string; err: string } {
  const out = path.join(dir, 'out');
  const err = path.join(dir, 'err');
  const fo = fs.openSync(out, 'w');
  const fe = fs.openSync(err, 'w');
  const r = spawnSync(RUNTS, ['--root', root, 'run', '-d', '--bundle', dir, id], {
    stdio: ['ignore', fo, fe],
    timeout: 30_000,
  });
  fs.closeSync(fo);
  fs.closeSync(fe);
  assert.equal(r.status, 0, fs.readFileSync(err, 'utf8'));
  return { out, err };
}

/** `create`, its stdio not ours: the init keeps what it inherits until it exits. */
function createQuiet(dir: string, id: string): void {
  const r = spawnSync(RUNTS, ['--root', root, 'create', '--bundle', dir, id], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
}

function del(id: string): void {
  runts(['--root', root, 'delete', '--force', id]);
}

// Typed as test (test.skip lacks only test's sub-properties, unused here) so the
// lint rule on floating promises knows that node:test awaits these calls.
const v1Test = (isRoot && mode !== 'unified' && v1.length > 0 ? test : test.skip) as typeof test;
const anyTest = (isRoot && mounts.length > 0 ? test : test.skip) as typeof test;

describe('unit: paths, devices, conversions', () => {
  test('cgroupsPath is cleaned as runc cleans it', () => {
    assert.equal(cleanPath('/a/b/'), '/a/b');
    assert.equal(cleanPath('../../x'), 'x');
    assert.equal(cleanPath('/../x/../y'), '/y');
    assert.equal(cleanPath(''), '');
    assert.equal(innerPath(undefined, 'ctr'), 'ctr');
    assert.equal(innerPath('', 'ctr'), 'ctr');
    assert.equal(innerPath('/x/y', 'ctr'), '/x/y');
  });

  test('v1: absolute under each mount, relative under our own cgroup, devices mandatory', () => {
    const mi = [
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
      '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices',
      '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
    ].join('\n');
    const ms = cgroupMounts(mi);
    const own = parseCgroupFile('4:memory:/sys.slice/x\n3:cpu,cpuacct:/\n2:devices:/\n0::/u\n');
    const subs = ['devices', 'memory', 'cpu', 'cpuacct', 'pids', ''];
    assert.deepEqual(Object.fromEntries(v1Dirs('/a/b', subs, ms, own)), {
      devices: '/sys/fs/cgroup/devices/a/b',
      memory: '/sys/fs/cgroup/memory/a/b',
      cpu: '/sys/fs/cgroup/cpu,cpuacct/a/b',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/a/b',
      '': '/sys/fs/cgroup/unified/a/b',
    });
    assert.deepEqual(Object.fromEntries(v1Dirs('ctr', subs, ms, own)), {
      devices: '/sys/fs/cgroup/devices/ctr',
      memory: '/sys/fs/cgroup/memory/sys.slice/x/ctr',
      cpu: '/sys/fs/cgroup/cpu,cpuacct/ctr',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/ctr',
      '': '/sys/fs/cgroup/unified/ctr', // runc 1.1: the cgroup2 mount, not our cgroup in it
    });
    assert.throws(
      () => v1Dirs('/a', ['devices'], cgroupMounts(mi.split('\n').slice(0, 2).join('\n')), own),
      /devices/,
    );
  });

  test('v2: absolute under the mount, relative beside our own cgroup', () => {
    const own = parseCgroupFile('0::/user.slice/session-1.scope\n');
    assert.equal(v2Dir('/a/b', '/sys/fs/cgroup', own), '/sys/fs/cgroup/a/b');
    assert.equal(v2Dir('ctr', '/sys/fs/cgroup', own), '/sys/fs/cgroup/user.slice/ctr');
  });

  test("default device rules: the config's, then runc's defaults (minus nodes the config lists)", () => {
    const r = resourcesFromSpec({
      ociVersion: '1.0.2',
      linux: { resources: { devices: [{ allow: false, access: 'rwm' }] } },
    });
    assert.deepEqual(r.devices.map(cgroupString), [
      'a *:* rwm',
      'c *:* m',
      'b *:* m',
      'c 1:3 rwm',
      'c 1:8 rwm',
      'c 1:7 rwm',
      'c 5:0 rwm',
      'c 1:5 rwm',
      'c 1:9 rwm',
      'c 136:* rwm',
      'c 5:2 rwm',
      'c 10:200 rwm',
    ]);
    assert.equal(r.devices[0]?.allow, false);
    const withNull = defaultDeviceRules(['/dev/null']).map(cgroupString);
    assert.ok(!withNull.includes('c 1:3 rwm'));
  });

  test('emulator: transition from allow-all to a whitelist, and the no-op when already there', () => {
    const rules: DeviceRule[] = [
      { type: 'a', major: -1, minor: -1, permissions: 'rwm', allow: false },
      ...defaultDeviceRules([]),
    ];
    const target = Emulator.fromRules(rules);
    const fromAll = Emulator.fromList('a *:* rwm\n').transition(target);
    assert.ok(fromAll[0]);
    assert.equal(cgroupString(fromAll[0]), 'a *:* rwm');
    assert.equal(fromAll[0].allow, false);
    assert.equal(fromAll.length, 12);
    const list =
      fromAll
        .slice(1)
        .map((r) => cgroupString(r))
        .join('\n') + '\n';
    assert.deepEqual(Emulator.fromList(list).transition(target), []);
    assert.throws(
      () =>
        Emulator.fromRules([
          { type: 'c', major: 1, minor: -1, permissions: 'rw', allow: true },
          { type: 'c', major: 1, minor: 3, permissions: 'r', allow: false },
        ]),
      /cannot punch hole/,
    );
  });

  test("the eBPF program for runc's default rules is runc's (devicefilter_test.go)", () => {
    const prog = disassemble(deviceFilter(defaultDeviceRules([])));
    // Offsets resolved: each jump must land on the next block (an instruction after an Exit).
    const lines = prog.map((l) => l.replace(/^\d+: /, ''));
    const blockStarts = new Set([
      6,
      ...lines.flatMap((l, i) => (l === 'Exit' && i + 1 < lines.length ? [i + 1] : [])),
    ]);
    prog.forEach((l, i) => {
      const m = / off: (-?\d+)/.exec(l);
      if (m && /^\d+: J/.test(l))
        assert.ok(blockStarts.has(i + 1 + Number(m[1])), `jump at ${l} lands on a block`);
    });
    const normalized = lines.map((l) => (l.startsWith('J') ? l.replace(/ off: -?\d+/, ' off: -1') : l));
    const expected = [
      'LdXMemW dst: r2 src: r1 off: 0 imm: 0',
      'And32Imm dst: r2 imm: 65535',
      'LdXMemW dst: r3 src: r1 off: 0 imm: 0',
      'RSh32Imm dst: r3 imm: 16',
      'LdXMemW dst: r4 src: r1 off: 4 imm: 0',
      'LdXMemW dst: r5 src: r1 off: 8 imm: 0',
    ];
    const block = (type: number, major?: number, minor?: number, access?: number) => [
      `JNEImm dst: r2 off: -1 imm: ${type}`,
      ...(access !== undefined
        ? ['Mov32Reg dst: r1 src: r3', `And32Imm dst: r1 imm: ${access}`, 'JNEReg dst: r1 off: -1 src: r3']
        : []),
      ...(major !== undefined ? [`JNEImm dst: r4 off: -1 imm: ${major}`] : []),
      ...(minor !== undefined ? [`JNEImm dst: r5 off: -1 imm: ${minor}`] : []),
      'Mov32Imm dst: r0 imm: 1',
      'Exit',
    ];
    expected.push(...block(1, undefined, undefined, 1), ...block(2, undefined, undefined, 1));
    for (const [maj, min] of [
      [1, 3],
      [1, 5],
      [1, 7],
      [1, 8],
      [1, 9],
      [5, 0],
      [5, 2],
      [10, 200],
    ])
      expected.push(...block(2, maj, min));
    expected.push(...block(2, 136), 'Mov32Imm dst: r0 imm: 0', 'Exit');
    assert.deepEqual(normalized, expected);
  });

  test('BPF_PROG_LOAD is tried again on EAGAIN, a few times, and on nothing else', () => {
    const EAGAIN = 11;
    const EPERM = 1;
    const failing = (errno: number, times: number) => {
      let calls = 0;
      const fn = () => {
        if (++calls <= times) throw new SyscallError('bpf', errno, 'BPF_PROG_LOAD');
        return 42;
      };
      return { fn, calls: () => calls };
    };
    assert.equal(
      new SyscallError('bpf', EAGAIN).code,
      'EAGAIN',
      "errno 11's name, not its alias EWOULDBLOCK",
    );
    let f = failing(EAGAIN, PROG_LOAD_TRIES - 1);
    assert.equal(retryOnEagain(f.fn), 42, 'succeeds on the last try');
    assert.equal(f.calls(), PROG_LOAD_TRIES);
    f = failing(EAGAIN, PROG_LOAD_TRIES);
    assert.throws(() => retryOnEagain(f.fn), /BPF_PROG_LOAD: EAGAIN/);
    assert.equal(f.calls(), PROG_LOAD_TRIES, 'gives up after PROG_LOAD_TRIES');
    f = failing(EPERM, 1);
    assert.throws(() => retryOnEagain(f.fn), /EPERM/);
    assert.equal(f.calls(), 1, 'other errors at once');
    const tries: number = PROG_LOAD_TRIES; // a constant today: the bounds guard a future edit
    assert.ok(tries > 1 && tries <= 10);
  });

  test('v1 → v2 conversions and Go formats', () => {
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(262144), 10000);
    assert.equal(swapToV2(0, 100), 0);
    assert.equal(swapToV2(-1, 100), -1);
    assert.equal(swapToV2(300, 100), 200);
    assert.equal(swapToV2(0, -1), -1);
    assert.throws(() => swapToV2(50, 100), /memory\+swap limit should be >= memory limit/);
    assert.equal(parseGoDuration('5s'), 5000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.throws(() => parseGoDuration('5'));
    assert.equal(
      marshal({ a: 18446744073709551615n, b: [1n], c: '<&>' }),
      '{"a":18446744073709551615,"b":[1],"c":"\\u003c\\u0026\\u003e"}',
    );
  });
});

describe('every container has its own cgroup', () => {
  anyTest(
    'the init is in PARENT/<name> in every hierarchy from its first instruction; run removes it',
    () => {
      const dir = bundle('own', 'cat /proc/self/cgroup');
      const r = runts(['--root', root, 'run', '--bundle', dir, 'own']);
      assert.equal(r.status, 0, r.stderr);
      const seen = parseCgroupFile(r.stdout.replace(/\n$/, ''));
      // The container has no cgroup namespace here: paths are the host's.
      for (const m of mounts) {
        const key = hierarchyKey(m);
        assert.equal(seen.get(key), `${PARENT}/own`, `${m.mountpoint}: ${r.stdout}`);
        assert.equal(
          fs.existsSync(path.join(m.mountpoint, PARENT, 'own')),
          false,
          `${m.mountpoint} removed after run`,
        );
      }
    },
  );

  anyTest('without cgroupsPath: <our own cgroup>/<id>, as runc', (t) => {
    // Start runts (and runc) from a cgroup of ours, so that "our own cgroup" is the test's.
    const runner = 'runner';
    for (const m of mounts) {
      const d = path.join(m.mountpoint, PARENT, runner);
      fs.mkdirSync(d, { recursive: true });
      if (m.subsystems.includes('cpuset')) {
        for (const p of [path.join(m.mountpoint, PARENT), d]) {
          for (const f of ['cpuset.cpus', 'cpuset.mems']) {
            if (read(p, f) === '') fs.writeFileSync(path.join(p, f), read(path.dirname(p), f));
          }
        }
      }
    }
    const procsFiles = mounts.map((m) => path.join(m.mountpoint, PARENT, runner, 'cgroup.procs'));
    const inRunner = (cmd: string[]) => {
      const script = procsFiles.map((f) => `echo $$ > ${f}`).join('; ') + '; exec "$@"';
      // Not a pipe: the container inherits it and would hold it open.
      const errFile = path.join(base, `runner-${++n}.err`);
      const fd = fs.openSync(errFile, 'w');
      const r = spawnSync('sh', ['-c', script, 'sh', ...cmd], {
        stdio: ['ignore', 'ignore', fd],
        timeout: 30_000,
      });
      fs.closeSync(fd);
      return { status: r.status, stderr: fs.readFileSync(errFile, 'utf8') };
    };
    const dir = path.join(base, 'default-path');
    makeBundle(dir, (c: Config) => {
      c.process.terminal = false;
      c.process.args = ['sleep', '30'];
      c.root.path = path.join(dir, 'rootfs');
    });
    const id = `default-${process.pid}`;
    // On a hybrid host runc 1.1 puts a relative path under the cgroup2 mount itself, not under
    // our cgroup there: those two (ours and runc's) are made outside PARENT, so remove them here.
    const hybridDir = (name: string) =>
      mode === 'hybrid' && unified ? path.join(unified.mountpoint, name) : undefined;
    t.after(() => {
      for (const name of [id, `runc-${id}`]) {
        const d = hybridDir(name);
        if (d && fs.existsSync(d)) removePath(d);
      }
    });
    const r = inRunner([RUNTS, '--root', root, 'run', '-d', '--bundle', dir, id]);
    t.after(() => del(id));
    assert.equal(r.status, 0, r.stderr);
    const pid = state(id).pid;
    const ours = parseCgroupFile(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    for (const m of mounts) {
      const want = m.version === 2 && mode === 'hybrid' ? `/${id}` : `${PARENT}/${runner}/${id}`;
      assert.equal(ours.get(hierarchyKey(m)), want, m.mountpoint);
    }
    if (haveRunc) {
      const rroot = path.join(base, 'runc-state');
      const rr = inRunner(['runc', '--root', rroot, 'run', '-d', '--bundle', dir, `runc-${id}`]);
      t.after(() => spawnSync('runc', ['--root', rroot, 'delete', '--force', `runc-${id}`]));
      assert.equal(rr.status, 0, rr.stderr);
      const rpid = JSON.parse(
        execFileSync('runc', ['--root', rroot, 'state', `runc-${id}`], { encoding: 'utf8' }),
      ).pid;
      const theirs = parseCgroupFile(fs.readFileSync(`/proc/${rpid}/cgroup`, 'utf8'));
      for (const [k, v] of theirs)
        assert.equal(ours.get(k)?.replace(id, `runc-${id}`), v, `hierarchy ${k || 'unified'} as runc`);
    }
    runts(['--root', root, 'delete', '--force', id]);
    for (const m of mounts)
      assert.equal(fs.existsSync(path.join(m.mountpoint, PARENT, runner, id)), false, 'delete removed it');
    const hd = hybridDir(id);
    if (hd) assert.equal(fs.existsSync(hd), false, 'delete removed it');
  });

  anyTest('a failed create removes the cgroups it made', () => {
    const dir = bundle('failed', 'true', (c) => (c.hooks = { prestart: [{ path: '/bin/false' }] }));
    const r = runts(['--root', root, 'create', '--bundle', dir, 'failed']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /prestart hook/);
    for (const m of mounts)
      assert.equal(fs.existsSync(path.join(m.mountpoint, PARENT, 'failed')), false, m.mountpoint);
  });

  v1Test('a limit for a controller the host has not mounted fails as runc fails, leaving nothing', () => {
    const missing = ['hugetlb', 'net_cls'].find((s) => !v1.some((m) => m.subsystems.includes(s)));
    if (!missing) return;
    const dir = bundle('unmounted', 'true', (c) => {
      if (missing === 'hugetlb') c.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 2097152 }];
      else c.linux.resources.network = { classID: 42 };
    });
    const r = runts(['--root', root, 'create', '--bundle', dir, 'unmounted']);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`cannot set ${missing} limit: container could not join or create cgroup`),
    );
    for (const m of mounts) assert.equal(fs.existsSync(path.join(m.mountpoint, PARENT, 'unmounted')), false);
  });
});

describe('resources (v1)', () => {
  v1Test('each resource is written to its cgroup file', (t) => {
    const blockDev = fs
      .readdirSync('/sys/block')
      .map((d) => fs.readFileSync(`/sys/block/${d}/dev`, 'utf8').trim())
      .find((d) => !d.startsWith('7:'));
    const [maj, min] = (blockDev ?? '7:0').split(':').map(Number);
    // A weight file exists only with an I/O scheduler that has weights (BFQ or CFQ):
    // without one, runc fails to write it as runts does, so ask for a weight only where it can be set.
    const hasWeight = ['blkio.weight', 'blkio.bfq.weight'].some((f) =>
      fs.existsSync(path.join('/sys/fs/cgroup/blkio', f)),
    );
    const dir = bundle('res', 'sleep 30', (c) => {
      c.linux.resources = {
        ...c.linux.resources,
        memory: {
          limit: 104857600,
          reservation: 52428800,
          swap: 209715200,
          swappiness: 10,
          disableOOMKiller: false,
        },
        cpu: { shares: 512, quota: 30000, period: 100000, cpus: '0', mems: '0', burst: 1000, idle: 0 },
        pids: { limit: 64 },
        blockIO: {
          ...(hasWeight ? { weight: 300 } : {}),
          throttleReadBpsDevice: [{ major: maj, minor: min, rate: 1048576 }],
          throttleWriteIOPSDevice: [{ major: maj, minor: min, rate: 100 }],
        },
      };
    });
    runDetached(dir, 'res');
    t.after(() => del('res'));
    const mem = cg('memory', 'res');
    assert.equal(read(mem, 'memory.limit_in_bytes'), '104857600');
    assert.equal(read(mem, 'memory.soft_limit_in_bytes'), '52428800');
    if (fs.existsSync(path.join(mem, 'memory.memsw.limit_in_bytes')))
      assert.equal(read(mem, 'memory.memsw.limit_in_bytes'), '209715200');
    assert.equal(read(mem, 'memory.swappiness'), '10');
    const cpu = cg('cpu', 'res');
    assert.equal(read(cpu, 'cpu.shares'), '512');
    assert.equal(read(cpu, 'cpu.cfs_quota_us'), '30000');
    assert.equal(read(cpu, 'cpu.cfs_period_us'), '100000');
    if (fs.existsSync(path.join(cpu, 'cpu.cfs_burst_us')))
      assert.equal(read(cpu, 'cpu.cfs_burst_us'), '1000');
    assert.equal(read(cg('cpuset', 'res'), 'cpuset.cpus'), '0');
    assert.equal(read(cg('cpuset', 'res'), 'cpuset.mems'), '0');
    assert.equal(read(cg('pids', 'res'), 'pids.max'), '64');
    const blk = cg('blkio', 'res');
    const weightFile = fs.existsSync(path.join(blk, 'blkio.weight')) ? 'blkio.weight' : 'blkio.bfq.weight';
    if (fs.existsSync(path.join(blk, weightFile))) assert.match(read(blk, weightFile), /(^|\s)300$/m);
    if (blockDev) {
      assert.equal(read(blk, 'blkio.throttle.read_bps_device'), `${maj}:${min} 1048576`);
      assert.equal(read(blk, 'blkio.throttle.write_iops_device'), `${maj}:${min} 100`);
    }
    // The default device rules: runc's whitelist.
    assert.deepEqual(
      read(cg('devices', 'res'), 'devices.list').split('\n').sort(),
      [
        'b *:* m',
        'c *:* m',
        'c 1:3 rwm',
        'c 1:5 rwm',
        'c 1:7 rwm',
        'c 1:8 rwm',
        'c 1:9 rwm',
        'c 10:200 rwm',
        'c 136:* rwm',
        'c 5:0 rwm',
        'c 5:2 rwm',
      ].sort(),
    );
  });

  v1Test('a process over the memory limit is OOM-killed and events reports oom', async (t) => {
    const dir = bundle(
      'oom',
      'sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; echo "dd=$?"; sleep 30',
      (c) => {
        c.linux.resources.memory = { limit: 33554432, swap: 33554432 };
      },
    );
    const { out } = runDetached(dir, 'oom');
    t.after(() => del('oom'));
    const events = runtsAsync(['--root', root, 'events', '--interval', '300ms', 'oom'], { timeout: 20_000 });
    assert.ok(
      waitFor(() => fs.readFileSync(out, 'utf8').includes('dd='), 10_000),
      'dd finished',
    );
    assert.equal(fs.readFileSync(out, 'utf8').trim(), 'dd=137', 'dd was killed by SIGKILL');
    assert.match(read(cg('memory', 'oom'), 'memory.oom_control'), /^oom_kill 1$/m);
    spawnSync('sleep', ['0.7']);
    del('oom');
    const ev = await events;
    assert.equal(ev.status, 0, ev.stderr);
    const lines = ev.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      lines.some((e) => e.type === 'oom' && e.id === 'oom' && e.data === undefined),
      ev.stdout.slice(0, 300),
    );
    assert.ok(
      lines.some((e) => e.type === 'stats' && e.data.memory.usage.limit === 33554432),
      'stats events too',
    );
  });

  v1Test(
    "a 6 MB memory limit (Docker's minimum) is met by create and exec: starting Node is not charged to the container",
    (t) => {
      const limit = 6 * 1024 * 1024;
      const dir = bundle('small', 'sleep 30', (c) => {
        c.linux.resources.memory = { limit, swap: limit };
      });
      runDetached(dir, 'small');
      t.after(() => del('small'));
      // The container's own view of its memory cgroup (v1: mounted at its cgroup).
      const r = runts([
        '--root',
        root,
        'exec',
        'small',
        'cat',
        '/sys/fs/cgroup/memory/memory.limit_in_bytes',
        '/sys/fs/cgroup/memory/memory.max_usage_in_bytes',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const [seenLimit, peak = NaN] = r.stdout.trim().split('\n').map(Number);
      assert.equal(seenLimit, limit);
      assert.ok(peak > 0 && peak < limit, `peak usage ${peak}`);
      assert.equal(read(cg('memory', 'small'), 'memory.failcnt'), '0', 'never at the limit');
    },
  );

  v1Test('a fork bomb stops at pids.max', (t) => {
    const dir = bundle(
      'bomb',
      'b() { b | b & }; b; sleep 30',
      (c) => (c.linux.resources.pids = { limit: 20 }),
    );
    createQuiet(dir, 'bomb');
    t.after(() => del('bomb'));
    const pids = cg('pids', 'bomb');
    assert.equal(read(pids, 'pids.max'), '20', 'limit in place before the bomb starts');
    assert.equal(runts(['--root', root, 'start', 'bomb']).status, 0);
    assert.ok(
      waitFor(() => Number(/max (\d+)/.exec(read(pids, 'pids.events'))?.[1] ?? 0) > 0, 5000),
      'forks were refused',
    );
    spawnSync('sleep', ['0.5']);
    assert.ok(Number(read(pids, 'pids.current')) <= 20);
    assert.equal(runts(['--root', root, 'kill', '--all', 'bomb', 'KILL']).status, 0);
    assert.ok(
      waitFor(() => read(pids, 'cgroup.procs') === ''),
      'kill --all leaves no process',
    );
  });

  v1Test('cpu.cfs_quota_us caps a busy loop', (t) => {
    const dir = bundle(
      'quota',
      'while :; do :; done',
      (c) => (c.linux.resources.cpu = { quota: 20000, period: 100000 }),
    );
    runDetached(dir, 'quota');
    t.after(() => del('quota'));
    const acct = cg('cpuacct', 'quota');
    spawnSync('sleep', ['0.3']);
    const t0 = BigInt(read(acct, 'cpuacct.usage'));
    const w0 = process.hrtime.bigint();
    spawnSync('sleep', ['1']);
    const used = Number(BigInt(read(acct, 'cpuacct.usage')) - t0) / Number(process.hrtime.bigint() - w0);
    assert.ok(used > 0.05 && used < 0.3, `CPU share ${used.toFixed(2)} should be about 0.2`);
  });

  v1Test(
    'a device rule denying /dev/null makes `echo > /dev/null` fail; runtime defaults still allow /dev/full',
    () => {
      const dir = bundle(
        'nodev',
        'echo x > /dev/null && echo null-ok || echo null-denied; echo x > /dev/full; echo full=$?; echo x > /dev/zero && echo zero-ok',
        (c) => {
          // Listing /dev/null in linux.devices drops the runtime's default rule for it (as runc).
          c.linux.devices = [
            { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
          ];
          // Docker's style: deny all, allow a list that omits /dev/full, /dev/ptmx and /dev/pts.
          c.linux.resources.devices = [
            { allow: false, access: 'rwm' },
            { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
            { allow: true, type: 'c', major: 1, minor: 3, access: 'm' },
          ];
        },
      );
      const r = runts(['--root', root, 'run', '--bundle', dir, 'nodev']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /null-denied/);
      assert.match(r.stderr, /\/dev\/null: Operation not permitted|can't create \/dev\/null/);
      assert.match(
        r.stderr,
        /No space left on device/,
        '/dev/full opens (the runtime default) and reports ENOSPC',
      );
      assert.match(r.stdout, /zero-ok/);
    },
  );
});

describe('commands', () => {
  anyTest('pause freezes (no progress, state paused), resume thaws', (t) => {
    const dir = bundle('pause', 'while :; do :; done');
    runDetached(dir, 'pause');
    t.after(() => del('pause'));
    const usage = () => BigInt(read(cg('cpuacct', 'pause'), 'cpuacct.usage'));
    assert.equal(runts(['--root', root, 'pause', 'pause']).status, 0);
    assert.equal(state('pause').status, 'paused');
    const u0 = usage();
    spawnSync('sleep', ['0.4']);
    assert.equal(usage(), u0, 'no CPU time while paused');
    const again = runts(['--root', root, 'pause', 'pause']);
    assert.deepEqual([again.status, again.stderr.trim()], [1, 'runts: container not running']);
    assert.equal(runts(['--root', root, 'resume', 'pause']).status, 0);
    assert.equal(state('pause').status, 'running');
    spawnSync('sleep', ['0.3']);
    assert.ok(usage() > u0, 'progress after resume');
    const notPaused = runts(['--root', root, 'resume', 'pause']);
    assert.deepEqual([notPaused.status, notPaused.stderr.trim()], [1, 'runts: container not paused']);
  });

  anyTest("ps --format json lists exactly the container's host pids; table filters ps -ef", (t) => {
    const dir = bundle('ps', 'sleep 31 & sleep 32 & wait');
    runDetached(dir, 'ps');
    t.after(() => del('ps'));
    const init = state('ps').pid;
    const procsDir = v1.length ? cg('devices', 'ps') : cg('', 'ps');
    const inCgroup = () => read(procsDir, 'cgroup.procs').split('\n').filter(Boolean).map(Number).sort();
    assert.ok(waitFor(() => inCgroup().length === 3));
    const kids = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map(Number)
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(init);
        } catch {
          return false;
        }
      });
    const r = runts(['--root', root, 'ps', '--format', 'json', 'ps']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([...JSON.parse(r.stdout)].sort(), [init, ...kids].sort());
    const table = runts(['--root', root, 'ps', 'ps']);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^UID\s+PID\s+PPID/);
    assert.equal(lines.length, 4);
    assert.ok(lines.slice(1).some((l) => /sleep 31/.test(l)));
    const custom = runts(['--root', root, 'ps', 'ps', '-o', 'pid,comm']);
    assert.deepEqual(
      custom.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)[1])
        .sort(),
      ['sh', 'sleep', 'sleep'],
    );
  });

  anyTest('kill --all reaches every process, even without a PID namespace', (t) => {
    const dir = bundle('killall', 'sleep 41 & sleep 42 & wait', (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((x: { type: string }) => x.type !== 'pid');
    });
    runDetached(dir, 'killall');
    t.after(() => del('killall'));
    const procs = cg(v1.length ? 'devices' : '', 'killall');
    assert.ok(waitFor(() => read(procs, 'cgroup.procs').split('\n').length === 3));
    const pids = read(procs, 'cgroup.procs').split('\n').map(Number);
    assert.equal(runts(['--root', root, 'kill', '--all', 'killall', 'KILL']).status, 0);
    assert.ok(
      waitFor(() =>
        pids.every(
          (p) =>
            !fs.existsSync(`/proc/${p}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${p}/status`, 'utf8')),
        ),
      ),
      'no process left',
    );
    assert.ok(waitFor(() => read(procs, 'cgroup.procs') === ''));
    assert.equal(runts(['--root', root, 'delete', 'killall']).status, 0);
    for (const m of mounts) assert.equal(fs.existsSync(path.join(m.mountpoint, PARENT, 'killall')), false);
  });

  v1Test('update changes memory and pids limits of a running container', (t) => {
    const dir = bundle('upd', 'sleep 30', (c) => {
      c.linux.resources.memory = { limit: 104857600 };
      c.linux.resources.pids = { limit: 50 };
      c.linux.resources.cpu = { shares: 256 };
    });
    runDetached(dir, 'upd');
    t.after(() => del('upd'));
    let r = runts(['--root', root, 'update', '--memory', '64m', '--pids-limit', '20', 'upd']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(cg('memory', 'upd'), 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    assert.equal(read(cg('pids', 'upd'), 'pids.max'), '20');
    assert.equal(read(cg('cpu', 'upd'), 'cpu.shares'), '256', 'values not given are left as they are');
    r = runts(['--root', root, 'update', '--resources', '-', 'upd'], {
      input: JSON.stringify({ pids: { limit: 10 }, memory: { limit: 48 * 1024 * 1024 } }),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(read(cg('pids', 'upd'), 'pids.max'), '10');
    assert.equal(read(cg('memory', 'upd'), 'memory.limit_in_bytes'), String(48 * 1024 * 1024));
    const bad = runts(['--root', root, 'update', '--memory', 'lots', 'upd']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid value for memory/);
  });

  v1Test(
    'update takes its flags after the ID too, as runc (cpuset, CFS period, real-time period and runtime)',
    (t) => {
      // Real-time runtime for the container must fit in its parent's: grant some to this run's parent
      // cgroup (given back when the suite removes it).
      const parentCpu = path.dirname(cg('cpu', 'rt'));
      fs.mkdirSync(parentCpu, { recursive: true });
      fs.writeFileSync(path.join(parentCpu, 'cpu.rt_runtime_us'), '100000');
      const dir = bundle('rt', 'sleep 30', (c) => {
        c.linux.resources.cpu = { realtimePeriod: 1000000, realtimeRuntime: 50000 };
      });
      runDetached(dir, 'rt');
      t.after(() => del('rt'));
      const cpu = cg('cpu', 'rt');
      assert.equal(read(cpu, 'cpu.rt_runtime_us'), '50000');
      let r = runts(['--root', root, 'update', 'rt', '--cpuset-cpus', '0']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(cg('cpuset', 'rt'), 'cpuset.cpus'), '0');
      r = runts(['--root', root, 'update', 'rt', '--cpu-period', '900000']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(read(cpu, 'cpu.cfs_period_us'), '900000');
      // A period below the current runtime is refused by the kernel until the runtime is lowered first.
      r = runts(['--root', root, 'update', 'rt', '--cpu-rt-period', '40000', '--cpu-rt-runtime', '3000']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual([read(cpu, 'cpu.rt_period_us'), read(cpu, 'cpu.rt_runtime_us')], ['40000', '3000']);
      r = runts(['--root', root, 'update', 'rt', '--cpu-rt-period', '1000000', '--cpu-rt-runtime', '80000']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual([read(cpu, 'cpu.rt_period_us'), read(cpu, 'cpu.rt_runtime_us')], ['1000000', '80000']);
      // More than the parent grants: the kernel's EINVAL, as under runc.
      r = runts(['--root', root, 'update', 'rt', '--cpu-rt-runtime', '200000']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /cpu\.rt_runtime_us.*invalid argument|EINVAL/i);
    },
  );

  v1Test(
    'a cgroup that is already frozen is refused before anything is made; one with processes is warned about, as runc',
    (t) => {
      const frozen = cg('freezer', 'prefrozen');
      fs.mkdirSync(frozen, { recursive: true });
      fs.writeFileSync(path.join(frozen, 'freezer.state'), 'FROZEN');
      t.after(() => fs.writeFileSync(path.join(frozen, 'freezer.state'), 'THAWED'));
      const dir = bundle('prefrozen', 'true');
      const r = runts(['--root', root, 'run', '--bundle', dir, 'prefrozen'], { timeout: 20_000 });
      assert.deepEqual([r.status, r.stderr], [1, "runts: container's cgroup unexpectedly frozen\n"]);
      assert.equal(fs.existsSync(path.join(root, 'prefrozen')), false, 'no state left');
      for (const m of mounts.filter((x) => !x.subsystems.includes('freezer'))) {
        assert.equal(
          fs.existsSync(path.join(m.mountpoint, PARENT, 'prefrozen')),
          false,
          `no cgroup made in ${m.mountpoint}`,
        );
      }
      if (haveRunc) {
        const theirs = spawnSync(
          'runc',
          ['--root', path.join(base, 'runc-frozen'), 'run', '--bundle', dir, 'runc-prefrozen'],
          { encoding: 'utf8', timeout: 20_000 },
        );
        assert.equal(theirs.status, 1);
        assert.match(theirs.stderr, /container's cgroup unexpectedly frozen/);
      }

      // A cgroup that already has a process: a warning, and the container runs.
      const busy = cg('devices', 'prebusy');
      fs.mkdirSync(busy, { recursive: true });
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      t.after(() => sleeper.kill('SIGKILL'));
      fs.writeFileSync(path.join(busy, 'cgroup.procs'), String(sleeper.pid));
      const warned = runts(['--root', root, 'run', '--bundle', bundle('prebusy', 'echo ran'), 'prebusy']);
      assert.equal(warned.status, 0, warned.stderr);
      assert.equal(warned.stdout, 'ran\n');
      assert.match(
        warned.stderr,
        /^runts: warning: container's cgroup is not empty: 1 process\(es\) found\n/,
      );
    },
  );

  v1Test(
    'device rules take the access letters runc takes (others ignored: "rwa" is "rw"; none left fails as in runc)',
    (t) => {
      const outcome = (cli: string, r: string, access: string) => {
        const id = `dev-${access}-${cli === RUNTS ? 'runts' : 'runc'}`;
        // /dev/full is listed in linux.devices, so runc's default rules leave it out: only the rule under test allows it.
        const dir = bundle(
          id,
          '{ head -c1 /dev/full >/dev/null && echo read; echo x > /dev/full; } 2>&1',
          (c) => {
            c.linux.resources.devices = [
              { allow: false, access: 'rwm' },
              { allow: true, type: 'c', major: 1, minor: 7, access },
            ];
            c.linux.devices = [{ path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 }];
          },
        );
        t.after(() => spawnSync(cli, ['--root', r, 'delete', '--force', id]));
        const res = spawnSync(cli, ['--root', r, 'run', '--bundle', dir, id], {
          encoding: 'utf8',
          timeout: 20_000,
        });
        return { status: res.status, out: res.stdout, err: res.stderr };
      };
      for (const access of ['rwa', 'ra', 'x']) {
        const ours = outcome(RUNTS, root, access);
        if (access === 'x') {
          assert.equal(ours.status, 1, ours.out);
          assert.match(ours.err, /resulting devices cgroup doesn't precisely match target/);
        } else {
          const write = access.includes('w')
            ? 'sh: write error: No space left on device'
            : "sh: can't create /dev/full: Operation not permitted";
          assert.equal(ours.out, `read\n${write}\n`, `${access}: r (and w) allowed, the rest ignored`);
        }
        if (haveRunc) {
          const theirs = outcome('runc', path.join(base, 'runc-dev'), access);
          assert.deepEqual(
            [ours.status, ours.out],
            [theirs.status, theirs.out],
            `${access}: runc ${theirs.err}`,
          );
        }
      }
    },
  );

  anyTest(
    'kill with signal 0 checks liveness: status 0 while running, as runc (also with --all)',
    { skip: !haveRunc && 'runc is not installed' },
    (t) => {
      const rroot = path.join(base, 'runc-kill0');
      const outcomes = (cli: string, r: string, id: string) => {
        const k = (args: string[]) =>
          spawnSync(cli, ['--root', r, 'kill', ...args], { encoding: 'utf8' }).status;
        return [k([id, '0']), k(['--all', id, '0']), k([id, '0', '--all'])];
      };
      const results: Record<string, Array<Array<number | null>>> = {};
      for (const [cli, r, id] of [
        [RUNTS, root, 'k0'],
        ['runc', rroot, 'runc-k0'],
      ] as const) {
        const dir = bundle(id, 'until [ -e /stop ]; do sleep 0.05; done');
        assert.equal(
          spawnSync(cli, ['--root', r, 'run', '-d', '--bundle', dir, id], { stdio: 'ignore' }).status,
          0,
        );
        t.after(() => spawnSync(cli, ['--root', r, 'delete', '--force', id]));
        const running = outcomes(cli, r, id);
        fs.writeFileSync(path.join(dir, 'rootfs', 'stop'), '');
        assert.ok(
          waitFor(() =>
            spawnSync(cli, ['--root', r, 'state', id], { encoding: 'utf8' }).stdout.includes('"stopped"'),
          ),
          `${id} stops`,
        );
        results[cli] = [running, outcomes(cli, r, id)];
      }
      assert.deepEqual(results[RUNTS], [
        [0, 0, 0],
        [1, 0, 0],
      ]);
      assert.deepEqual(results[RUNTS], results.runc);
    },
  );

  v1Test(
    "events --stats has runc's structure (compared with runc on the same config)",
    { skip: !haveRunc && 'runc is not installed' },
    (t) => {
      const dir = bundle('stats', 'sleep 30', (c) => {
        c.linux.resources.memory = { limit: 104857600 };
        c.linux.resources.pids = { limit: 50 };
        c.linux.resources.cpu = { cpus: '0' };
        c.root.path = path.join(base, `bundle-${n}`, 'rootfs');
      });
      runDetached(dir, 'stats');
      t.after(() => del('stats'));
      const ours = runts(['--root', root, 'events', '--stats', 'stats']);
      assert.equal(ours.status, 0, ours.stderr);
      assert.ok(ours.stdout.endsWith('}\n') && ours.stdout.split('\n').length === 2, 'one JSON line');
      // runc on the same config, in a sibling cgroup.
      const rdir = path.join(base, 'runc-stats');
      fs.mkdirSync(rdir);
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      cfg.linux.cgroupsPath = `${PARENT}/runc-stats`;
      fs.writeFileSync(path.join(rdir, 'config.json'), JSON.stringify(cfg));
      const rroot = path.join(base, 'runc-state');
      assert.equal(
        spawnSync('runc', ['--root', rroot, 'run', '-d', '--bundle', rdir, 'runc-stats'], { stdio: 'ignore' })
          .status,
        0,
      );
      t.after(() => spawnSync('runc', ['--root', rroot, 'delete', '--force', 'runc-stats']));
      const theirs = execFileSync('runc', ['--root', rroot, 'events', '--stats', 'runc-stats'], {
        encoding: 'utf8',
      });
      // Keys whose presence depends on a value (Go's omitempty on numbers) are compared only where both have them.
      const valueDependent =
        /\.(total|periods|throttledPeriods|throttledTime|cache|usage|max|current|limit|percpu\w*|cpus|mems)$|\.blkio\./;
      const keys = (v: unknown, p = ''): string[] => {
        if (Array.isArray(v)) return v.flatMap((x) => keys(x, `${p}[]`));
        if (v && typeof v === 'object') {
          return Object.entries(v).flatMap(([k, x]) => {
            const q = /\.(raw|hugetlb)$/.test(p) ? `${p}.*` : `${p}.${k}`;
            return [q, ...keys(x, q)];
          });
        }
        return [];
      };
      const a = new Set(keys(JSON.parse(ours.stdout)).filter((k) => !valueDependent.test(k)));
      const b = new Set(keys(JSON.parse(theirs)).filter((k) => !valueDependent.test(k)));
      assert.deepEqual([...a].sort(), [...b].sort());
      const doc = JSON.parse(ours.stdout);
      assert.deepEqual(Object.keys(doc), ['type', 'id', 'data']);
      assert.deepEqual(Object.keys(doc.data), Object.keys(JSON.parse(theirs).data));
      assert.equal(doc.data.memory.usage.limit, 104857600);
      assert.equal(doc.data.pids.limit, 50);
      assert.deepEqual(doc.data.cpuset.cpus, [0]);
    },
  );

  anyTest('events refuses a stopped container and a bad interval', (t) => {
    const dir = bundle('evstop', 'true');
    assert.equal(runts(['--root', root, 'run', '--keep', '--bundle', dir, 'evstop']).status, 0);
    t.after(() => del('evstop'));
    const r = runts(['--root', root, 'events', 'evstop']);
    assert.deepEqual([r.status, r.stderr.trim()], [1, 'runts: container with id evstop is not running']);
    const bad = runts(['--root', root, 'events', '--interval', '0s', 'evstop']);
    assert.match(bad.stderr, /duration interval must be greater than 0/);
  });
});

describe("cgroup v2 (on this host's cgroup2 mount)", () => {
  const v2Test = (isRoot && unified ? test : test.skip) as typeof test;

  /** A shell placed in `dir` before it runs `script`; returns its output. */
  function inCgroup(dir: string, script: string): string {
    const r = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && { ${script}; }`], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    return r.stdout + r.stderr;
  }

  v2Test('the eBPF device program allows and denies opens, and replaces (never stacks) on update', () => {
    const dir = path.join(unified!.mountpoint, PARENT, 'ebpf');
    fs.mkdirSync(dir, { recursive: true });
    try {
      const rules: DeviceRule[] = [
        { type: 'a', major: -1, minor: -1, permissions: 'rwm', allow: false },
        { type: 'c', major: 1, minor: 5, permissions: 'rwm', allow: true }, // /dev/zero
        { type: 'c', major: 1, minor: 9, permissions: 'r', allow: true }, // /dev/urandom, read only
      ];
      attachDeviceFilter(dir, rules);
      const probe = [
        'head -c1 /dev/zero >/tmp/runts-ebpf-$$ && echo zero-ok || echo zero-denied',
        'cat /dev/null >/tmp/runts-ebpf-$$ 2>&1 && echo null-ok || echo null-denied',
        'head -c1 /dev/urandom >/tmp/runts-ebpf-$$ && echo urandom-read-ok || echo urandom-read-denied',
        '(echo x > /dev/urandom) 2>/tmp/runts-ebpf-$$ && echo urandom-write-ok || echo urandom-write-denied',
        'rm -f /tmp/runts-ebpf-$$',
      ].join('; ');
      let out = inCgroup(dir, probe);
      assert.match(out, /zero-ok/);
      assert.match(out, /null-denied/);
      assert.match(out, /urandom-read-ok/);
      assert.match(out, /urandom-write-denied/);
      const fd = fs.openSync(dir, 'r');
      try {
        assert.equal(queryPrograms(fd, BPF_CGROUP_DEVICE).length, 1);
        // Update: now /dev/null too; the old program is replaced.
        attachDeviceFilter(dir, [
          ...rules,
          { type: 'c', major: 1, minor: 3, permissions: 'rwm', allow: true },
        ]);
        assert.equal(queryPrograms(fd, BPF_CGROUP_DEVICE).length, 1);
      } finally {
        fs.closeSync(fd);
      }
      out = inCgroup(dir, probe);
      assert.match(out, /null-ok/);
    } finally {
      removePath(dir);
    }
  });

  v2Test('the v2 manager: apply, freeze/thaw, pids, stats, cgroup.kill, destroy', async () => {
    const top = path.join(unified!.mountpoint, PARENT);
    fs.mkdirSync(top, { recursive: true });
    const r = emptyResources();
    r.devices = [{ type: 'a', major: -1, minor: -1, permissions: 'rwm', allow: true }];
    // The test's own parent plays the mount: nothing above it is written.
    const m = new V2Manager(top, path.join(top, 'mgr', 'c'), r);
    const child = spawn('sh', ['-c', 'read x; while :; do :; done'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
    try {
      m.apply(child.pid!);
      m.set(r);
      assert.deepEqual(m.allPids(), [child.pid]);
      m.freeze('FROZEN');
      assert.equal(m.freezerState(), 'FROZEN');
      m.freeze('THAWED');
      assert.equal(m.freezerState(), 'THAWED');
      const s = m.stats();
      assert.equal(s.pids.current, 1n);
      m.signalAll(9);
      assert.equal(await exited, 'SIGKILL');
      m.destroy();
      assert.equal(fs.existsSync(path.join(top, 'mgr', 'c')), false);
    } finally {
      child.kill('SIGKILL');
      removePath(path.join(top, 'mgr'));
    }
  });
});
