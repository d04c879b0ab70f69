/**
 * The CLI through dist/runts (run `npm run build` first): global flags,
 * errors, state, list, spec and features, compared with runc 1.1.5 where
 * /usr/bin/runc is installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { validateContainerId } from '../../src/container/id.js';
import { StateStore } from '../../src/container/state-store.js';
import { processStartTime } from '../../src/container/status.js';
import { tabulate } from '../../src/cli/list.js';
import { reorderArgs } from '../../src/cli/argv.js';
import { commands } from '../../src/cli/commands.js';
import { goJson } from '../../src/json.js';
import { featuresDocument, MOUNT_OPTIONS } from '../../src/spec/features.js';
import { defaultSpec } from '../../src/spec/defaults.js';
import { isCgroup2Unified } from '../../src/cgroups/mounts.js';
import { SPEC_VERSION } from '../../src/version.js';
import { BAD_IDS, GOOD_IDS, liveProcess, record, ROOT_DIR, runts, tempDir } from '../helpers.js';

const RUNC = '/usr/bin/runc';
const hasRunc = fs.existsSync(RUNC);
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
const isRoot = process.geteuid?.() === 0;

function runc(args: string[], cwd?: string) {
  const r = spawnSync(RUNC, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A state root under a fresh temp dir (not created: runts must cope). */
const rootIn = (t: { after(fn: () => void): void }) => path.join(tempDir(t), 'root');

