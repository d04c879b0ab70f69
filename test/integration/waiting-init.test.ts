/**
 * A created container's init waits for `start` in dist/runts-wait, not in
 * Node (src/init/wait-handover.ts, issue 19): one thread and a few pages,
 * its exe a sealed memfd, not dumpable, nothing of runts' open; the program
 * that `start` lets run sees what runc's sees (ids, groups, capabilities,
 * no_new_privs, seccomp, signals, rlimits). Configs the waiter cannot serve
 * exactly keep the Node wait.
 *
 * Run as root after `npm run build` (skipped when the build had no C compiler).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { containerSuite, runcReference, runts, ROOT_DIR, RUNC, RUNTS } from '../helpers.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = containerSuite(after, { defaults: (c) => (c.root.readonly = false) });
const { base, root } = suite;
const { haveRunc, runcRoot } = runcReference(after, base);
const built = fs.existsSync(path.join(ROOT_DIR, 'dist/runts-wait'));
const skip = built ? false : 'dist/runts-wait was not built (no C compiler)';

let n = 0;

/** `create` with files for stdio; returns the id and the file the program writes to. */
function create(dir: string, bin = RUNTS, stateRoot = root): { id: string; out: string } {
  const id = `w${++n}`;
  const out = path.join(base, `out-${n}`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
  try {
    const r = spawnSync(bin, ['--root', stateRoot, 'create', '--bundle', dir, id], {
      stdio: ['ignore', fds[0], fds[1]],
      timeout: 30_000,
    });
    assert.equal(r.status, 0, fs.readFileSync(`${out}.err`, 'utf8'));
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
  return { id, out };
}

function initPid(id: string, bin = RUNTS, stateRoot = root): number {
  const r = spawnSync(bin, ['--root', stateRoot, 'state', id], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { pid: number }).pid;
}

function statusField(pid: number, name: string): string {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim() ?? '';
}

/** start, wait for the program to end, delete; what it wrote. */
function startAndCollect(id: string, out: string, bin = RUNTS, stateRoot = root): string {
  const s = spawnSync(bin, ['--root', stateRoot, 'start', id], { encoding: 'utf8' });
  assert.equal(s.status, 0, s.stderr);
  for (let i = 0; i < 200; i++) {
    const st = spawnSync(bin, ['--root', stateRoot, 'state', id], { encoding: 'utf8' });
    if ((JSON.parse(st.stdout) as { status: string }).status === 'stopped') break;
    spawnSync('sleep', ['0.05']);
  }
  spawnSync(bin, ['--root', stateRoot, 'delete', '--force', id]);
  return fs.readFileSync(out, 'utf8');
}

/** What the program sees of its own identity and security state. */
const IDENTITY =
  "grep -E '^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters|SigIgn|SigBlk|Threads):' /proc/self/status; " +
  'ulimit -n; ulimit -c; umask; pwd; ls /proc/self/fd; mkdir /tmp/made 2>&1 || echo mkdir failed; echo args "$@"';

function userConfig(c: Config): void {
  c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o027 };
  const caps = ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE', 'CAP_KILL'];
  c.process.capabilities = {
    bounding: [...caps, 'CAP_SETUID'],
    effective: caps,
    permitted: caps,
    inheritable: caps,
    ambient: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
  };
  c.process.cwd = '/tmp';
  c.process.rlimits = [
    { type: 'RLIMIT_NOFILE', soft: 64, hard: 128 },
    { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
  ];
  c.process.args.push('x', 'two words');
}

/** A filter with no_new_privs: mkdir refused with EACCES. */
function seccompConfig(c: Config, noNewPrivileges: boolean): void {
  c.process.noNewPrivileges = noNewPrivileges;
  c.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
  };
}

describe('the waiting init', { skip }, () => {
  test('waits in runts-wait: one thread, a few pages, a sealed memfd as exe, no fd of runts', () => {
    const dir = suite.bundle('echo started; cat /proc/self/status | grep Threads');
    const { id, out } = create(dir);
    const pid = initPid(id);
    assert.equal(statusField(pid, 'Threads'), '1');
    const rss = Number(statusField(pid, 'VmRSS').replace(/ kB$/, ''));
    assert.ok(rss < 2048, `waiting init resident ${rss} kB`);
    assert.match(fs.readlinkSync(`/proc/${pid}/exe`), /^\/memfd:runts-wait/);
    // Not writable through /proc/<pid>/exe, not even by the host's root (CVE-2019-5736).
    assert.throws(() => fs.closeSync(fs.openSync(`/proc/${pid}/exe`, 'r+')), /ETXTBSY|EPERM|EROFS/);
    // stdio and exec.fifo, nothing else.
    const fds = fs.readdirSync(`/proc/${pid}/fd`).map(Number);
    const targets = fds.map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    assert.equal(fds.length, 4, targets.join(', '));
    assert.ok(
      targets.some((t) => t.endsWith(`/${id}/exec.fifo`)),
      targets.join(', '),
    );
    assert.equal(startAndCollect(id, out), 'started\nThreads:\t1\n');
  });

  test("is not dumpable: a process exec'd into the created container cannot read its fds (as runc's)", () => {
    const dir = suite.bundle('true');
    const { id } = create(dir);
    try {
      const r = runts(['--root', root, 'exec', id, 'sh', '-c', 'readlink /proc/1/fd/0 || echo denied']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /denied/);
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });

  test("the program sees what runc's sees: ids, groups, capabilities with ambient, rlimits, umask, cwd, fds, no_new_privs + seccomp", () => {
    const dir = suite.bundle(IDENTITY, (c) => {
      userConfig(c);
      seccompConfig(c, true);
    });
    fs.chmodSync(path.join(dir, 'rootfs/tmp'), 0o1777);
    const ours = create(dir);
    assert.equal(statusField(initPid(ours.id), 'Threads'), '1', 'the filter waits in runts-wait');
    const seen = startAndCollect(ours.id, ours.out);
    assert.match(seen, /CapAmb:\t0000000000000401/);
    assert.match(seen, /NoNewPrivs:\t1/);
    assert.match(seen, /Seccomp:\t2/);
    assert.match(seen, /mkdir failed/);
    assert.match(seen, /args two words/);
    if (!haveRunc) return;
    const theirs = create(dir, RUNC, runcRoot);
    assert.equal(seen, startAndCollect(theirs.id, theirs.out, RUNC, runcRoot));
  });

  test('seccomp without no_new_privs (loaded before the credentials, as runc) reaches the program the same', () => {
    const dir = suite.bundle(IDENTITY, (c) => {
      userConfig(c);
      seccompConfig(c, false);
    });
    fs.chmodSync(path.join(dir, 'rootfs/tmp'), 0o1777);
    const ours = create(dir);
    assert.equal(statusField(initPid(ours.id), 'Threads'), '1');
    const seen = startAndCollect(ours.id, ours.out);
    assert.match(seen, /NoNewPrivs:\t0/);
    assert.match(seen, /Seccomp:\t2/);
    assert.match(seen, /mkdir failed/);
    if (!haveRunc) return;
    const theirs = create(dir, RUNC, runcRoot);
    assert.equal(seen, startAndCollect(theirs.id, theirs.out, RUNC, runcRoot));
  });

  test('keeps the Node wait where the waiter would change what the container sees', () => {
    const cases: Array<[string, (c: Config) => void]> = [
      [
        'a startContainer hook',
        (c) => (c.hooks = { startContainer: [{ path: '/bin/true', args: ['true'] }] }),
      ],
      [
        'a filter without no_new_privs that may refuse execveat or prctl',
        (c) => {
          c.process.noNewPrivileges = false;
          c.linux.seccomp = {
            defaultAction: 'SCMP_ACT_ERRNO',
            syscalls: [
              {
                names: [
                  'execve',
                  'openat',
                  'open',
                  'read',
                  'write',
                  'close',
                  'exit_group',
                  'brk',
                  'arch_prctl',
                ],
                action: 'SCMP_ACT_ALLOW',
              },
            ],
          };
        },
      ],
    ];
    for (const [what, patch] of cases) {
      const { id } = create(suite.bundle('true', patch));
      try {
        const pid = initPid(id);
        assert.ok(Number(statusField(pid, 'Threads')) > 1, `${what}: Node waits`);
        assert.doesNotMatch(fs.readlinkSync(`/proc/${pid}/exe`), /runts-wait/, what);
      } finally {
        runts(['--root', root, 'delete', '--force', id]);
      }
    }
  });

  test('kill of a created container ends the waiter; start then fails as runc', () => {
    const { id } = create(suite.bundle('echo never'));
    const pid = initPid(id);
    assert.equal(runts(['--root', root, 'kill', id, 'KILL']).status, 0);
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}/status`); i++) {
      if (statusField(pid, 'State').startsWith('Z')) break;
      spawnSync('sleep', ['0.02']);
    }
    const r = runts(['--root', root, 'start', id]);
    assert.notEqual(r.status, 0);
    runts(['--root', root, 'delete', '--force', id]);
  });
});
