/**
 * Rootless runts (issue 16): an ordinary user runs containers, as with
 * runc's rootless mode, checked from inside real containers and against
 * Debian's runc on the same bundle, run by the same user.
 *
 * On this host (hybrid cgroups) a rootless container has no cgroup: limits
 * fail as runc's do. Run as root after `npm run build`: the suite creates a
 * user with /etc/subuid and /etc/subgid ranges and removes it after.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostMountsUnder, tempDir } from '../helpers.js';
import { makeBundle } from '../rootfs.js';
import { createTestUser, runAs, runtsFor, type AsUserResult, type TestUser } from '../rootless-user.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const RUNC = '/usr/sbin/runc';
const haveRunc = fs.existsSync(RUNC);
const haveHelpers = fs.existsSync('/usr/bin/newuidmap') && fs.existsSync('/usr/bin/newgidmap');

// Removed last, after the check of what the tests left (see the after-hook below).
const removeUser: Array<() => void> = [];
const removeDir: Array<() => void> = [];
const base = tempDir({ after: (fn) => removeDir.push(fn) });
const user: TestUser = createTestUser((fn) => removeUser.push(fn), 'runtsrl');
const runtsBin = runtsFor(user, base);
const xdg = path.join(base, 'xdg');
fs.mkdirSync(xdg, { mode: 0o700 });
fs.chownSync(xdg, user.uid, user.gid);
const env: Record<string, string> = { HOME: base, XDG_RUNTIME_DIR: xdg, USER: user.name };
let n = 0;

after(() => {
  try {
    // Whatever a failed test left: runts' and runc's containers of the user.
    for (const [bin, root] of [
      [runtsBin, path.join(xdg, 'runts')],
      [RUNC, path.join(xdg, 'runc')],
    ] as const) {
      const left = fs.existsSync(root) ? fs.readdirSync(root) : [];
      for (const id of left) runAs(user, [bin, 'delete', '--force', id], env);
      if (bin === runtsBin) assert.deepEqual(left, [], 'containers left behind');
    }
    assert.deepEqual(hostMountsUnder(base), [], 'mounts left behind');
    assert.deepEqual(userProcesses(), [], "the user's processes left behind");
  } finally {
    for (const f of [...removeUser, ...removeDir]) f();
  }
});

/** The user's processes (`ps` lines), after those that are exiting had time to go. */
function userProcesses(): string[] {
  let lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const ps = spawnSync('ps', ['-u', String(user.uid), '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
    lines = ps.stdout.split('\n').filter(Boolean);
    if (lines.length === 0) break;
    spawnSync('sleep', ['0.05']);
  }
  return lines;
}

/** A bundle owned by the user from `runts spec --rootless`, mapping the user's own ids, running `script`. */
function bundle(script: string, patch?: (c: Config) => void): string {
  const dir = path.join(base, `bundle-${++n}`);
  makeBundle(
    dir,
    (c: Config) => {
      c.process.terminal = false;
      c.process.args = ['sh', '-c', script];
      c.root.readonly = false;
      c.linux.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }];
      patch?.(c);
    },
    { rootless: true },
  );
  spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  return dir;
}

const runts = (args: string[], extraEnv: Record<string, string> = {}): AsUserResult =>
  runAs(user, [runtsBin, ...args], { ...env, ...extraEnv });
const runc = (args: string[]): AsUserResult => runAs(user, [RUNC, ...args], env);
const show = (r: AsUserResult) => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** A subuid mapping: root is the user, 1..65536 the user's /etc/subuid range. */
function multiRange(c: Config): void {
  c.linux.uidMappings = [
    { containerID: 0, hostID: user.uid, size: 1 },
    { containerID: 1, hostID: user.subStart, size: user.subCount },
  ];
  c.linux.gidMappings = [
    { containerID: 0, hostID: user.gid, size: 1 },
    { containerID: 1, hostID: user.subStart, size: user.subCount },
  ];
}