function messageOf(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('errors and global flags', () => {
  test('--version prints four lines', () => {
    const r = runts(['--version']);
    assert.equal(r.status, 0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT_DIR, 'package.json'), 'utf8'));
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 5, r.stdout);
    assert.equal(lines[0], `runts version ${pkg.version}`);
    assert.match(lines[1] ?? '', /^commit: \S+$/);
    assert.equal(lines[2], `spec: ${SPEC_VERSION}`);
    assert.equal(lines[3], `node: ${process.version}`);
    assert.equal(lines[4], '');
    assert.deepEqual(runts(['-v']).stdout, r.stdout);
  });

  test('--root DIR, --root=DIR and Go-style -root DIR are all accepted', (t) => {
    const root = rootIn(t);
    const store = new StateStore(root);
    store.createDir('c1');
    store.write(record('c1'));
    for (const args of [['--root', root], [`--root=${root}`], ['-root', root], [`-root=${root}`]]) {
      const r = runts([...args, 'state', 'c1']);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).id, 'c1');
    }
  });

  test('an unknown flag is refused', (t) => {
    const r = runts(['--root', rootIn(t), '--bogus', 'state', 'c1']);
    assert.deepEqual(
      [r.status, r.stderr, r.stdout],
      [1, 'runts: flag provided but not defined: -bogus\n', ''],
    );
    const c = runts(['--root', rootIn(t), 'list', '--bogus']);
    assert.deepEqual([c.status, c.stderr], [1, 'runts: flag provided but not defined: -bogus\n']);
  });

  test('--log FILE --log-format json records the error as a JSON line', (t) => {
    const dir = tempDir(t);
    const log = path.join(dir, 'log.json');
    const r = runts([
      '--root',
      path.join(dir, 'root'),
      '--log',
      log,
      '--log-format',
      'json',
      'state',
      'nope',
    ]);
    assert.deepEqual([r.status, r.stderr], [1, 'runts: container does not exist\n']);
    const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!);
    assert.equal(last.level, 'error');
    assert.equal(last.msg, 'container does not exist');
    assert.ok(!Number.isNaN(Date.parse(last.time)), `time ${last.time}`);
  });

  // --systemd-cgroup itself: test/integration/systemd.test.ts (and the VM lane's systemd mode).

  // CRIU cannot run on this machine kind (Debian's criu fails `criu check` on this kernel).
  for (const args of [
    ['checkpoint', 'x'],
    ['restore', 'x'],
  ]) {
    test(`${args[0]} is not implemented yet`, (t) => {
      const r = runts(['--root', rootIn(t), ...args]);
      assert.deepEqual([r.status, r.stderr, r.stdout], [1, `runts: ${args[0]} is not implemented yet\n`, '']);
    });
  }

  test("flags after the container ID are reordered as runc's urfave/cli does (not for exec and ps)", () => {
    const flags = commands.find((c) => c.name === 'update')!.flags;
    assert.deepEqual(reorderArgs(['c1', '--cpuset-cpus', '1'], flags), ['--cpuset-cpus', '1', 'c1']);
    assert.deepEqual(
      reorderArgs(['c1', '--cpu-quota', '-1'], flags),
      ['--cpu-quota', '-1', 'c1'],
      'a value may start with -',
    );
    assert.deepEqual(reorderArgs(['c1', '--memory=1m', 'x'], flags), ['--memory=1m', 'c1', 'x']);
    assert.deepEqual(
      reorderArgs(['c1', '--', '--memory', '1'], flags),
      ['--', 'c1', '--memory', '1'],
      '-- ends reordering, moved first',
    );
    assert.deepEqual(
      reorderArgs(['c1', '--bogus', '1'], flags),
      ['c1', '--bogus', '1'],
      'unknown flags stay positional',
    );
    const kill = commands.find((c) => c.name === 'kill')!.flags;
    assert.deepEqual(
      reorderArgs(['c1', '--all', '9'], kill),
      ['--all', '9', 'c1'],
      'runc moves the word after a bool flag too',
    );
    assert.equal(commands.find((c) => c.name === 'exec')!.keepOrder, true);
    assert.equal(commands.find((c) => c.name === 'ps')!.keepOrder, true);
  });

  test(
    "the same argument orders give runc's outcome on a missing container",
    { skip: !hasRunc && 'no runc' },
    (t) => {
      const root = rootIn(t);
      // "missing": the command reached the container lookup; "usage": the argument count was refused.
      const outcome = (r: { status: number | null; stdout: string; stderr: string }) =>
        /does not exist/.test(r.stderr)
          ? 'missing'
          : /requires/.test(r.stderr)
            ? 'usage'
            : /NAME:|runts \w+ /.test(r.stdout)
              ? 'help'
              : `other ${r.status}: ${r.stderr}`;
      const cases = [
        ['update', 'nope', '--cpuset-cpus', '1'],
        ['update', 'nope', '--cpu-period', '900000'],
        ['update', 'nope', '--cpu-rt-period', '900001', '--cpu-rt-runtime', '600001'],
        ['update', 'nope', '--', '--memory', '1'],
        ['kill', 'nope', '9', '--all'],
        ['kill', 'nope', '--', '0'],
        ['kill', '--all', 'nope', '0'],
        ['state', 'nope', '--bogus'],
        ['pause', 'nope', '-x'],
        ['events', 'nope', '--stats'],
        ['events', 'nope', '--interval', '1s'],
        ['ps', 'nope', '-f', 'json'],
        ['exec', 'nope', 'sh', '--tty'],
        ['exec', 'nope', '--', 'sh'],
        ['delete', '--', 'nope'],
        ['state', 'nope', '--help'],
        ['list', '-q', 'extra'],
      ];
      for (const args of cases) {
        const ours = runts(['--root', root, ...args]);
        const theirs = runc(['--root', root, ...args]);
        assert.equal(outcome(ours), outcome(theirs), args.join(' '));
        assert.equal(ours.status, theirs.status, args.join(' '));
      }
    },
  );

  test('errors carry no stack trace without --debug', (t) => {
    const root = rootIn(t);
    for (const args of [
      ['state', 'nope'],
      ['state', '../x'],
      ['nosuch'],
      ['state'],
      ['list', '-f', 'yaml'],
      ['--log-format', 'xml', 'list'],
    ]) {
      const r = runts(['--root', root, ...args]);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /^runts: [^\n]+\n$/, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe('state', () => {
  test('of a missing container', (t) => {
    const r = runts(['--root', rootIn(t), 'state', 'nope']);
    assert.deepEqual([r.status, r.stdout, r.stderr], [1, '', 'runts: container does not exist\n']);
  });

  for (const id of BAD_IDS) {
    test(`refuses the ID ${JSON.stringify(id.length > 40 ? `${id.length} chars` : id)}`, (t) => {
      const r = runts(['--root', rootIn(t), 'state', id]);
      assert.deepEqual(
        [r.status, r.stdout, r.stderr],
        [1, '', `runts: ${messageOf(() => validateContainerId(id))}\n`],
      );
    });
  }

  for (const id of GOOD_IDS) {
    test(`accepts the ID ${JSON.stringify(id.length > 40 ? `${id.length} chars` : id)}`, (t) => {
      const root = rootIn(t);
      assert.equal(runts(['--root', root, 'state', id]).stderr, 'runts: container does not exist\n');
      if (id.length > 255) return; // valid, but longer than a file name can be
      const store = new StateStore(root);
      store.createDir(id);
      store.write(record(id));
      const r = runts(['--root', root, 'state', id]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).id, id);
    });
  }

  test("prints runc's format: key order, two-space indent, Go string escapes", (t) => {
    const root = rootIn(t);
    const store = new StateStore(root);
    store.createDir('c1');
    store.write(
      record('c1', {
        bundle: '/b&<x>',
        rootfs: '/b&<x>/rootfs',
        annotations: { 'z.b': 'quote " \\ \u2028', 'a.a': 'tab\t' },
      }),
    );
    const r = runts(['--root', root, 'state', 'c1']);
    assert.equal(r.status, 0, r.stderr);
    // Written out from runc 1.1.5's output for a similar container.
    const expected = `{
  "ociVersion": "1.2.0",
  "id": "c1",
  "pid": 0,
  "status": "stopped",
  "bundle": "/b\\u0026\\u003cx\\u003e",
  "rootfs": "/b\\u0026\\u003cx\\u003e/rootfs",
  "created": "2026-01-02T03:04:05.123456789Z",
  "annotations": {
    "a.a": "tab\\t",
    "z.b": "quote \\" \\\\ \\u2028"
  },
  "owner": ""
}`; // no newline at the end, as runc
    assert.equal(r.stdout, expected);
    store.write(record('c1'));
    assert.doesNotMatch(runts(['--root', root, 'state', 'c1']).stdout, /annotations/);
  });

  test('a live init shows running, with its pid', (t) => {
    const root = rootIn(t);
    const p = liveProcess(t);
    const store = new StateStore(root);
    store.createDir('c1');
    store.write(record('c1', { pid: p.pid, pidStartTime: p.startTime }));
    const doc = JSON.parse(runts(['--root', root, 'state', 'c1']).stdout);
    assert.deepEqual([doc.status, doc.pid], ['running', p.pid]);
  });
});

describe('list', () => {
  test('on an empty or missing root: header only, json null, -q nothing', (t) => {
    const root = rootIn(t);
    for (const r of [root, (fs.mkdirSync(root), root)]) {
      assert.deepEqual(runts(['--root', r, 'list']), {
        status: 0,
        signal: null,
        stderr: '',
        stdout: 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n',
      });
      assert.deepEqual(runts(['--root', r, 'list', '-f', 'json']).stdout, 'null\n');
      assert.deepEqual(runts(['--root', r, 'list', '--format=json']).stdout, 'null\n');
      assert.deepEqual(runts(['--root', r, 'list', '-q']).stdout, '');
    }
  });

  test('matches runc on an empty root', { skip: !hasRunc && 'no /usr/bin/runc' }, (t) => {
    const root = rootIn(t);
    fs.mkdirSync(root);
    for (const args of [['list'], ['list', '-f', 'json'], ['list', '-q'], ['list', '-q', '-f', 'bogus']]) {
      const ours = runts(['--root', root, ...args]);
      const theirs = runc(['--root', root, ...args]);
      assert.deepEqual([ours.status, ours.stdout], [theirs.status, theirs.stdout], args.join(' '));
    }
    assert.equal(runts(['--root', root, 'list', '-f', 'yaml']).stderr, 'runts: invalid format option\n');
  });

  test('lists containers: table, json and -q', (t) => {
    const root = rootIn(t);
    const p = liveProcess(t);
    const store = new StateStore(root);
    store.createDir('b-running');
    store.write(
      record('b-running', { pid: p.pid, pidStartTime: p.startTime, bundle: '/a/rather/long/bundle/path' }),
    );
    store.createDir('a-stopped');
    store.write(record('a-stopped', { pid: 999_999_999, pidStartTime: '1', annotations: { k: 'v' } }));
    store.createDir('c-creating'); // no state.json yet: not listed
    assert.equal(runts(['--root', root, 'list', '-q']).stdout, 'a-stopped\nb-running\n');

    const json = runts(['--root', root, 'list', '-f', 'json']);
    assert.equal(json.status, 0, json.stderr);
    assert.equal(json.stdout.split('\n').length, 2, 'one line');
    const docs = JSON.parse(json.stdout);
    // list names the owner of the container's directory: the user running the tests.
    const o = os.userInfo().username;
    const state = (id: string) => ({ ...JSON.parse(runts(['--root', root, 'state', id]).stdout), owner: o });
    assert.deepEqual(docs, [state('a-stopped'), state('b-running')]);

    const table = runts(['--root', root, 'list']).stdout;
    const created = '2026-01-02T03:04:05.123456789Z';
    const pid = String(p.pid).padEnd(12);
    assert.equal(
      table,
      'ID          PID         STATUS      BUNDLE                       CREATED                          OWNER\n' +
        `a-stopped   0           stopped     /bundles/a-stopped           ${created}   ${o}\n` +
        `b-running   ${pid}running     /a/rather/long/bundle/path   ${created}   ${o}\n`,
    );
  });

  test('tabulate behaves as Go text/tabwriter(minwidth 12, padding 3)', () => {
    assert.equal(
      tabulate([
        ['ID', 'PID', 'STATUS'],
        ['averyveryverylongid', '1', 'running'],
        ['é', '', ''],
      ]),
      'ID' +
        ' '.repeat(20) +
        'PID' +
        ' '.repeat(9) +
        'STATUS\n' +
        'averyveryverylongid   1' +
        ' '.repeat(11) +
        'running\n' +
        'é' +
        ' '.repeat(21) +
        ' '.repeat(12) +
        '\n',
    );
  });

  test(
    'state and list match runc byte for byte on an equivalent container',
    {
      skip:
        (!hasRunc && 'no /usr/bin/runc') || (!isRoot && 'needs root') || (!BUSYBOX && 'no static busybox'),
    },
    (t) => {
      const dir = tempDir(t);
      const bundle = path.join(dir, 'bundle');
      fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), { recursive: true });
      fs.copyFileSync(BUSYBOX!, path.join(bundle, 'rootfs', 'bin', 'busybox'));
      fs.chmodSync(path.join(bundle, 'rootfs', 'bin', 'busybox'), 0o755);
      assert.equal(runc(['spec'], bundle).status, 0);
      const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      config.process.terminal = false;
      config.process.args = ['/bin/busybox', 'sleep', '30'];
      config.annotations = { 'b.x': '1 & <2>', 'a.y': 'z' };
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
      const runcRoot = path.join(dir, 'runc-root');
      const id = `runts-cmp-${process.pid}`; // also the name of runc's cgroup
      const created = spawnSync(RUNC, ['--root', runcRoot, 'create', '--bundle', bundle, id], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 30_000,
      });
      // Not t.after: after-hooks run in registration order, and tempDir's
      // would remove runc's state before runc could delete the container.
      try {
        // runc may be unable to create containers here (no privileges): then there is nothing to compare.
        if (created.status !== 0) {
          t.skip(`runc create failed: ${created.stderr.toString().trim()}`);
          return;
        }
        const theirs = runc(['--root', runcRoot, 'state', id]);
        const doc = JSON.parse(theirs.stdout);
        const root = path.join(dir, 'runts-root');
        const store = new StateStore(root);
        store.createDir(id);
        store.write({
          ...record(id),
          ociVersion: doc.ociVersion,
          pid: doc.pid,
          pidStartTime: processStartTime(doc.pid)!,
          bundle: doc.bundle,
          rootfs: doc.rootfs,
          created: doc.created,
          owner: doc.owner,
          annotations: config.annotations,
        });
        assert.equal(spawnSync('mkfifo', [path.join(store.dir(id), 'exec.fifo')]).status, 0);
        // Byte for byte, down to the missing newline at the end.
        assert.equal(runts(['--root', root, 'state', id]).stdout, theirs.stdout);
        for (const args of [['list'], ['list', '-f', 'json'], ['list', '-q']]) {
          assert.equal(
            runts(['--root', root, ...args]).stdout,
            runc(['--root', runcRoot, ...args]).stdout,
            args.join(' '),
          );
        }
      } finally {
        runc(['--root', runcRoot, 'delete', '--force', id]);
      }
    },
  );
});

