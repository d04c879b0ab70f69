/**
 * The VM lane's systemd suite (issue 17): the systemd cgroup driver
 * (--systemd-cgroup) against a real systemd, as PID 1 of the lane's guest
 * (test/vm/run.sh --systemd: pure cgroup v2, the system bus up), for runc
 * (the reference) and runts alike (RUNTS_VM_RUNTIME, as guest.vm.ts).
 * Every unit it makes is named test-<runtime>-*, in slices runtsvm*.slice;
 * the end checks none is left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeBusyboxRootfs } from '../rootfs.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

if (!fs.existsSync('/run/vm/env') || !fs.existsSync('/run/systemd/system')) {
  throw new Error("systemd.vm.ts runs in the VM lane's systemd mode only (test/vm/lane.sh --systemd)");
}

const SRC = process.env.RUNTS_VM_SRC ?? process.cwd();
const RUNTIME = process.env.RUNTS_VM_RUNTIME ?? 'runts';
const RT =
  RUNTIME === 'runc' ? '/usr/sbin/runc' : (process.env.RUNTS_VM_RUNTS ?? path.join(SRC, 'dist', 'runts'));
const CG = '/sys/fs/cgroup';
const BASE = fs.mkdtempSync('/tmp/runts-vm-sd-');
const STATE = path.join(BASE, 'state');
const ROOTFS = path.join(BASE, 'rootfs');
const P = `test-${RUNTIME}`; // the scope prefix of this run's units
let template: Config;

const sab = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(sab, 0, 0, ms);
function waitFor(cond: () => boolean, ms = 30_000): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    sleep(100);
  }
  return cond();
}

let calls = 0;
/** The runtime with --systemd-cgroup and the suite's --root; stdio through files (a container may hold them). */
function rt(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = path.join(BASE, `rt-${++calls}.out`);
  const err = path.join(BASE, `rt-${calls}.err`);
  const fo = fs.openSync(out, 'w');
  const fe = fs.openSync(err, 'w');
  const fi = fs.openSync(path.join(BASE, 'empty'), fs.constants.O_RDONLY | fs.constants.O_CREAT);
  const r = spawnSync(RT, ['--root', STATE, '--systemd-cgroup', ...args], {
    stdio: [fi, fo, fe],
    timeout: 180_000,
  });
  for (const fd of [fi, fo, fe]) fs.closeSync(fd);
  if (r.error) throw r.error;
  return { status: r.status, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
}
function ok(args: string[]): string {
  const r = rt(args);
  assert.equal(r.status, 0, `${RUNTIME} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `systemctl show UNIT -p ...` as a map. */
function show(unit: string, ...props: string[]): Partial<Record<string, string>> {
  const r = spawnSync('systemctl', ['show', unit, ...props.flatMap((p) => ['-p', p])], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** The unit systemd says holds `pid` (systemctl status PID). */
function unitOfPid(pid: number): string {
  const r = spawnSync('systemctl', ['status', '--no-pager', '-n0', String(pid)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return /^\S*\s*(\S+)/.exec(r.stdout)?.[1] ?? `(none: ${r.stdout}${r.stderr})`;
}

/** A bundle whose process is `sh -c script`, in `cgroupsPath` (systemd form). */
function bundle(id: string, cgroupsPath: string, script: string, patch?: (c: Config) => void): string {
  const dir = path.join(BASE, `bundle-${id}`);
  fs.mkdirSync(dir, { recursive: true });
  const c: Config = structuredClone(template);
  c.process.terminal = false;
  c.process.args = ['sh', '-c', script];
  c.root = { path: ROOTFS, readonly: true };
  c.linux.cgroupsPath = cgroupsPath;
  c.linux.resources ??= {};
  patch?.(c);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c, null, 2));
  return dir;
}

/** `run -d`; the container's output goes to dir/out. */
function runDetached(dir: string, id: string): string {
  const out = path.join(dir, 'out');
  const err = path.join(dir, 'err');
  const fo = fs.openSync(out, 'w');
  const fe = fs.openSync(err, 'w');
  const fi = fs.openSync(path.join(BASE, 'empty'), fs.constants.O_RDONLY | fs.constants.O_CREAT);
  // Files, not pipes: the container keeps its stdio open.
  const r = spawnSync(RT, ['--root', STATE, '--systemd-cgroup', 'run', '-d', '--bundle', dir, id], {
    stdio: [fi, fo, fe],
    timeout: 180_000,
  });
  for (const fd of [fi, fo, fe]) fs.closeSync(fd);
  assert.equal(r.status, 0, `run -d ${id}: ${fs.readFileSync(err, 'utf8')}`);
  return out;
}
function waitOutput(file: string, marker: string): string {
  assert.ok(
    waitFor(() => fs.readFileSync(file, 'utf8').includes(marker), 90_000),
    `no ${marker} in: ${fs.readFileSync(file, 'utf8')}`,
  );
  return fs.readFileSync(file, 'utf8');
}
const statePid = (id: string): number => JSON.parse(ok(['state', id])).pid;
const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
const gone = (unit: string) =>
  ['not-found', ''].includes(show(unit, 'LoadState').LoadState ?? '') ||
  show(unit, 'ActiveState').ActiveState === 'inactive';

before(() => {
  makeBusyboxRootfs(ROOTFS);
  const specDir = path.join(BASE, 'spec');
  fs.mkdirSync(specDir);
  const r = spawnSync(RT, ['spec'], { cwd: specDir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  template = JSON.parse(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8'));
  const v = spawnSync('systemctl', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  process.stdout.write(`# runtime: ${RUNTIME} (${RT}); ${v}\n`);
});

after(() => {
  for (const id of fs.existsSync(STATE) ? fs.readdirSync(STATE) : []) rt(['delete', '--force', id]);
  const units = spawnSync(
    'systemctl',
    ['list-units', '--all', '--plain', '--no-legend', `${P}-*`, 'runtsvm*'],
    { encoding: 'utf8' },
  ).stdout;
  // Our slices go once empty (systemd stops them with their last unit only when asked): stop them.
  spawnSync('systemctl', ['stop', 'runtsvm*.slice']);
  fs.rmSync(BASE, { recursive: true, force: true });
  assert.equal(
    units
      .split('\n')
      .filter((l) => l.includes(P))
      .join('\n'),
    '',
    'units left',
  );
});

describe('systemd driver: one scope with limits', () => {
  const id = `${RUNTIME}-lim`;
  const unit = `${P}-lim.scope`;
  const cgroup = path.join(CG, 'system.slice', unit);
  let out = '';

  before(() => {
    const dir = bundle(
      id,
      `system.slice:${P}:lim`,
      'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max; echo ready; exec sleep 1000',
      (c) => {
        c.linux.resources.memory = { limit: 64 << 20 };
        c.linux.resources.cpu = { shares: 2048, quota: 50_000, period: 100_000 };
        c.linux.resources.pids = { limit: 50 };
        c.annotations = {
          'org.systemd.property.TimeoutStopSec': 'uint64 17',
          'org.systemd.property.CollectMode': "'inactive-or-failed'",
        };
      },
    );
    out = waitOutput(runDetached(dir, id), 'ready');
  });

  test('the scope holds the init, with Delegate=yes and the limits as properties', () => {
    assert.equal(unitOfPid(statePid(id)), unit);
    const p = show(
      unit,
      'Delegate',
      'MemoryMax',
      'CPUWeight',
      'TasksMax',
      'CPUQuotaPerSecUSec',
      'Slice',
      'ActiveState',
      'Description',
    );
    assert.deepEqual(p, {
      Delegate: 'yes',
      MemoryMax: String(64 << 20),
      CPUWeight: '79',
      TasksMax: '50',
      CPUQuotaPerSecUSec: '500ms',
      Slice: 'system.slice',
      ActiveState: 'active',
      Description: 'libcontainer container lim', // runc: the path's name part, not the ID
    });
  });

  test('the process sees its limits (its own cgroup namespace)', () => {
    assert.equal(out.split('\n').slice(0, 4).join(' '), `${64 << 20} 79 50 50000 100000`);
  });

  test('org.systemd.property.* annotations apply (TimeoutStopSec → USec)', () => {
    assert.deepEqual(show(unit, 'TimeoutStopUSec', 'CollectMode'), {
      TimeoutStopUSec: '17s',
      CollectMode: 'inactive-or-failed',
    });
  });

  test('update changes the unit and the files', () => {
    ok(['update', '--memory', '128M', '--pids-limit', '70', '--cpu-share', '512', id]);
    assert.deepEqual(show(unit, 'MemoryMax', 'TasksMax', 'CPUWeight'), {
      MemoryMax: String(128 << 20),
      TasksMax: '70',
      CPUWeight: '20',
    });
    assert.equal(read(cgroup, 'memory.max'), String(128 << 20));
    assert.equal(read(cgroup, 'pids.max'), '70');
    assert.equal(read(cgroup, 'cpu.weight'), '20');
  });

  test("ps, pause and resume on the unit's cgroup", () => {
    const pid = statePid(id);
    assert.match(ok(['ps', '--format', 'json', id]), new RegExp(`\\b${pid}\\b`));
    ok(['pause', id]);
    assert.equal(read(cgroup, 'cgroup.freeze'), '1');
    ok(['resume', id]);
    assert.equal(read(cgroup, 'cgroup.freeze'), '0');
  });

  test('kill --all, then delete: no unit, no cgroup', () => {
    ok(['kill', '--all', id, 'KILL']);
    assert.ok(waitFor(() => JSON.parse(ok(['state', id])).status === 'stopped'));
    ok(['delete', id]);
    assert.ok(
      waitFor(() => gone(unit)),
      JSON.stringify(show(unit, 'LoadState', 'ActiveState')),
    );
    assert.equal(fs.existsSync(cgroup), false);
  });
});

describe('systemd driver: lifecycles', () => {
  test('the default path: runc-<id>.scope in system.slice; deleted after kill -9 of the init', () => {
    const id = `${P}-dflt`;
    const unit = `runc-${id}.scope`;
    const out = runDetached(bundle(id, '', 'echo ready; exec sleep 1000'), id);
    waitOutput(out, 'ready');
    const pid = statePid(id);
    assert.equal(unitOfPid(pid), unit);
    process.kill(pid, 'SIGKILL');
    assert.ok(waitFor(() => JSON.parse(ok(['state', id])).status === 'stopped'));
    ok(['delete', id]);
    assert.ok(
      waitFor(() => gone(unit)),
      JSON.stringify(show(unit, 'LoadState', 'ActiveState')),
    );
    assert.equal(fs.existsSync(path.join(CG, 'system.slice', unit)), false);
  });

  test('a scope in a nested slice of its own (runtsvm-inner.slice)', () => {
    const id = `${RUNTIME}-slc`;
    const unit = `${P}-slc.scope`;
    const out = runDetached(
      bundle(
        id,
        `runtsvm-inner.slice:${P}:slc`,
        'cat /proc/self/cgroup; echo ready; exec sleep 1000',
        (c) => {
          c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
        },
      ),
      id,
    );
    const text = waitOutput(out, 'ready');
    assert.match(text, new RegExp(`^0::/runtsvm.slice/runtsvm-inner.slice/${unit}$`, 'm'));
    assert.equal(show(unit, 'Slice').Slice, 'runtsvm-inner.slice');
    ok(['delete', '--force', id]);
    assert.ok(waitFor(() => gone(unit)));
  });

  test('a create that fails after the unit started (a failing prestart hook): no unit, no state left', () => {
    const id = `${RUNTIME}-hook`;
    const unit = `${P}-hook.scope`;
    const r = rt([
      'create',
      '--bundle',
      bundle(id, `system.slice:${P}:hook`, 'true', (c) => (c.hooks = { prestart: [{ path: '/bin/false' }] })),
      id,
    ]);
    assert.notEqual(r.status, 0);
    assert.ok(
      waitFor(() => gone(unit)),
      JSON.stringify(show(unit, 'LoadState', 'ActiveState')),
    );
    assert.equal(fs.existsSync(path.join(STATE, id)), false);
  });

  test('create then delete without start: no unit left', () => {
    const id = `${RUNTIME}-crt`;
    const unit = `${P}-crt.scope`;
    ok(['create', '--bundle', bundle(id, `system.slice:${P}:crt`, 'true'), id]);
    assert.equal(show(unit, 'ActiveState').ActiveState, 'active');
    ok(['delete', id]);
    assert.ok(waitFor(() => gone(unit)));
  });
});
