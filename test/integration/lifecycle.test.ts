/**
 * The container lifecycle on real namespaces: every assertion reads what a
 * process inside the container sees, or what the host sees of it.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { consoleReceiver, containerSuite, hostMountsUnder, runts, runtsAsync, RUNTS } from '../helpers.js';
import { makeBundle } from '../rootfs.js';
import { cgroupMounts } from '../../src/cgroups/mounts.js';
import { removePath } from '../../src/cgroups/fsutil.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const { base, root, bundle } = containerSuite(after);
let n = 0;

/**
 * `create` or `run -d`: the container inherits runts' stdio and outlives
 * it, so pipes would stay open; give it files instead.
 */
function runtsDetached(args: string[]) {
  const out = path.join(base, `out-${++n}`);
  const err = path.join(base, `err-${n}`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  try {
    const r = spawnSync(RUNTS, args, { stdio: ['ignore', fds[0], fds[1]], timeout: 30_000 });
    return { status: r.status, stdout: out, stderr: fs.readFileSync(err, 'utf8') };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

function run(dir: string, id = `c${n}`, extra: string[] = []) {
  return runts(['--root', root, 'run', ...extra, '--bundle', dir, id]);
}

/** A live process (a zombie waiting for its new parent to reap it is not). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** Live processes with an fd on a path under `dir` (the init holds its exec.fifo). */
function processesHolding(dir: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir + '/') && alive(Number(pid)))
          found.push(Number(pid));
      }
    } catch {}
  }
  return found;
}

describe('run', () => {
  test('prints the process output and exits 0', () => {
    const r = run(bundle('echo hello'));
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.status, 0);
  });

  test('exit codes propagate: 42, and 137 when the process is killed by SIGKILL', async () => {
    assert.equal(run(bundle('exit 42')).status, 42);
    // PID 1 ignores signals sent from inside its namespace: kill it from outside.
    const dir = bundle('sleep 60');
    const running = runtsAsync(['--root', root, 'run', '--bundle', dir, 'killed']);
    for (let i = 0; i < 200 && !/running/.test(runts(['--root', root, 'state', 'killed']).stdout); i++)
      spawnSync('sleep', ['0.05']);
    assert.equal(runts(['--root', root, 'kill', 'killed', 'KILL']).status, 0);
    const r = await running;
    assert.equal(r.status, 137);
    assert.equal(fs.existsSync(path.join(root, 'killed')), false, 'run deletes the container after it exits');
  });

  test('--preserve-fds and LISTEN_FDS pass fds 3.. to the process', () => {
    const dir = bundle('cat <&3; cat <&4; ls /proc/self/fd | sort -n | tr "\\n" " "');
    const a = path.join(base, 'fd-a');
    const b = path.join(base, 'fd-b');
    fs.writeFileSync(a, 'from-fd-3\n');
    fs.writeFileSync(b, 'from-fd-4\n');
    const fa = fs.openSync(a, 'r');
    const fb = fs.openSync(b, 'r');
    try {
      const r = spawnSync(RUNTS, ['--root', root, 'run', '--preserve-fds', '1', '--bundle', dir, 'fds'], {
        stdio: ['ignore', 'pipe', 'pipe', fa, fb],
        env: { ...process.env, LISTEN_FDS: '1' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const [l1, l2, fdList] = r.stdout.split('\n');
      assert.equal(l1, 'from-fd-3');
      assert.equal(l2, 'from-fd-4');
      // stdio, the two passed fds, and the fd ls itself opens: nothing else leaks in.
      assert.ok(fdList, r.stdout);
      assert.deepEqual(fdList.trim().split(' ').map(Number), [0, 1, 2, 3, 4, 5]);
    } finally {
      fs.closeSync(fa);
      fs.closeSync(fb);
    }
  });

  test('--no-pivot runs the container with MS_MOVE + chroot', () => {
    const r = runts([
      '--root',
      root,
      'run',
      '--no-pivot',
      '--bundle',
      bundle('cat /proc/self/mountinfo | head -1; echo ok'),
      'nopivot',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok\n$/);
  });

  test("a missing program fails create with runc's message", () => {
    const r = run(bundle('true', (c) => (c.process.args = ['no-such-program'])));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /exec: "no-such-program": executable file not found in \$PATH/);
  });

  test('a failure inside the init is reported with its syscall and leaves nothing', () => {
    const dir = bundle('true', (c) =>
      c.mounts.push({ destination: '/broken', type: 'nosuchfs', source: 'none' }),
    );
    const r = runtsDetached(['--root', root, 'create', '--bundle', dir, 'initfail']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'runts: mount none to /broken: ENODEV\n');
    assert.equal(fs.existsSync(path.join(root, 'initfail')), false);
    assert.deepEqual(hostMountsUnder(dir), []);
    // The default cgroup is <runts' own cgroup>/<id> in each hierarchy.
    for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
      const [, controllers, own = assert.fail(`short cgroup line: ${line}`)] = line.split(':');
      if (!controllers || controllers.startsWith('name=')) continue;
      const dir = path.join('/sys/fs/cgroup', controllers, own, 'initfail');
      assert.equal(fs.existsSync(dir), false, `${dir} left behind`);
    }
  });

  test('an invalid config is refused before anything is made', () => {
    const dir = bundle('true', (c) => (c.mounts[0].destination = 'relative'));
    const r = run(dir, 'invalid');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /mounts\[0\]\.destination/);
    assert.equal(fs.existsSync(path.join(root, 'invalid')), false);
  });
});

