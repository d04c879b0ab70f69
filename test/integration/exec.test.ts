/**
 * `runts exec` on real containers: every assertion compares what the exec'ed
 * process sees with what the container's init sees (or the host sees of it).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { consoleReceiver, runts, runtsAsync, RUNTS } from '../helpers.js';
import { makeBundle } from '../rootfs.js';
import { cgroupMounts } from '../../src/cgroups/mounts.js';
import { removePath } from '../../src/cgroups/fsutil.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * One directory for the run, under /var/tmp: a user-namespaced container's
 * root (host uid 100000) must reach its bundle, and os.tmpdir() may be
 * private to root (mode 0700, as /tmp is on the test machines).
 */
const base = fs.mkdtempSync(path.join(fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'runts-test-'));
fs.chmodSync(base, 0o755);
const root = path.join(base, 'state');
/** Containers live under a parent cgroup of this run, removed at the end. */
const PARENT = `/runts-test-exec-${process.pid}`;
let n = 0;

// One hook, in this order: containers, then what they could leave.
after(() => {
  try {
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : [])
      runts(['--root', root, 'delete', '--force', id]);
    const left = fs.existsSync(root) ? fs.readdirSync(root) : [];
    assert.deepEqual(left, [], 'containers left behind');
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(base));
    assert.deepEqual(mounts, [], 'mounts left behind');
    const cgroups: string[] = [];
    for (const m of cgroupMounts()) {
      const dir = path.join(m.mountpoint, PARENT);
      if (!fs.existsSync(dir)) continue;
      for (let i = 0; i < 50 && !removePath(dir); i++) spawnSync('sleep', ['0.1']);
      if (fs.existsSync(dir)) cgroups.push(dir);
    }
    assert.deepEqual(cgroups, [], 'cgroups left behind');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

/** A bundle whose init is `sleep 1000`; `patch` edits the config. */
function bundle(patch?: (c: Config) => void): string {
  const name = `bundle-${++n}`;
  const dir = path.join(base, name);
  makeBundle(dir, (c: Config) => {
    c.process.terminal = false;
    c.process.args = ['sleep', '1000'];
    c.linux.cgroupsPath = `${PARENT}/${name}`;
    patch?.(c);
  });
  return dir;
}

/**
 * Run runts with stdio detached from the test: a detached process keeps
 * runts's stdio, and a pipe would hold spawnSync until it exits.
 */
function runtsDetached(args: string[]): { status: number | null; stderr: string } {
  const errFile = path.join(base, `stderr-${++n}`);
  const err = fs.openSync(errFile, 'w');
  const r = spawnSync(RUNTS, ['--root', root, ...args], {
    stdio: ['ignore', 'ignore', err],
    timeout: 30_000,
  });
  fs.closeSync(err);
  return { status: r.status, stderr: fs.readFileSync(errFile, 'utf8') };
}

/** `runts run -d`; returns the init's pid. */
function startContainer(id: string, dir: string): number {
  const r = runtsDetached(['run', '-d', '--bundle', dir, id]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(runts(['--root', root, 'state', id]).stdout).pid;
}

function exec(id: string, args: string[], flags: string[] = [], input?: string) {
  return runts(['--root', root, 'exec', ...flags, id, ...args], { input });
}

/** Run `sh -c script` in the container; asserts success and returns stdout lines. */
function sh(id: string, script: string, flags: string[] = []): string[] {
  const r = exec(id, ['sh', '-c', script], flags);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  return r.stdout.trim().split('\n');
}

function statusLines(text: string, re: RegExp): string[] {
  return text.split('\n').filter((l) => re.test(l));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ID = 'main';
let initPid = 0;

before(() => {
  initPid = startContainer(
    ID,
    bundle((c) => {
      c.hostname = 'exec-test';
      c.process.env.push('FROM_CONFIG=yes');
    }),
  );
});

describe("the exec'ed process is in the container", () => {
  test("same PID namespace: pid 1 is the container's init", () => {
    const [cmdline, ...ps] = sh(ID, 'tr "\\0" " " < /proc/1/cmdline; echo; ps -o pid,args');
    assert.ok(cmdline);
    assert.equal(cmdline.trim(), 'sleep 1000');
    assert.ok(
      ps.some((l) => /^\s*1\s+sleep 1000/.test(l)),
      ps.join('\n'),
    );
  });

  test('same namespaces as the init', () => {
    const names = ['pid', 'mnt', 'uts', 'net', 'ipc', 'cgroup'];
    const inside = sh(ID, names.map((ns) => `readlink /proc/self/ns/${ns}`).join('; '));
    assert.deepEqual(
      inside,
      names.map((ns) => fs.readlinkSync(`/proc/${initPid}/ns/${ns}`)),
    );
    for (const ns of ['mnt', 'net', 'uts'])
      assert.notEqual(fs.readlinkSync(`/proc/${initPid}/ns/${ns}`), fs.readlinkSync(`/proc/self/ns/${ns}`));
  });

  test('same mount table, hostname and cgroups', () => {
    const mountinfo = exec(ID, ['cat', '/proc/self/mountinfo']);
    assert.equal(mountinfo.status, 0, mountinfo.stderr);
    assert.equal(mountinfo.stdout, fs.readFileSync(`/proc/${initPid}/mountinfo`, 'utf8'));
    assert.deepEqual(sh(ID, 'hostname'), ['exec-test']);
    const [self, init] = sh(
      ID,
      'cat /proc/self/cgroup | tr "\\n" " "; echo; cat /proc/1/cgroup | tr "\\n" " "',
    );
    assert.ok(self && init);
    assert.equal(self.trim(), init.trim());
  });

  test('same uid, gid, capabilities, no_new_privs and seccomp mode', () => {
    const re = /^(Uid|Gid|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):/;
    const inside = sh(ID, 'cat /proc/self/status');
    assert.deepEqual(
      statusLines(inside.join('\n'), re),
      statusLines(fs.readFileSync(`/proc/${initPid}/status`, 'utf8'), re),
    );
  });

  test('signals: nothing ignored or blocked, `yes | head` kills yes with SIGPIPE (as runc)', () => {
    // runc 1.1.5 on the same container: SigBlk 0, SigIgn 0 and yes=141 without a message.
    const r = exec(ID, [
      'sh',
      '-c',
      'grep -E "^Sig(Ign|Blk)" /proc/self/status; { (yes; echo "yes=$?" >&3) | head -c1; } 3>&1',
    ]);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nyyes=141\n');
  });

  test('RLIMIT_NOFILE 8 and RLIMIT_AS 100 MB, and a wrong identity: the limits hold, the identity is refused', () => {
    const file = path.join(base, 'process-nofile.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        args: ['sh', '-c', 'ulimit -n; id -u'],
        cwd: '/',
        user: { uid: 1000, gid: 1000 },
        rlimits: [
          { type: 'RLIMIT_NOFILE', soft: 8, hard: 8 },
          { type: 'RLIMIT_AS', soft: 100 << 20, hard: 100 << 20 },
        ],
      }),
    );
    const r = runts(['--root', root, 'exec', '-p', file, ID]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '8\n1000\n');
    const bad = runts(['--root', root, 'exec', '--user', '4294967295', ID, 'sh', '-c', 'echo RAN']);
    assert.notEqual(bad.status, 0);
    assert.doesNotMatch(bad.stdout, /RAN/);
    assert.match(bad.stderr, /^runts: .*(uid|identity|range)/m, bad.stderr);
  });

  test("the container's seccomp filter holds for the exec'ed process too", () => {
    const id = 'seccomp';
    const pid = startContainer(
      id,
      bundle((c) => {
        c.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
        };
      }),
    );
    try {
      const initMode = statusLines(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Seccomp:/);
      assert.deepEqual(initMode, ['Seccomp:\t2']);
      const lines = sh(
        id,
        'grep ^Seccomp: /proc/self/status; mkdir /dev/shm/x 2>&1 || true; touch /dev/shm/y && echo touched',
      );
      assert.equal(lines[0], 'Seccomp:\t2');
      assert.match(lines[1] ?? '', /Operation not permitted/);
      assert.equal(lines[2], 'touched');
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });

  test("the config's environment and cwd, HOME from /etc/passwd", () => {
    const lines = sh(ID, 'echo $FROM_CONFIG; echo $HOME; pwd');
    assert.deepEqual(lines, ['yes', '/root', '/']);
  });

  test('nothing but stdio reaches the process', () => {
    // ls's own directory fd is the only other one.
    const fds = (sh(ID, 'ls /proc/self/fd | tr "\\n" " "')[0] ?? '').trim().split(' ');
    assert.deepEqual(fds, ['0', '1', '2', '3']);
  });

  test('an exec into a created container sees its init waiting', () => {
    const dir = bundle();
    const c = runtsDetached(['create', '--bundle', dir, 'created']);
    assert.equal(c.status, 0, c.stderr);
    try {
      const [comm] = sh('created', 'cat /proc/1/comm');
      assert.ok(comm);
      assert.ok(comm.length > 0);
      assert.equal(JSON.parse(runts(['--root', root, 'state', 'created']).stdout).status, 'created');
    } finally {
      runts(['--root', root, 'delete', '--force', 'created']);
    }
  });
});

describe('flags change exactly what they say', () => {
  test('--user and --additional-gids', () => {
    assert.deepEqual(
      sh(ID, 'id -u; id -g; id -G', ['--user', '1000:1001', '-g', '10', '--additional-gids', '20']),
      ['1000', '1001', '1001 10 20'],
    );
    assert.deepEqual(sh(ID, 'id -u; id -g', ['-u', '65534']), ['65534', '0']);
  });

  test('--cwd', () => {
    assert.deepEqual(sh(ID, 'pwd', ['--cwd', '/tmp']), ['/tmp']);
  });

  test("--env adds to the config's environment", () => {
    assert.deepEqual(sh(ID, 'echo $FOO; echo $BAR; echo $FROM_CONFIG', ['-e', 'FOO=a b', '--env', 'BAR=c']), [
      'a b',
      'c',
      'yes',
    ]);
  });

  test('--cap adds to the bounding, effective and permitted sets only', () => {
    const before = sh(ID, 'grep ^Cap /proc/self/status');
    const after = sh(ID, 'grep ^Cap /proc/self/status', ['--cap', 'CAP_SYS_PTRACE']);
    const bit = 1n << 19n; // CAP_SYS_PTRACE
    const parse = (lines: string[]) =>
      Object.fromEntries(lines.map((l) => l.split(/:\s+/)).map(([k, v]) => [k, BigInt('0x' + (v ?? ''))]));
    const b = parse(before);
    const a = parse(after);
    assert.equal(b.CapBnd & bit, 0n);
    for (const set of ['CapBnd', 'CapEff', 'CapPrm']) assert.equal(a[set], b[set] | bit, set);
    assert.equal(a.CapInh, b.CapInh);
    assert.equal(a.CapAmb, b.CapAmb);
  });

  test('--no-new-privs', () => {
    const dir = bundle((c) => (c.process.noNewPrivileges = false));
    startContainer('nnp', dir);
    try {
      assert.deepEqual(sh('nnp', 'grep NoNewPrivs /proc/self/status'), ['NoNewPrivs:\t0']);
      assert.deepEqual(sh('nnp', 'grep NoNewPrivs /proc/self/status', ['--no-new-privs']), [
        'NoNewPrivs:\t1',
      ]);
    } finally {
      runts(['--root', root, 'delete', '--force', 'nnp']);
    }
  });

  test('--process: a runtime-spec process object, and nothing from the flags', () => {
    const file = path.join(base, 'process.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        args: [
          'sh',
          '-c',
          'id -u; id -g; pwd; echo $ONLY; echo ${FROM_CONFIG:-unset}; umask; grep -E "^(CapBnd|CapEff|NoNewPrivs)" /proc/self/status',
        ],
        env: ['PATH=/bin', 'ONLY=process-file'],
        cwd: '/etc',
        user: { uid: 1234, gid: 5678, umask: 0o077 },
        // Ambient (and so inheritable) too: a non-root uid keeps no capability across execve without it.
        capabilities: {
          bounding: ['CAP_KILL'],
          effective: ['CAP_KILL'],
          permitted: ['CAP_KILL'],
          inheritable: ['CAP_KILL'],
          ambient: ['CAP_KILL'],
        },
        noNewPrivileges: true,
      }),
    );
    const lines = sh(ID, 'ignored', ['--process', file, '--cwd', '/tmp']).slice(0);
    assert.deepEqual(lines, [
      '1234',
      '5678',
      '/etc',
      'process-file',
      'unset',
      '0077',
      'CapEff:\t0000000000000020',
      'CapBnd:\t0000000000000020',
      'NoNewPrivs:\t1',
    ]);
  });

  test("--process without capabilities gets the container's", () => {
    const file = path.join(base, 'process-nocaps.json');
    fs.writeFileSync(file, JSON.stringify({ args: ['grep', '^CapBnd', '/proc/self/status'], cwd: '/' }));
    const r = runts(['--root', root, 'exec', '-p', file, ID]);
    assert.equal(r.status, 0, r.stderr);
    const init = statusLines(fs.readFileSync(`/proc/${initPid}/status`, 'utf8'), /^CapBnd/)[0];
    assert.equal(r.stdout.trim(), init);
  });

  test('--preserve-fds passes fd 3 on', async () => {
    const child = spawn(
      RUNTS,
      ['--root', root, 'exec', '--preserve-fds', '1', ID, 'sh', '-c', 'echo through-fd-3 >&3'],
      {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdio[3]!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((res) => child.on('close', res));
    assert.equal(code, 0, err);
    assert.equal(out, 'through-fd-3\n');
  });
});