describe('spec', () => {
  /** runc 1.1.5's config.json (from runc if installed, else the recorded fixture). */
  function runcSpec(t: { after(fn: () => void): void }, rootless: boolean): string | undefined {
    if (hasRunc) {
      const dir = tempDir(t);
      assert.equal(runc(['spec', ...(rootless ? ['--rootless'] : [])], dir).status, 0);
      return fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    }
    // The rootless fixture maps uid/gid 0: it only fits when running as root.
    if (rootless && !isRoot) return undefined;
    // The fixtures were recorded on a host with cgroup v1: no cgroup namespace.
    if (isCgroup2Unified()) return undefined;
    return fs.readFileSync(
      path.join(ROOT_DIR, 'test', 'fixtures', `runc-1.1.5-spec${rootless ? '-rootless' : ''}.json`),
      'utf8',
    );
  }

  for (const rootless of [false, true]) {
    test(`equals runc 1.1.5's spec${rootless ? ' --rootless' : ''} except ociVersion`, (t) => {
      const expected = runcSpec(t, rootless);
      if (expected === undefined) {
        t.skip('no runc, and the fixture does not fit this host (not root, or pure cgroup v2)');
        return;
      }
      const dir = tempDir(t);
      const r = runts(['spec', ...(rootless ? ['--rootless'] : [])], { cwd: dir });
      assert.deepEqual([r.status, r.stderr, r.stdout], [0, '', '']);
      const ours = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
      const oursDoc = JSON.parse(ours);
      const theirsDoc = JSON.parse(expected);
      assert.equal(oursDoc.ociVersion, SPEC_VERSION);
      assert.deepEqual({ ...oursDoc, ociVersion: 'x' }, { ...theirsDoc, ociVersion: 'x' });
      // Same text too: tab indent, runc's key order, no final newline.
      assert.equal(ours, expected.replace(/"ociVersion": "[^"]*"/, `"ociVersion": "${SPEC_VERSION}"`));
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- reading the umask is the point; no threads race it here
      assert.equal(fs.statSync(path.join(dir, 'config.json')).mode & 0o777, 0o666 & ~process.umask());
    });
  }

  test('a cgroup namespace on a pure cgroup v2 host only, last (before user when rootless), as runc', () => {
    const types = (o: { rootless: boolean; cgroup2Unified?: boolean }) =>
      defaultSpec(o).linux!.namespaces!.map((n) => n.type);
    assert.deepEqual(types({ rootless: false, cgroup2Unified: false }), [
      'pid',
      'network',
      'ipc',
      'uts',
      'mount',
    ]);
    assert.deepEqual(types({ rootless: false, cgroup2Unified: true }), [
      'pid',
      'network',
      'ipc',
      'uts',
      'mount',
      'cgroup',
    ]);
    assert.deepEqual(types({ rootless: true, cgroup2Unified: false }), [
      'pid',
      'ipc',
      'uts',
      'mount',
      'user',
    ]);
    assert.deepEqual(types({ rootless: true, cgroup2Unified: true }), [
      'pid',
      'ipc',
      'uts',
      'mount',
      'cgroup',
      'user',
    ]);
    // Detected: statfs of /sys/fs/cgroup (runc's cgroups.IsCgroup2UnifiedMode).
    const unified = fs.statfsSync('/sys/fs/cgroup').type === 0x63677270;
    assert.equal(isCgroup2Unified(), unified);
    assert.equal(types({ rootless: false }).includes('cgroup'), unified);
  });

  test('--bundle DIR writes there; refuses to overwrite config.json', (t) => {
    const dir = tempDir(t);
    const r = runts(['spec', '--bundle', dir]);
    assert.equal(r.status, 0, r.stderr);
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, 'mine');
    for (const args of [
      ['spec', '--bundle', dir],
      ['spec', '-b', dir, '--rootless'],
    ]) {
      const again = runts(args);
      assert.deepEqual(
        [again.status, again.stderr],
        [1, 'runts: File config.json exists. Remove it first\n'],
      );
    }
    assert.equal(runts(['spec'], { cwd: dir }).stderr, 'runts: File config.json exists. Remove it first\n');
    assert.equal(fs.readFileSync(file, 'utf8'), 'mine');
    const missing = path.join(dir, 'nope');
    assert.deepEqual(
      runts(['spec', '--bundle', missing]).stderr,
      `runts: chdir ${missing}: no such file or directory\n`,
    );
    if (hasRunc)
      assert.match(runc(['spec', '--bundle', dir]).stderr, /File config.json exists. Remove it first/);
  });
});