describe('inside the container', () => {
  test('pid 1, hostname, rootfs as / and no host mount', () => {
    const r = run(bundle('echo $$; hostname; cat /proc/self/mountinfo', (c) => (c.hostname = 'inside')));
    assert.equal(r.status, 0, r.stderr);
    const [pid, host, ...mounts] = r.stdout.trim().split('\n');
    assert.equal(pid, '1');
    assert.equal(host, 'inside');
    const rootLine = mounts.find((l) => l.split(' ')[4] === '/');
    assert.ok(rootLine, 'a mount at /');
    assert.match(rootLine, /\/rootfs \/ /, 'the bundle rootfs is /');
    for (const l of mounts) {
      const mp = l.split(' ')[4] ?? assert.fail(`short mountinfo line: ${l}`);
      assert.ok(!mp.startsWith('/work') && !mp.startsWith('/tmp/runts-test'), `host mount visible: ${l}`);
    }
  });

  test('user, groups, umask, cwd, env', () => {
    const r = run(
      bundle('id -u; id -g; id -G; umask; pwd; echo $FOO', (c) => {
        c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
        c.process.cwd = '/tmp';
        c.process.env.push('FOO=bar baz');
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['1000', '1001', '1001 10 20', '0027', '/tmp', 'bar baz']);
  });

  test("rlimits are the config's", () => {
    const r = run(
      bundle('grep -E "open files|processes" /proc/self/limits', (c) => {
        c.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
          { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
        ];
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Max open files\s+512\s+1000\s+files/);
    assert.match(r.stdout, /Max processes\s+300\s+400\s+processes/);
  });

  test('rlimits too low for Node: RLIMIT_NOFILE 8, RLIMIT_AS 100 MB, RLIMIT_DATA 32 MB as under runc (set last, before exec)', () => {
    const r = run(
      bundle('ulimit -n; ulimit -v; ulimit -d; ls /proc/self/fd | wc -l; id -u', (c) => {
        c.process.user = { uid: 1000, gid: 1000 };
        c.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 8, hard: 8 },
          { type: 'RLIMIT_AS', soft: 100 << 20, hard: 100 << 20 },
          { type: 'RLIMIT_DATA', soft: 32 << 20, hard: 32 << 20 },
        ];
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    // runc on the same bundle: 8, the limits in KiB, four fds (0-2 and ls's own), uid 1000.
    assert.deepEqual(r.stdout.trim().split('\n'), ['8', '102400', '32768', '4', '1000']);
  });

  test('signals: nothing ignored or blocked (Node ignores SIGPIPE and SIGXFSZ), `yes | head` kills yes with SIGPIPE', () => {
    // yes's status through fd 3: the shell's $? is that of head.
    const r = run(
      bundle('grep -E "^Sig(Ign|Blk)" /proc/self/status; { (yes; echo "yes=$?" >&3) | head -c1; } 3>&1'),
    );
    assert.equal(r.status, 0, r.stderr);
    // runc 1.1.5 on the same bundle: SigBlk 0, SigIgn 0, yes=141 and no message.
    assert.equal(r.stdout, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nyyes=141\n');
    assert.equal(r.stderr, '');
  });

  test('a uid that setresuid would take as "unchanged" (4294967295) never runs the process as root', () => {
    for (const user of [
      { uid: 4294967295, gid: 0 },
      { uid: 0, gid: 4294967295 },
      { uid: 0, gid: 0, additionalGids: [4294967295] },
    ]) {
      const r = run(bundle('id; echo RAN', (c) => (c.process.user = user)));
      assert.notEqual(r.status, 0, JSON.stringify(user));
      assert.doesNotMatch(r.stdout, /RAN/);
      // One line: the validation's range check (as runc's) or the init's check of its ids.
      assert.match(r.stderr, /^runts( init)?: .*(uid|gid|identity|range|groups)/m, r.stderr);
    }
  });

  test("the five capability sets are exactly the config's, and the same as runc's", () => {
    const caps = {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
      effective: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
      permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN'],
      inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      ambient: ['CAP_KILL'],
    };
    const hex = (bits: number[]) =>
      bits
        .reduce((m, b) => m | (1n << BigInt(b)), 0n)
        .toString(16)
        .padStart(16, '0');
    const read = (stdout: string) =>
      Object.fromEntries(
        stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/:\s+/)),
      );
    const dir = bundle('grep -E "^(Cap|NoNewPrivs)" /proc/self/status', (c) => {
      c.process.capabilities = caps;
      c.process.noNewPrivileges = true;
    });
    const r = run(dir, 'caps');
    assert.equal(r.status, 0, r.stderr);
    const got = read(r.stdout);
    // CHOWN=0, KILL=5, NET_BIND_SERVICE=10, SYS_ADMIN=21
    assert.equal(got.CapBnd, hex([0, 5, 10, 21]));
    assert.equal(got.CapEff, hex([0, 5, 10, 21]));
    assert.equal(got.CapPrm, hex([0, 5, 10, 21]));
    assert.equal(got.CapInh, hex([5, 10]));
    assert.equal(got.CapAmb, hex([5]));
    assert.equal(got.NoNewPrivs, '1');
    // A non-root user keeps only what ambient gives across execve (the kernel's rule).
    const user = run(
      bundle(
        'grep -E "^Cap" /proc/self/status; chown 0 /tmp 2>/dev/null && echo CHOWNED || echo DENIED',
        (c) => {
          c.process.capabilities = caps;
          c.process.user = { uid: 1000, gid: 1000 };
        },
      ),
      'caps-user',
    );
    assert.equal(user.status, 0, user.stderr);
    assert.equal(read(user.stdout.split('\n').slice(0, 5).join('\n')).CapEff, hex([5]));
    assert.match(user.stdout, /DENIED/);
    const runc = '/usr/sbin/runc';
    if (fs.existsSync(runc)) {
      const rr = spawnSync(
        runc,
        ['--root', path.join(base, 'runc-root'), 'run', '--bundle', dir, 'caps-runc'],
        { encoding: 'utf8' },
      );
      assert.equal(rr.status, 0, rr.stderr);
      assert.deepEqual(got, read(rr.stdout));
    }
  });

  test('masked paths read empty, read-only paths refuse writes', () => {
    const r = run(
      bundle(
        'wc -c < /proc/timer_list; ls /proc/acpi | wc -l; echo x > /proc/sys/kernel/hostname && echo WROTE || echo REFUSED',
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0', '0', 'REFUSED']);
  });

  test('read-only root', () => {
    const r = run(
      bundle('touch /x 2>/dev/null && echo WROTE || echo REFUSED', (c) => (c.root.readonly = true)),
    );
    assert.equal(r.stdout.trim(), 'REFUSED');
  });
});

describe('namespaces', () => {
  test('user namespace: root inside, 100000 on the host', () => {
    const dir = bundle('id -u; cat /proc/self/uid_map; sleep 30', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const id = 'userns';
    const r = runtsDetached(['--root', root, 'run', '-d', '--bundle', dir, id]);
    const out = r.stdout;
    try {
      assert.equal(r.status, 0, r.stderr);
      const state = JSON.parse(runts(['--root', root, 'state', id]).stdout);
      const status = fs.readFileSync(`/proc/${state.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+100000\s+100000\s+100000\s+100000$/m);
      for (let i = 0; i < 100 && fs.readFileSync(out, 'utf8').split('\n').length < 3; i++)
        spawnSync('sleep', ['0.05']);
      const [uid, map = ''] = fs.readFileSync(out, 'utf8').split('\n');
      assert.equal(uid, '0');
      assert.match(map, /^\s*0\s+100000\s+65536$/);
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });

  test('joining a user namespace by path: the new namespaces belong to it', () => {
    const mapped = (c: Config) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    };
    assert.equal(
      runtsDetached(['--root', root, 'create', '--bundle', bundle('sleep 30', mapped), 'usera']).status,
      0,
    );
    try {
      const pidA = JSON.parse(runts(['--root', root, 'state', 'usera']).stdout).pid;
      const want = fs.readlinkSync(`/proc/${pidA}/ns/user`);
      const r = run(
        bundle('readlink /proc/self/ns/user; echo $$; id -u; grep -c . /proc/self/mountinfo', (c) => {
          c.linux.namespaces.push({ type: 'user', path: `/proc/${pidA}/ns/user` });
        }),
      );
      assert.equal(r.status, 0, r.stderr);
      const [userNs, pid, uid] = r.stdout.trim().split('\n');
      assert.equal(userNs, want);
      assert.equal(pid, '1', 'a new PID namespace');
      assert.equal(uid, '0', 'root of the joined user namespace');
      const wrong = run(
        bundle('true', (c) => c.linux.namespaces.push({ type: 'user', path: `/proc/${pidA}/ns/net` })),
        'wrongtype',
      );
      assert.equal(wrong.status, 1);
      assert.match(wrong.stderr, /is not a user namespace/);
    } finally {
      runts(['--root', root, 'delete', '--force', 'usera']);
    }
  });

  test('a new time namespace with offsets', () => {
    const r = run(
      bundle('cut -d. -f1 /proc/uptime', (c) => {
        c.linux.namespaces.push({ type: 'time' });
        c.linux.timeOffsets = { boottime: { secs: 864000, nanosecs: 0 }, monotonic: { secs: 864000 } };
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split('.')[0]);
    assert.ok(Number(r.stdout.trim()) >= 864000 + hostUptime - 5, `uptime inside: ${r.stdout}`);
  });

  test('a user-namespaced init runs when runts lives below a directory it cannot enter', () => {
    // e.g. a clone under /root (0700): the init (host uid 100000) reads its
    // code through an fd on runts' package directory, not by path.
    const hidden = path.join(base, 'private');
    const pkg = path.join(hidden, 'runts');
    fs.mkdirSync(pkg, { recursive: true });
    fs.chmodSync(hidden, 0o700);
    fs.cpSync(path.join(path.dirname(RUNTS)), path.join(pkg, 'dist'), { recursive: true });
    fs.symlinkSync(path.join(path.dirname(RUNTS), '..', 'node_modules'), path.join(pkg, 'node_modules'));
    const dir = bundle('id -u; cat /proc/self/uid_map', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const r = spawnSync(
      path.join(pkg, 'dist', 'runts'),
      ['--root', root, 'run', '--bundle', dir, 'hidden-runts'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^0\n\s*0\s+100000\s+65536\n$/);
  });

  test('joining a network namespace by path', () => {
    const a = bundle('sleep 30');
    assert.equal(runtsDetached(['--root', root, 'create', '--bundle', a, 'neta']).status, 0);
    try {
      const pidA = JSON.parse(runts(['--root', root, 'state', 'neta']).stdout).pid;
      const want = fs.readlinkSync(`/proc/${pidA}/ns/net`);
      assert.notEqual(want, fs.readlinkSync('/proc/self/ns/net'));
      const r = run(
        bundle('readlink /proc/self/ns/net', (c) => {
          c.linux.namespaces = c.linux.namespaces.map((ns: { type: string }) =>
            ns.type === 'network' ? { type: 'network', path: `/proc/${pidA}/ns/net` } : ns,
          );
        }),
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), want);
    } finally {
      runts(['--root', root, 'delete', '--force', 'neta']);
    }
  });
});

describe('create, start, state, kill, delete', () => {
  test('delete of a container that does not exist: --force exits 0 silently, plain delete fails (as runc 1.1)', () => {
    const runc = '/usr/sbin/runc';
    const cases: Array<[string[], number, string]> = [
      [['delete', '--force', 'nosuch'], 0, ''],
      [['delete', '-f', 'nosuch'], 0, ''],
      [['delete', 'nosuch'], 1, 'container does not exist'],
    ];
    for (const [args, status, msg] of cases) {
      const r = runts(['--root', root, ...args]);
      assert.deepEqual(
        [r.status, r.stdout, r.stderr],
        [status, '', msg ? `runts: ${msg}\n` : ''],
        args.join(' '),
      );
      if (fs.existsSync(runc)) {
        const rr = spawnSync(runc, ['--root', path.join(base, 'runc-root'), ...args], { encoding: 'utf8' });
        assert.equal(rr.status, status, `runc ${args.join(' ')}: ${rr.stderr}`);
        if (msg) assert.ok(rr.stderr.includes(msg), `runc ${args.join(' ')}: ${rr.stderr}`);
        else assert.equal(rr.stderr, '', `runc ${args.join(' ')}`);
      }
    }
    // An invalid ID is still an error with --force (as runc).
    assert.equal(runts(['--root', root, 'delete', '--force', '../x']).status, 1);
  });

  test('the full cycle, with pid file, leaves nothing', () => {
    const dir = bundle('sleep 60');
    const id = 'cycle';
    const pidFile = path.join(dir, 'pid');
    const c = runtsDetached(['--root', root, 'create', '--bundle', dir, '--pid-file', pidFile, id]);
    assert.equal(c.status, 0, c.stderr);
    let st = JSON.parse(runts(['--root', root, 'state', id]).stdout);
    assert.equal(st.status, 'created');
    assert.equal(fs.readFileSync(pidFile, 'utf8'), String(st.pid));
    const pid = st.pid;
    assert.equal(runts(['--root', root, 'start', id]).status, 0);
    st = JSON.parse(runts(['--root', root, 'state', id]).stdout);
    assert.equal(st.status, 'running');
    const again = runts(['--root', root, 'start', id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /cannot start an already running container/);
    const del = runts(['--root', root, 'delete', id]);
    assert.equal(del.status, 1);
    assert.match(del.stderr, /not stopped: running/);
    assert.equal(runts(['--root', root, 'kill', id, 'KILL']).status, 0);
    for (
      let i = 0;
      i < 100 && JSON.parse(runts(['--root', root, 'state', id]).stdout).status !== 'stopped';
      i++
    )
      spawnSync('sleep', ['0.05']);
    st = JSON.parse(runts(['--root', root, 'state', id]).stdout);
    assert.equal(st.status, 'stopped');
    assert.equal(st.pid, 0);
    const k = runts(['--root', root, 'kill', id]);
    assert.match(k.stderr, /container not running/);
    assert.equal(runts(['--root', root, 'delete', id]).status, 0);
    assert.equal(fs.existsSync(path.join(root, id)), false);
    assert.equal(alive(pid), false);
    assert.deepEqual(hostMountsUnder(dir), []);
    assert.match(runts(['--root', root, 'state', id]).stderr, /container does not exist/);
  });

  test('delete of a created container kills its init', () => {
    const dir = bundle('true');
    assert.equal(runtsDetached(['--root', root, 'create', '--bundle', dir, 'created-del']).status, 0);
    const pid = JSON.parse(runts(['--root', root, 'state', 'created-del']).stdout).pid;
    assert.equal(runts(['--root', root, 'delete', 'created-del']).status, 0);
    assert.equal(alive(pid), false);
  });

  test('start returns once the init is released, and at once when the init dies while start waits', async () => {
    // The startContainer hook runs in the init after start opened exec.fifo: it holds start there.
    const slow = bundle(
      'sleep 30',
      (c) => (c.hooks = { startContainer: [{ path: '/bin/sleep', args: ['sleep', '0.5'] }] }),
    );
    assert.equal(runtsDetached(['--root', root, 'create', '--bundle', slow, 'slowstart']).status, 0);
    const t0 = Date.now();
    const ok = runts(['--root', root, 'start', 'slowstart']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(Date.now() - t0 >= 500, 'start waited for the init');
    assert.equal(JSON.parse(runts(['--root', root, 'state', 'slowstart']).stdout).status, 'running');
    runts(['--root', root, 'delete', '--force', 'slowstart']);

    const dying = bundle(
      'sleep 30',
      (c) => (c.hooks = { startContainer: [{ path: '/bin/sleep', args: ['sleep', '20'] }] }),
    );
    assert.equal(runtsDetached(['--root', root, 'create', '--bundle', dying, 'diestart']).status, 0);
    const pid = JSON.parse(runts(['--root', root, 'state', 'diestart']).stdout).pid;
    const started = runtsAsync(['--root', root, 'start', 'diestart'], { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const r = await started;
    assert.deepEqual([r.status, r.stderr], [1, 'runts: cannot start a container that has stopped\n']);
    assert.ok(Date.now() - killedAt < 5000, `start ended ${Date.now() - killedAt} ms after the init died`);
    runts(['--root', root, 'delete', '--force', 'diestart']);
  });
});

describe('--debug', () => {
  test('writes one debug line per step, to --log in its format or to stderr; nothing without --debug; no environment', () => {
    const dir = bundle('echo ran', (c) => {
      c.process.env.push('RUNTS_SECRET=hunter2');
      c.hooks = { poststart: [{ path: '/bin/true' }, { path: '/bin/false' }] };
    });
    const log = path.join(base, 'debug.json');
    const r = runts([
      '--root',
      root,
      '--debug',
      '--log',
      log,
      '--log-format',
      'json',
      'run',
      '--bundle',
      dir,
      'dbg',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const lines = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      lines.every((l) => typeof l.msg === 'string' && l.time),
      'JSON lines with level, msg, time',
    );
    assert.deepEqual(
      lines.filter((l) => l.level !== 'debug').map((l) => [l.level, l.msg]),
      [['warning', 'poststart hook /bin/false: exit status 1, stdout: , stderr: ']],
      "warnings go to the log too, as runc's",
    );
    assert.equal(r.stderr, '', 'with --log, nothing on stderr');
    const msgs = lines.map((l) => l.msg).join('\n');
    for (const step of [
      /loaded and validated .*config\.json/,
      /init started: pid \d+/,
      /init: ready/,
      /exec\.fifo read/,
      /running poststart hook \/bin\/true/,
      /container process \d+ ended: exit status 0/,
    ]) {
      assert.match(msgs, step);
    }
    assert.doesNotMatch(fs.readFileSync(log, 'utf8'), /hunter2/, 'no environment in the log');

    const text = runts(['--root', root, '--debug', 'run', '--bundle', dir, 'dbg2']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stderr, /^runts: debug: run: container "dbg2"/m);
    assert.match(text.stderr, /^runts: debug: init started: pid \d+/m);

    const quiet = path.join(base, 'quiet.log');
    assert.equal(runts(['--root', root, '--log', quiet, 'run', '--bundle', dir, 'dbg3']).status, 0);
    assert.doesNotMatch(fs.readFileSync(quiet, 'utf8'), /level=debug/, 'no debug lines without --debug');
    assert.match(
      fs.readFileSync(quiet, 'utf8'),
      /level=warning msg="poststart hook \/bin\/false/,
      'the warning, in text format',
    );
  });
});

describe('hooks', () => {
  test('each hook kind runs at its moment with the state on stdin', () => {
    const dir = path.join(base, 'hooks');
    const logDir = path.join(base, 'hooklog');
    fs.mkdirSync(logDir);
    const log = path.join(logDir, 'log');
    // startContainer runs after pivot_root: it reaches the log through a bind mount.
    const hook = (kind: string) => ({
      path: '/bin/sh',
      args: [
        'sh',
        '-c',
        `read s; L=${log}; [ -d /hooklog ] && L=/hooklog/log; echo "${kind} $(readlink /proc/self/ns/mnt) $s" >> $L`,
      ],
    });
    makeBundle(dir, (c: Config) => {
      c.process.terminal = false;
      c.process.args = ['sleep', '30'];
      c.mounts.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] });
      c.hooks = Object.fromEntries(
        ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map(
          (k) => [k, [hook(k)]],
        ),
      );
    });
    const kinds = () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.split(' ')[0])
        : [];
    assert.equal(runtsDetached(['--root', root, 'create', '--bundle', dir, 'hooked']).status, 0);
    assert.deepEqual(kinds(), ['prestart', 'createRuntime', 'createContainer']);
    assert.equal(runts(['--root', root, 'start', 'hooked']).status, 0);
    assert.deepEqual(kinds(), [
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
    ]);
    assert.equal(runts(['--root', root, 'delete', '--force', 'hooked']).status, 0);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(' ')[0]),
      ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    );
    const hostMnt = fs.readlinkSync('/proc/self/ns/mnt');
    const byKind = Object.fromEntries(
      lines.map((l) => {
        const [k, mnt, ...s] = l.split(' ');
        return [k, { mnt, state: JSON.parse(s.join(' ')) }];
      }),
    );
    assert.equal(byKind.createRuntime.mnt, hostMnt, 'createRuntime runs in the runtime namespace');
    assert.notEqual(byKind.createContainer.mnt, hostMnt, 'createContainer runs in the container namespace');
    assert.notEqual(byKind.startContainer.mnt, hostMnt, 'startContainer runs in the container namespace');
    assert.equal(byKind.poststart.mnt, hostMnt);
    assert.equal(byKind.createRuntime.state.status, 'creating');
    assert.equal(byKind.poststart.state.status, 'running');
    assert.equal(byKind.poststop.state.status, 'stopped');
    assert.equal(byKind.prestart.state.id, 'hooked');
    assert.ok(byKind.prestart.state.pid > 0);
  });

  test("a hook without env runs with the runtime's environment (or, in the init, the process's), from where runc runs it", () => {
    const dir = path.join(base, 'hooks-env');
    const logDir = path.join(base, 'hooks-env-log');
    fs.mkdirSync(logDir);
    const hook = (kind: string, env?: string[]) => ({
      path: '/bin/sh',
      args: [
        'sh',
        '-c',
        `L=${logDir}; [ -d /hooklog ] && L=/hooklog; { env; echo "cwd=$(pwd -P)"; } > $L/${kind}`,
      ],
      ...(env ? { env } : {}),
    });
    makeBundle(dir, (c: Config) => {
      c.process.terminal = false;
      c.process.args = ['true'];
      c.process.cwd = '/etc';
      c.mounts.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] });
      c.hooks = {
        ...Object.fromEntries(
          ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map(
            (k) => [k, [hook(k)]],
          ),
        ),
      };
      c.hooks.prestart.push(hook('prestart-with-env', ['ONLY=this']));
    });
    const r = runts(['--root', root, 'run', '--bundle', dir, 'hooks-env'], {
      env: { ...process.env, RUNTS_HOOK_PROBE: 'from-runts' },
    });
    assert.equal(r.status, 0, r.stderr);
    const seen = (kind: string) => {
      const lines = fs.readFileSync(path.join(logDir, kind), 'utf8').trim().split('\n');
      const env = Object.fromEntries(
        lines
          .filter((l) => l.includes('=') && !l.startsWith('cwd='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      return { env, cwd: lines.find((l) => l.startsWith('cwd='))!.slice(4) };
    };
    const bundleDir = fs.realpathSync(dir);
    for (const kind of ['prestart', 'createRuntime', 'poststart', 'poststop']) {
      const h = seen(kind);
      assert.equal(h.env.RUNTS_HOOK_PROBE, 'from-runts', `${kind} inherits runts' environment`);
      assert.equal(h.cwd, bundleDir, `${kind} runs from the bundle`);
    }
    const withEnv = seen('prestart-with-env');
    assert.equal(withEnv.env.ONLY, 'this');
    assert.equal(withEnv.env.RUNTS_HOOK_PROBE, undefined, 'a hook with env gets that env only');
    const cc = seen('createContainer');
    assert.equal(cc.env.TERM, 'xterm', "createContainer: the container process's environment");
    assert.equal(cc.env.RUNTS_HOOK_PROBE, undefined);
    assert.equal(cc.cwd, path.join(bundleDir, 'rootfs'));
    const sc = seen('startContainer');
    assert.equal(sc.env.TERM, 'xterm');
    assert.equal(sc.env.HOME, '/root', 'startContainer: HOME filled in, as for the process');
    assert.equal(sc.env.RUNTS_HOOK_PROBE, undefined);
    assert.equal(sc.cwd, '/etc', "startContainer: the process's cwd");
  });

  test('a failing poststart or poststop hook warns, and the remaining hooks of its list still run', () => {
    const marks = path.join(base, 'after-fail');
    fs.mkdirSync(marks);
    const mark = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `touch ${marks}/${name}`] });
    const dir = bundle('sleep 30', (c) => {
      c.hooks = {
        poststart: [{ path: '/bin/false' }, mark('poststart')],
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }, mark('poststop')],
      };
    });
    assert.equal(runtsDetached(['--root', root, 'create', '--bundle', dir, 'postfail']).status, 0);
    const start = runts(['--root', root, 'start', 'postfail']);
    assert.equal(start.status, 0, 'the container keeps running');
    assert.match(start.stderr, /poststart hook \/bin\/false: exit status 1/);
    assert.ok(fs.existsSync(path.join(marks, 'poststart')), 'the next poststart hook ran');
    assert.equal(JSON.parse(runts(['--root', root, 'state', 'postfail']).stdout).status, 'running');
    const del = runts(['--root', root, 'delete', '--force', 'postfail']);
    assert.equal(del.status, 0);
    assert.match(del.stderr, /poststop hook \/bin\/sh: exit status 3/);
    assert.ok(fs.existsSync(path.join(marks, 'poststop')), 'the next poststop hook ran');
  });

  test('a failing prestart hook aborts create and leaves nothing', () => {
    const dir = bundle('true', (c) => (c.hooks = { prestart: [{ path: '/bin/false' }] }));
    const r = runtsDetached(['--root', root, 'create', '--bundle', dir, 'badhook']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /prestart hook \/bin\/false: exit status 1/);
    assert.equal(fs.existsSync(path.join(root, 'badhook')), false);
    assert.deepEqual(hostMountsUnder(dir), []);
    assert.deepEqual(processesHolding(path.join(root, 'badhook')), [], 'the init is gone');
  });
});

describe('terminal', () => {
  test("a non-root process owns its pty slave (run and exec --tty --user), as runc: uid 1000, devpts' tty group, 620", async () => {
    const dir = bundle('true', (c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ['sh', '-c', 'stat -L -c "owner=%u:%g:%a" /proc/self/fd/0; sleep 30'];
    });
    const sock = path.join(base, 'owner.sock');
    const receiver = await consoleReceiver(sock);
    const r = runtsDetached([
      '--root',
      root,
      'run',
      '-d',
      '--console-socket',
      sock,
      '--bundle',
      dir,
      'ttyowner',
    ]);
    assert.equal(r.status, 0, r.stderr);
    try {
      // Measured with runc 1.1.5 on the same bundle: owner=1000:5:620.
      const execSock = path.join(base, 'owner-exec.sock');
      const execReceiver = await consoleReceiver(execSock);
      const e = runtsDetached([
        '--root',
        root,
        'exec',
        '-d',
        '-t',
        '--user',
        '1000:1000',
        '--console-socket',
        execSock,
        'ttyowner',
        'stat',
        '-L',
        '-c',
        'exec-owner=%u:%g:%a',
        '/proc/self/fd/0',
      ]);
      assert.equal(e.status, 0, e.stderr);
      assert.match(await execReceiver.output, /exec-owner=1000:5:620/);
    } finally {
      runts(['--root', root, 'delete', '--force', 'ttyowner']);
    }
    assert.match(await receiver.output, /owner=1000:5:620/);
  });

  test('--console-socket receives the pty master and reads the output through it', async () => {
    const dir = bundle('true', (c) => {
      c.process.terminal = true;
      c.process.args = ['sh', '-c', 'tty; echo through-the-pty'];
    });
    const sock = path.join(base, 'console.sock');
    const receiver = await consoleReceiver(sock);
    const r = runtsDetached(['--root', root, 'run', '-d', '--console-socket', sock, '--bundle', dir, 'tty']);
    assert.equal(r.status, 0, r.stderr);
    const out = await receiver.output;
    runts(['--root', root, 'delete', '--force', 'tty']);
    assert.match(out, /\/dev\/pts\/\d+/);
    assert.match(out, /through-the-pty/);
  });
});

describe('a killed runts ends everything it started', () => {
  /** Live processes that are a copy of runts naming `id`, or hold an fd on `dir` or below it. */
  function survivors(id: string, dir: string): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        let holds = cmdline.includes(id) && cmdline.some((a) => a === 'create' || a === 'exec');
        for (const fd of holds ? [] : fs.readdirSync(`/proc/${pid}/fd`)) {
          const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
          if (target === dir || target.startsWith(dir + '/')) holds = true;
        }
        if (holds && alive(Number(pid))) found.push(`${pid} ${cmdline.join(' ')}`);
      } catch {}
    }
    return found;
  }

  function waitFor(what: () => string[], ms: number): string[] {
    let left = what();
    for (const end = Date.now() + ms; left.length && Date.now() < end; left = what())
      spawnSync('sleep', ['0.05']);
    return left;
  }

  function lockFree(dir: string): boolean {
    // flock(1) on the container's directory, without waiting.
    return !fs.existsSync(dir) || spawnSync('flock', ['-n', '-E', '99', dir, 'true']).status === 0;
  }

  const PARENT = `/runts-test-kill-${process.pid}`;
  after(() => {
    for (const m of cgroupMounts()) {
      const dir = path.join(m.mountpoint, PARENT);
      for (let i = 0; i < 50 && fs.existsSync(dir) && !removePath(dir); i++) spawnSync('sleep', ['0.1']);
    }
  });

  test('create SIGKILLed at each phase and at many times: no process of it survives, nothing holds the lock, delete -f returns at once', async () => {
    const userA = runtsDetached([
      '--root',
      root,
      'create',
      '--bundle',
      bundle('sleep 60', (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }),
      'kill-usera',
    ]);
    assert.equal(userA.status, 0, userA.stderr);
    try {
      const userNs = `/proc/${JSON.parse(runts(['--root', root, 'state', 'kill-usera']).stdout).pid}/ns/user`;
      const kinds: Array<[string, (c: Config) => void]> = [
        ['plain', () => {}],
        // Joins a user namespace and makes new ones: the nested chain (a middle process).
        ['nested', (c) => c.linux.namespaces.push({ type: 'user', path: userNs })],
      ];
      const points: Array<{ fault?: string; delay?: number }> = [
        ...['clone', 'sync', 'booted', 'create:ready'].map((fault) => ({ fault })),
        ...[0, 15, 30, 50, 75, 100, 130, 170, 220, 300].map((delay) => ({ delay })),
      ];
      let k = 0;
      for (const [kind, patch] of kinds) {
        for (const point of points) {
          const id = `kill-${process.pid}-${++k}`;
          const dir = bundle('sleep 60', (c) => {
            c.linux.cgroupsPath = `${PARENT}/${id}`;
            patch(c);
          });
          const what = `${kind} ${point.fault ?? `${point.delay} ms`}`;
          const child = spawn(RUNTS, ['--root', root, 'create', '--bundle', dir, id], {
            stdio: 'ignore',
            env: point.fault ? { ...process.env, RUNTS_TEST_KILL_AT: point.fault } : process.env,
          });
          const timer =
            point.delay !== undefined ? setTimeout(() => child.kill('SIGKILL'), point.delay) : undefined;
          await new Promise((r) => child.on('close', r));
          clearTimeout(timer);
          const stateDir = path.join(root, id);
          if (!fs.existsSync(path.join(stateDir, 'state.json'))) {
            // Not on record: nothing of it may live on (the chain, its middle process, the init).
            assert.deepEqual(
              waitFor(() => survivors(id, stateDir), 3000),
              [],
              what,
            );
            assert.ok(lockFree(stateDir), `${what}: the lock is free`);
          }
          const t0 = Date.now();
          const del = runts(['--root', root, 'delete', '--force', id], { timeout: 15_000 });
          assert.equal(del.signal, null, `${what}: delete -f returned`);
          assert.ok(Date.now() - t0 < 10_000, `${what}: delete -f took ${Date.now() - t0} ms`);
          assert.deepEqual(
            waitFor(() => survivors(id, stateDir), 3000),
            [],
            what,
          );
          // What a half-made container leaves to delete -f is another test's subject.
          fs.rmSync(stateDir, { recursive: true, force: true });
        }
      }
    } finally {
      runts(['--root', root, 'delete', '--force', 'kill-usera']);
    }
  });

  test('runts exec SIGKILLed at each phase: its process ends with it, the container keeps running', async () => {
    const id = 'kill-exec';
    // Long enough to outlast the test on a loaded machine (it took 65 s once).
    const r = runtsDetached(['--root', root, 'run', '-d', '--bundle', bundle('sleep 600'), id]);
    assert.equal(r.status, 0, r.stderr);
    try {
      const init = JSON.parse(runts(['--root', root, 'state', id]).stdout).pid;
      const pidNs = fs.readlinkSync(`/proc/${init}/ns/pid`);
      const inContainer = () =>
        fs.readdirSync('/proc').filter((p) => {
          try {
            return (
              /^\d+$/.test(p) &&
              Number(p) !== init &&
              fs.readlinkSync(`/proc/${p}/ns/pid`) === pidNs &&
              alive(Number(p))
            );
          } catch {
            return false;
          }
        });
      const points: Array<{ fault?: string; delay?: number }> = [
        { fault: 'clone' },
        { fault: 'sync' },
        { fault: 'booted' },
        ...[0, 20, 50, 90, 140].map((delay) => ({ delay })),
      ];
      for (const point of points) {
        const child = spawn(RUNTS, ['--root', root, 'exec', id, 'sleep', '30'], {
          stdio: 'ignore',
          env: point.fault ? { ...process.env, RUNTS_TEST_KILL_AT: point.fault } : process.env,
        });
        const timer =
          point.delay !== undefined ? setTimeout(() => child.kill('SIGKILL'), point.delay) : undefined;
        await new Promise((res) => child.on('close', res));
        clearTimeout(timer);
        // An exec that got as far as its program may leave it running (as runc's); the rest ends.
        const left = waitFor(
          () =>
            inContainer().filter((p) => !fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep')),
          3000,
        );
        assert.deepEqual(left, [], JSON.stringify(point));
      }
      assert.equal(JSON.parse(runts(['--root', root, 'state', id]).stdout).status, 'running');
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });
});