describe('user namespace', () => {
  test('exec into a user-namespaced container is root inside, 100000 on the host', () => {
    const dir = bundle((c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const pid = startContainer('userns', dir);
    try {
      const lines = sh(
        'userns',
        'id -u; id -g; cat /proc/self/uid_map; readlink /proc/self/ns/user; tr "\\0" " " < /proc/1/cmdline',
      );
      assert.deepEqual(lines.slice(0, 2), ['0', '0']);
      assert.match(lines[2] ?? '', /^\s*0\s+100000\s+65536$/);
      assert.equal(lines[3], fs.readlinkSync(`/proc/${pid}/ns/user`));
      assert.equal(lines[4]?.trim(), 'sleep 1000');
      // The same capabilities as the init, in its user namespace.
      const re = /^Cap(Prm|Eff|Bnd):/;
      assert.deepEqual(
        statusLines(sh('userns', 'cat /proc/self/status').join('\n'), re),
        statusLines(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), re),
      );

      const pidFile = path.join(base, 'userns.pid');
      const r = runtsDetached(['exec', '-d', '--pid-file', pidFile, 'userns', 'sleep', '30']);
      assert.equal(r.status, 0, r.stderr);
      const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
      assert.match(
        fs.readFileSync(`/proc/${execPid}/status`, 'utf8'),
        /^Uid:\s+100000\s+100000\s+100000\s+100000$/m,
      );
    } finally {
      runts(['--root', root, 'delete', '--force', 'userns']);
    }
  });
});

describe('detach and terminal', () => {
  test('-d --pid-file returns at once with the pid of the running process', () => {
    const pidFile = path.join(base, 'exec.pid');
    const t0 = Date.now();
    const r = runtsDetached(['exec', '-d', '--pid-file', pidFile, ID, 'sleep', '60']);
    const took = Date.now() - t0;
    assert.equal(r.status, 0, r.stderr);
    assert.ok(took < 10_000, `took ${took} ms`);
    const text = fs.readFileSync(pidFile, 'utf8');
    assert.match(text, /^\d+$/, 'decimal, no newline');
    const pid = Number(text);
    try {
      assert.ok(alive(pid));
      assert.equal(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x0060\x00');
      assert.equal(fs.readlinkSync(`/proc/${pid}/ns/pid`), fs.readlinkSync(`/proc/${initPid}/ns/pid`));
      assert.equal(fs.readlinkSync(`/proc/${pid}/ns/mnt`), fs.readlinkSync(`/proc/${initPid}/ns/mnt`));
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  test('-t with --console-socket sends a working pty master', async () => {
    const sock = path.join(base, 'console.sock');
    const receiver = await consoleReceiver(sock, 'typed-in\n');
    const r = runtsDetached([
      'exec',
      '-d',
      '-t',
      '--console-socket',
      sock,
      ID,
      'sh',
      '-c',
      'tty; read x; echo "read: $x"',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = await receiver.output;
    assert.match(out, /^listening\n\/dev\/pts\/\d+\n/, 'the payload is the pty name');
    assert.match(out, /\/dev\/pts\/\d+\r\n/);
    assert.match(out, /read: typed-in/);
  });

  test("-t in the foreground relays the pty to runts's stdio", () => {
    const r = exec(ID, ['sh', '-c', 'tty; read x; echo "got $x"; exit 4'], ['-t'], 'hello\n');
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+\r\n/);
    assert.match(r.stdout, /got hello\r\n/);
  });

  test('terminal flag combinations runc refuses', () => {
    const a = exec(ID, ['true'], ['-d', '-t']);
    assert.equal(a.status, 255);
    assert.match(
      a.stderr,
      /exec failed: cannot allocate tty if runts will detach without setting console socket/,
    );
    const b = exec(ID, ['true'], ['--console-socket', path.join(base, 'nope.sock')]);
    assert.equal(b.status, 255);
    assert.match(b.stderr, /exec failed: cannot use console socket if runts will not detach or allocate tty/);
  });
});

describe('exit status and errors', () => {
  test('exit codes 0, 3 and 137 propagate', () => {
    assert.equal(exec(ID, ['true']).status, 0);
    assert.equal(exec(ID, ['sh', '-c', 'exit 3']).status, 3);
    assert.equal(exec(ID, ['sh', '-c', 'kill -9 $$']).status, 137);
  });

  test("stdin and stdout are runts's", () => {
    const r = exec(ID, ['sh', '-c', 'read x; echo "<$x>"'], [], 'line\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '<line>\n');
  });

  test('signals to a foreground exec reach the process', async () => {
    const child = spawn(
      RUNTS,
      [
        '--root',
        root,
        'exec',
        ID,
        'sh',
        '-c',
        'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    child.kill('SIGTERM');
    const code = await new Promise((res) => child.on('close', res));
    assert.equal(code, 9);
    assert.match(out, /got-term/);
  });

  test("a program that cannot start exits 255 with runc's message", () => {
    const r = exec(ID, ['no-such-program']);
    assert.equal(r.status, 255);
    assert.match(
      r.stderr,
      /exec failed: unable to start container process: exec: "no-such-program": executable file not found in \$PATH/,
    );
    const noArgs = exec(ID, []);
    assert.equal(noArgs.status, 255);
    assert.match(noArgs.stderr, /exec failed: exec args cannot be empty/);
    const badCwd = exec(ID, ['true'], ['--cwd', 'relative']);
    assert.equal(badCwd.status, 255);
    assert.match(badCwd.stderr, /Cwd must be an absolute path/);
    const missingCwd = exec(ID, ['true'], ['--cwd', '/no/such/dir']);
    assert.equal(missingCwd.status, 255);
    assert.match(missingCwd.stderr, /exec failed: unable to start container process: .*ENOENT|no such file/);
    const badUser = exec(ID, ['true'], ['-u', 'x']);
    assert.equal(badUser.status, 255);
    assert.match(badUser.stderr, /exec failed: bad uid/);
  });

  test("a missing or stopped container fails with runc's messages", () => {
    const missing = exec('no-such-container', ['true']);
    assert.equal(missing.status, 255);
    assert.match(missing.stderr, /exec failed: container does not exist/);

    const dir = bundle((c) => (c.process.args = ['true']));
    startContainer('stopped', dir);
    for (
      let i = 0;
      i < 100 && JSON.parse(runts(['--root', root, 'state', 'stopped']).stdout).status !== 'stopped';
      i++
    )
      spawnSync('sleep', ['0.05']);
    const r = exec('stopped', ['true']);
    assert.equal(r.status, 255);
    assert.match(r.stderr, /exec failed: cannot exec in a stopped container/);
    runts(['--root', root, 'delete', 'stopped']);
  });

  test('a paused container only with --ignore-paused, and then it runs once resumed', async () => {
    const id = 'paused';
    startContainer(id, bundle());
    try {
      const p = runts(['--root', root, 'pause', id]);
      assert.equal(p.status, 0, p.stderr);
      assert.equal(JSON.parse(runts(['--root', root, 'state', id]).stdout).status, 'paused');
      const r = exec(id, ['true']);
      assert.equal(r.status, 255);
      assert.match(
        r.stderr,
        /exec failed: cannot exec in a paused container \(use --ignore-paused to override\)/,
      );
      // Let in, the process joins the frozen cgroup before it runs: as with
      // runc, it starts when the container is resumed.
      let done = false;
      const pending = runtsAsync([
        '--root',
        root,
        'exec',
        '--ignore-paused',
        id,
        'echo',
        'after-resume',
      ]).finally(() => (done = true));
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(done, false, 'nothing runs in a frozen container');
      assert.equal(runts(['--root', root, 'resume', id]).status, 0);
      const ok = await pending;
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout, 'after-resume\n');
    } finally {
      runts(['--root', root, 'resume', id]);
      runts(['--root', root, 'delete', '--force', id]);
    }
  });
});

describe('cgroups', () => {
  test("the process is in the container's cgroups", () => {
    const pidFile = path.join(base, 'cg.pid');
    const r = runtsDetached(['exec', '-d', '--pid-file', pidFile, ID, 'sleep', '30']);
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    try {
      assert.equal(
        fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
        fs.readFileSync(`/proc/${initPid}/cgroup`, 'utf8'),
      );
      assert.match(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`${PARENT}/bundle-\\d+$`, 'm'));
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  test("--cgroup runs it in a sub-cgroup of the container's", () => {
    const id = 'subcg';
    const initOfSub = startContainer(id, bundle());
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
      const mounts = cgroupMounts();
      const pidsV1 = mounts.find((m) => m.version === 1 && m.subsystems.includes('pids'));
      // cgroup v1: one controller's sub-cgroup; cgroup v2: the one hierarchy's.
      const mount = pidsV1 ?? mounts.find((m) => m.version === 2)!;
      const dir = (rec.cgroupPaths as string[]).find((p) => p.startsWith(mount.mountpoint + '/'))!;
      assert.ok(dir, 'the container has a cgroup there');
      fs.mkdirSync(path.join(dir, 'sub'));
      const pidFile = path.join(base, 'subcg.pid');
      const r = runtsDetached([
        'exec',
        '-d',
        '--pid-file',
        pidFile,
        '--cgroup',
        pidsV1 ? 'pids:sub' : 'sub',
        id,
        'sleep',
        '30',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
      const initLines = fs.readFileSync(`/proc/${initOfSub}/cgroup`, 'utf8').split('\n');
      const key = pidsV1 ? /^\d+:pids:/ : /^0::/;
      assert.ok(lines.find((l) => key.test(l))!.endsWith('/sub'), lines.join('\n'));
      // Every other hierarchy: the container's own.
      assert.deepEqual(
        lines.filter((l) => !key.test(l)),
        initLines.filter((l) => !key.test(l)),
      );
      const bad = exec(id, ['true'], ['--cgroup', 'nosuchcontroller:sub']);
      assert.equal(bad.status, 255);
      assert.match(bad.stderr, pidsV1 ? /unknown controller nosuchcontroller/ : /exec failed/);
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });
});

describe('concurrency', () => {
  test('50 concurrent execs into one container all succeed with their own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runtsAsync(['--root', root, 'exec', ID, 'sh', '-c', `echo out-${i} $$`], { timeout: 120_000 }),
      ),
    );
    const pids = new Set<string>();
    results.forEach((r, i) => {
      assert.equal(r.status, 0, `exec ${i}: ${r.stderr}`);
      assert.equal(r.stderr, '');
      const [word, pid] = r.stdout.trim().split(' ');
      assert.equal(word, `out-${i}`);
      assert.ok(pid, r.stdout);
      pids.add(pid);
    });
    assert.equal(pids.size, 50, 'each ran as its own process');
    assert.ok(alive(initPid), 'the container survives');
  });
});