describe('rootless runts, run by an ordinary user', () => {
  test('`spec --rootless` by the user maps the user to root; the container sees that mapping and writes its rootfs', () => {
    const dir = path.join(base, `spec-${++n}`);
    fs.mkdirSync(dir);
    fs.chownSync(dir, user.uid, user.gid);
    const spec = runAs(user, [runtsBin, 'spec', '--rootless'], env, { cwd: dir });
    assert.equal(spec.status, 0, show(spec));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Config;
    assert.deepEqual(config.linux.uidMappings, [{ containerID: 0, hostID: user.uid, size: 1 }]);
    assert.deepEqual(config.linux.gidMappings, [{ containerID: 0, hostID: user.gid, size: 1 }]);
    assert.equal(config.linux.resources, undefined, 'no cgroup settings');

    const b = bundle(
      'id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; echo x > /written && echo wrote',
    );
    const r = runts(['run', '--bundle', b, `s${n}`]);
    assert.equal(r.status, 0, show(r));
    const lines = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    // No supplementary groups: setgroups(2) is denied in the namespace (as with runc).
    assert.equal(lines[0], 'uid=0(root) gid=0(root)');
    assert.equal(lines[1], `0 ${user.uid} 1`);
    assert.equal(lines[2], `0 ${user.gid} 1`);
    assert.equal(lines[3], 'deny');
    assert.equal(lines[4], 'wrote');
    const st = fs.statSync(path.join(b, 'rootfs', 'written'));
    assert.equal(st.uid, user.uid, "the container's root writes as the user");
  });

  test(
    'the same bundle behaves as under runc --rootless (ids, maps, capabilities, /dev, mount points)',
    { skip: !haveRunc && 'runc not installed' },
    () => {
      const script = [
        'id',
        'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups',
        'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status',
        'ls /dev | tr "\\n" " "; echo',
        'cut -d" " -f5 /proc/self/mountinfo | sort | tr "\\n" " "; echo',
        'touch /w && echo wrote',
      ].join('; ');
      const b = bundle(script);
      const ours = runts(['run', '--bundle', b, `cmp${n}`]);
      const theirs = runc(['run', '--bundle', b, `cmp${n}`]);
      assert.equal(theirs.status, 0, `runc: ${show(theirs)}`);
      assert.equal(ours.status, 0, show(ours));
      assert.equal(ours.stdout, theirs.stdout);
    },
  );

  test('state lives in $XDG_RUNTIME_DIR/runts, private to the user; the lifecycle works as the user', () => {
    const b = bundle('sleep 1000');
    const id = `life${n}`;
    const cr = runts(['create', '--bundle', b, id]);
    assert.equal(cr.status, 0, show(cr));
    try {
      const root = path.join(xdg, 'runts');
      const st = fs.statSync(root);
      assert.equal(st.uid, user.uid);
      assert.equal(st.mode & 0o7777, 0o1700, 'private, with the sticky bit XDG asks for (as runc)');
      assert.ok(fs.existsSync(path.join(root, id, 'state.json')));

      const list = runts(['list', '--format', 'json']);
      assert.equal(list.status, 0, show(list));
      const [entry] = JSON.parse(list.stdout) as Config[];
      assert.ok(entry);
      assert.equal(entry.id, id);
      assert.equal(entry.status, 'created');
      assert.equal(entry.owner, user.name);

      assert.equal(runts(['start', id]).status, 0);
      const state = JSON.parse(runts(['state', id]).stdout) as Config;
      assert.equal(state.status, 'running');

      const ex = runts([
        'exec',
        id,
        'sh',
        '-c',
        'id -u; cat /proc/1/cmdline | tr "\\0" " "; echo; readlink /proc/self/ns/pid',
      ]);
      assert.equal(ex.status, 0, show(ex));
      const [uid, cmdline, pidNs] = ex.stdout.split('\n');
      assert.equal(uid, '0');
      assert.equal(cmdline?.trim(), 'sleep 1000');
      assert.equal(
        pidNs,
        fs.readlinkSync(`/proc/${state.pid}/ns/pid`),
        "exec runs in the container's PID namespace",
      );

      const kill = runts(['kill', id, 'KILL']);
      assert.equal(kill.status, 0, show(kill));
      for (let i = 0; i < 100 && JSON.parse(runts(['state', id]).stdout).status !== 'stopped'; i++) {
        spawnSync('sleep', ['0.05']);
      }
      const del = runts(['delete', id]);
      assert.equal(del.status, 0, show(del));
      assert.deepEqual(fs.readdirSync(root), []);
    } finally {
      runts(['delete', '--force', id]);
    }
  });

  test('another user can neither see nor touch the containers', () => {
    const b = bundle('sleep 1000');
    const id = `priv${n}`;
    assert.equal(runts(['run', '-d', '--bundle', b, id]).status, 0);
    try {
      const other: TestUser = { name: 'nobody', uid: 65534, gid: 65534, subStart: 0, subCount: 0 };
      const root = path.join(xdg, 'runts');
      const asOther = (args: string[]) => runAs(other, [runtsBin, '--root', root, ...args], { HOME: '/' });
      for (const args of [
        ['list'],
        ['state', id],
        ['kill', id, 'KILL'],
        ['delete', '--force', id],
        ['exec', id, 'true'],
      ]) {
        const r = asOther(args);
        assert.notEqual(r.status, 0, `${args.join(' ')} by another user: ${show(r)}`);
      }
      const state = JSON.parse(runts(['state', id]).stdout) as Config;
      assert.equal(state.status, 'running', 'the container is untouched');
    } finally {
      runts(['delete', '--force', id]);
    }
  });

  test(
    '/etc/subuid ranges go through newuidmap/newgidmap: the uid_map has them and other ids work inside',
    { skip: !haveHelpers && 'newuidmap/newgidmap not installed (apt-get install uidmap)' },
    () => {
      const b = bundle('cat /proc/self/uid_map /proc/self/gid_map; sleep 1000', multiRange);
      const id = `multi${n}`;
      const r = runts(['run', '-d', '--bundle', b, id]);
      assert.equal(r.status, 0, show(r));
      try {
        const ex = runts([
          'exec',
          '--user',
          '1000:1000',
          id,
          'sh',
          '-c',
          'id; cat /proc/self/uid_map; touch /tmp/by-1000',
        ]);
        assert.equal(ex.status, 0, show(ex));
        const [ids, ...maps] = ex.stdout.trim().split('\n');
        assert.equal(ids, 'uid=1000 gid=1000');
        assert.deepEqual(
          maps.map((l) => l.trim().split(/\s+/).join(' ')),
          [`0 ${user.uid} 1`, `1 ${user.subStart} ${user.subCount}`],
        );
        const st = fs.statSync(path.join(b, 'rootfs', 'tmp', 'by-1000'));
        assert.equal(st.uid, user.subStart + 999, 'container uid 1000 is the host id of the subuid range');
      } finally {
        runts(['delete', '--force', id]);
      }
      if (haveRunc) {
        const b2 = bundle('id; cat /proc/self/uid_map /proc/self/gid_map', (c) => {
          multiRange(c);
          c.process.user = { uid: 1000, gid: 1000, additionalGids: [] };
        });
        const ours = runts(['run', '--bundle', b2, `m${n}`]);
        const theirs = runc(['run', '--bundle', b2, `m${n}`]);
        assert.equal(theirs.status, 0, `runc: ${show(theirs)}`);
        assert.equal(ours.stdout, theirs.stdout);
      }
    },
  );

  test('a mapping the user may not have is refused with a clear error and leaves nothing', () => {
    const b = bundle('true', (c) => {
      c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    });
    const r = runts(['run', '--bundle', b, `bad${n}`]);
    assert.notEqual(r.status, 0, show(r));
    assert.match(r.stderr, /newuidmap .* failed|uid_map/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(fs.readdirSync(path.join(xdg, 'runts')), []);
    assert.deepEqual(userProcesses(), [], 'no process left');
    if (haveRunc) assert.notEqual(runc(['run', '--bundle', b, `bad${n}`]).status, 0, 'runc refuses it too');
  });

  test("runc's rootless checks: a user namespace is required", () => {
    const b = bundle('true', (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: Config) => ns.type !== 'user');
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    });
    const r = runts(['run', '--bundle', b, `nouser${n}`]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /rootless container requires user namespaces/);
    assert.deepEqual(fs.readdirSync(path.join(xdg, 'runts')), []);
  });

  test('a limit without a cgroup the user may make fails as runc fails, and leaves no cgroup', () => {
    const b = bundle('true', (c) => {
      c.linux.resources = { memory: { limit: 64 << 20 } };
    });
    const id = `lim${n}`;
    const r = runts(['run', '--bundle', b, id]);
    assert.notEqual(r.status, 0, show(r));
    const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    assert.match(
      r.stderr,
      v2
        ? /rootless needs no limits \+ no cgrouppath/
        : /cannot set memory limit: container could not join or create cgroup/,
    );
    assert.equal(fs.existsSync(path.join(v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory', id)), false);
    assert.deepEqual(fs.readdirSync(path.join(xdg, 'runts')), []);
    if (haveRunc) assert.notEqual(runc(['run', '--bundle', b, id]).status, 0, 'runc fails too');
  });

  test('--rootless=false: cgroup permission errors are errors again', () => {
    const b = bundle('true');
    const r = runts(['--rootless', 'false', 'run', '--bundle', b, `strict${n}`]);
    assert.notEqual(r.status, 0, show(r));
    assert.match(r.stderr, /cgroup/);
    const bad = runts(['--rootless', 'maybe', 'list']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--rootless/);
  });

  test('pause warns that it needs the cgroups, and fails as runc does without them', () => {
    const b = bundle('sleep 1000');
    const id = `pause${n}`;
    assert.equal(runts(['run', '-d', '--bundle', b, id]).status, 0);
    try {
      const r = runts(['pause', id]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /may fail if you don't have the full access to cgroups/);
      assert.match(r.stderr, /cgroups not configured for container/);
    } finally {
      runts(['delete', '--force', id]);
    }
  });
});