describe('features', () => {
  test('prints the features document with four-space indent', () => {
    const r = runts(['features']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, goJson(JSON.parse(r.stdout), '    ') + '\n');
    assert.match(r.stdout, /^\{\n {4}"ociVersionMin": "1\.0\.0",\n {4}"ociVersionMax": /);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ociVersionMax, SPEC_VERSION);
    assert.deepEqual(doc.hooks, [
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
    assert.deepEqual(doc.mountOptions, MOUNT_OPTIONS);
    assert.deepEqual(doc.linux.namespaces, [
      'cgroup',
      'ipc',
      'mount',
      'network',
      'pid',
      'time',
      'user',
      'uts',
    ]);
    // The systemd driver (root's systemd; not a user's instance: no rootless driver yet).
    assert.deepEqual(doc.linux.cgroup, { v1: true, v2: true, systemd: true, systemdUser: false });
    assert.equal(doc.linux.seccomp.enabled, true);
    assert.ok(doc.linux.seccomp.actions.includes('SCMP_ACT_ERRNO'));
    assert.ok(doc.linux.seccomp.operators.includes('SCMP_CMP_MASKED_EQ'));
    // As runc: "supported by runts", not "present on this host".
    for (const k of ['apparmor', 'selinux']) assert.deepEqual(doc.linux[k], { enabled: true }, k);
    assert.deepEqual(doc.linux.intelRdt, { enabled: false });
    // Idmapped bind mounts: the kernel has mount_setattr (5.12+) on every machine runts is tested on.
    assert.deepEqual(doc.linux.mountExtensions, { idmap: { enabled: true } });
    assert.deepEqual(Object.keys(doc.annotations), ['run.oci.runts.commit', 'run.oci.runts.version']);
    assert.deepEqual(doc, { ...featuresDocument(), annotations: doc.annotations });
  });

  test('capabilities are those the kernel knows', () => {
    const caps = JSON.parse(runts(['features']).stdout).linux.capabilities as string[];
    const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    assert.equal(caps.length, Math.min(last + 1, 41));
    assert.equal(caps[0], 'CAP_CHOWN');
    if (last >= 40) assert.equal(caps[40], 'CAP_CHECKPOINT_RESTORE');
    if (hasRunc) {
      // runc 1.1.5 lists the capabilities its library knows, filtered the same way.
      assert.deepEqual(caps, JSON.parse(runc(['features']).stdout).linux.capabilities);
    }
  });

  test('mount options are exactly those the init parses (drift guard)', async () => {
    const { KNOWN_MOUNT_OPTIONS } = await import('../../src/linux/mount-options.js');
    assert.deepEqual([...MOUNT_OPTIONS].sort(), [...KNOWN_MOUNT_OPTIONS].sort());
  });
});
