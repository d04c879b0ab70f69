/**
 * containerd 1.6 (a private instance) runs its containers on the runtime
 * under test through `ctr run --runc-binary` and the io.containerd.runc.v2
 * shim. Every scenario checks what the process inside the container sees.
 *
 * CLIENT_RUNTIME=/usr/sbin/runc runs the same scenarios on runc.
 */
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  TAG,
  alive,
  cgroupDirs,
  inPty,
  makeTempDir,
  mebibyte,
  mountsMentioning,
  pidsWithCmdline,
  readCgroupFile,
  removeCgroupTree,
  run,
  runAsync,
  WAIT_WINSIZE,
  setupRuntime,
  shellQuote,
  show,
  sleep,
  stopPids,
  unmountUnder,
  waitFor,
  type Result,
  type RunOpts,
} from './lib/common.js';
import { buildImages, IMAGE_REF_CONTAINERD as IMAGE } from './lib/image.js';
import { startContainerd, type Containerd } from './lib/containerd.js';
import { scenario, clientAvailable } from './lib/scenario.js';

const HAVE = clientAvailable(['containerd', 'ctr', 'containerd-shim-runc-v2']);
const base = makeTempDir('runts-clients-ctr-');
const rt = setupRuntime(base);
const NS = `runts-${TAG}`;
const CG = `/runts-clients-${TAG}`;
const RUNC_ROOT = path.join(base, 'runc-root');
const FIFO = path.join(base, 'fifo');
let cd: Containerd | undefined;
let n = 0;

function ctr(args: string[], opts: RunOpts = {}): Result {
  return run('ctr', ['--address', cd!.sock, '-n', NS, ...args], opts);
}

/** `ctr run` with the runtime under test; `flags` go before the image. */
function runArgs(id: string, flags: string[], cmd: string[]): string[] {
  return [
    '--address',
    cd!.sock,
    '-n',
    NS,
    'run',
    '--runc-binary',
    rt.wrapper,
    '--runc-root',
    RUNC_ROOT,
    '--fifo-dir',
    FIFO,
    '--cgroup',
    `${CG}/${id}`,
    ...flags,
    IMAGE,
    id,
    ...cmd,
  ];
}

function ctrRun(flags: string[], cmd: string[], opts: RunOpts = {}): Result & { id: string } {
  const id = `c${++n}`;
  const r = run('ctr', runArgs(id, ['--rm', ...flags], cmd), opts);
  return { ...r, id };
}

/** `ctr run -d`: a detached task; returns its id and host PID. */
async function ctrRunDetached(flags: string[], cmd: string[]): Promise<{ id: string; pid: number }> {
  const id = `c${++n}`;
  const r = run('ctr', runArgs(id, ['-d', ...flags], cmd));
  assert.equal(r.status, 0, show(r, rt));
  const pid = await waitFor(() => taskPid(id), 10_000, `task ${id} running`);
  return { id, pid };
}

function taskPid(id: string): number {
  const line = ctr(['tasks', 'list'])
    .stdout.split('\n')
    .find((l) => l.split(/\s+/)[0] === id);
  if (!line) return 0;
  const [, pid, status] = line.split(/\s+/);
  return status === 'RUNNING' || status === 'PAUSED' ? Number(pid) : 0;
}

function ctrExec(id: string, flags: string[], cmd: string[], opts: RunOpts = {}): Result {
  return ctr(['tasks', 'exec', '--fifo-dir', FIFO, '--exec-id', `e${++n}`, ...flags, id, ...cmd], opts);
}

async function remove(id: string): Promise<void> {
  ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
  for (let i = 0; i < 50 && ctr(['tasks', 'delete', id]).status !== 0; i++) {
    if (!ctr(['tasks', 'list', '-q']).stdout.split('\n').includes(id)) break;
    await sleep(100);
  }
  ctr(['containers', 'delete', id]);
}

const sh = (script: string) => ['sh', '-c', script];

describe(
  `containerd (ctr run) on ${rt.kind}`,
  { skip: HAVE ? false : 'containerd/ctr not installed (apt-get install containerd)' },
  () => {
    before(async () => {
      const images = buildImages(path.join(base, 'image'));
      cd = await startContainerd(path.join(base, 'containerd'), rt);
      const r = ctr(['images', 'import', '--all-platforms', images.oci], { timeout: 120_000 });
      assert.equal(r.status, 0, show(r));
      assert.match(ctr(['images', 'list', '-q']).stdout, /runts-busybox:test/);
    });

    after(async () => {
      const problems = cd ? await cd.stop() : [];
      // Processes still in our cgroups, or a runtime state left under --runc-root.
      problems.push(...(await removeCgroupTree(CG)).map((s) => `cgroup still populated: ${s}`));
      const stale = fs.existsSync(path.join(RUNC_ROOT, NS)) ? fs.readdirSync(path.join(RUNC_ROOT, NS)) : [];
      if (stale.length) problems.push(`runtime state left: ${stale.join(',')}`);
      await stopPids(pidsWithCmdline(base));
      unmountUnder(base);
      fs.rmSync(base, { recursive: true, force: true });
      fs.rmSync(path.join('/run/containerd/runc', NS), { recursive: true, force: true });
      assert.deepEqual(problems, [], 'the suite left things behind');
    });

    scenario(rt, 'output and exit status 0', () => {
      const r = ctrRun([], sh('echo hello from $(hostname -s 2>/dev/null || echo box); exit 0'));
      assert.equal(r.status, 0, show(r, rt));
      assert.match(r.stdout, /^hello from /, show(r, rt));
    });

    scenario(rt, 'exit status 42', () => {
      const r = ctrRun([], sh('echo before; exit 42'));
      assert.equal(r.status, 42, show(r, rt));
      assert.equal(r.stdout.trim(), 'before');
    });

    scenario(rt, 'killed with SIGKILL: 137', async () => {
      const id = `c${++n}`;
      const fg = runAsync('ctr', runArgs(id, ['--rm'], ['sleep', '1000']));
      await waitFor(() => taskPid(id), 15_000, 'task running');
      const k = ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
      assert.equal(k.status, 0, show(k, rt));
      const r = await fg.done;
      assert.equal(r.status, 137, show(r, rt));
    });

    scenario(rt, "missing command: the runtime's error reaches ctr", () => {
      const r = ctrRun([], ['/no/such/command']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /no such file or directory|not found/i, show(r, rt));
      assert.match(r.stderr, /\/no\/such\/command/, show(r, rt));
      assert.equal(ctr(['containers', 'list', '-q']).stdout.includes(r.id), false, 'container removed');
    });

    scenario(rt, 'non-executable command: permission denied', () => {
      const r = ctrRun([], ['/etc/notexec/script']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /permission denied/i, show(r, rt));
    });

    scenario(rt, 'env', () => {
      const r = ctrRun(
        ['--env', 'GREETING=hi there', '--env', 'EMPTY='],
        sh('echo "[$GREETING][$EMPTY][${EMPTY+set}]"; echo $PATH'),
      );
      assert.equal(r.status, 0, show(r, rt));
      assert.equal(
        r.stdout,
        '[hi there][][set]\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
      );
    });

    scenario(rt, 'workdir', () => {
      const r = ctrRun(['--cwd', '/home/tester'], ['pwd']);
      assert.equal(r.status, 0, show(r, rt));
      assert.equal(r.stdout, '/home/tester\n');
    });

    scenario(rt, 'read-only rootfs', () => {
      const r = ctrRun(
        ['--read-only'],
        sh('touch /x 2>&1; echo rc=$?; touch /tmp/y 2>&1; grep " / " /proc/mounts'),
      );
      assert.match(r.stdout, /Read-only file system/, show(r, rt));
      assert.match(r.stdout, /rc=1/);
      assert.match(r.stdout.split('\n').find((l) => / \/ /.test(l)) ?? '', /\bro\b/);
    });

    scenario(rt, 'bind mount (rw) and tmpfs', () => {
      const host = fs.mkdtempSync(path.join(base, 'bind-'));
      fs.writeFileSync(path.join(host, 'in'), 'from host\n');
      const r = ctrRun(
        [
          '--mount',
          `type=bind,src=${host},dst=/data,options=rbind:rw`,
          '--mount',
          'type=tmpfs,src=tmpfs,dst=/scratch,options=size=1m:mode=1777',
        ],
        sh(
          'cat /data/in; echo from container > /data/out; grep " /scratch " /proc/mounts; echo x > /scratch/f && echo tmpfs ok',
        ),
      );
      assert.equal(r.status, 0, show(r, rt));
      assert.match(r.stdout, /^from host\n/);
      assert.match(r.stdout, /tmpfs \/scratch tmpfs .*size=1024k/, show(r, rt));
      assert.match(r.stdout, /tmpfs ok/);
      assert.equal(fs.readFileSync(path.join(host, 'out'), 'utf8'), 'from container\n');
    });

    scenario(rt, 'read-only bind mount', () => {
      const host = fs.mkdtempSync(path.join(base, 'bind-'));
      const r = ctrRun(
        ['--mount', `type=bind,src=${host},dst=/data,options=rbind:ro`],
        sh('touch /data/x 2>&1; echo rc=$?'),
      );
      assert.match(r.stdout, /Read-only file system[\s\S]*rc=1/, show(r, rt));
      assert.equal(fs.existsSync(path.join(host, 'x')), false);
    });

    scenario(rt, 'cap-drop and cap-add', () => {
      const drop = ctrRun(
        ['--cap-drop', 'CAP_CHOWN'],
        sh('touch /tmp/f; chown 1000 /tmp/f 2>&1; echo rc=$?'),
      );
      assert.match(drop.stdout, /Operation not permitted[\s\S]*rc=1/, show(drop, rt));
      const add = ctrRun(
        ['--cap-add', 'CAP_SYS_ADMIN'],
        sh('grep CapEff /proc/self/status; mkdir /m && mount -t tmpfs none /m && echo mounted'),
      );
      assert.match(add.stdout, /mounted/, show(add, rt));
      const capEff = BigInt('0x' + add.stdout.match(/CapEff:\s*([0-9a-f]+)/)![1]!);
      assert.ok(capEff & (1n << 21n), 'CAP_SYS_ADMIN in the effective set');
      const none = ctrRun([], sh('mkdir /m && mount -t tmpfs none /m 2>&1; echo rc=$?'));
      assert.match(none.stdout, /rc=[1-9]/, 'no CAP_SYS_ADMIN by default');
    });

    scenario(rt, 'no-new-privileges by default, --allow-new-privs', () => {
      const a = ctrRun([], ['grep', 'NoNewPrivs', '/proc/self/status']);
      assert.match(a.stdout, /NoNewPrivs:\s*1/, show(a, rt));
      const b = ctrRun(['--allow-new-privs'], ['grep', 'NoNewPrivs', '/proc/self/status']);
      assert.match(b.stdout, /NoNewPrivs:\s*0/, show(b, rt));
    });

    scenario(rt, 'seccomp: default profile and unconfined', () => {
      const a = ctrRun(
        ['--seccomp'],
        sh('grep Seccomp: /proc/self/status; unshare -U true 2>&1; echo rc=$?'),
      );
      assert.match(a.stdout, /Seccomp:\s*2/, show(a, rt));
      assert.match(a.stdout, /rc=[1-9]/, 'unshare blocked by the default profile');
      const b = ctrRun([], ['grep', 'Seccomp:', '/proc/self/status']);
      assert.match(b.stdout, /Seccomp:\s*0/, show(b, rt));
    });

    scenario(rt, 'seccomp: custom profile', () => {
      const prof = path.join(base, 'seccomp.json');
      fs.writeFileSync(
        prof,
        JSON.stringify({
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: ['SCMP_ARCH_X86_64'],
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
        }),
      );
      const r = ctrRun(
        ['--seccomp', '--seccomp-profile', prof],
        sh('mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touched'),
      );
      assert.match(r.stdout, /Operation not permitted[\s\S]*rc=1[\s\S]*touched/, show(r, rt));
    });

    scenario(rt, 'memory limit and OOM kill', async () => {
      const { id } = await ctrRunDetached(['--memory-limit', String(32 << 20)], ['sleep', '1000']);
      try {
        assert.equal(readCgroupFile('memory', `${CG}/${id}`, 'memory.limit_in_bytes'), String(32 << 20));
      } finally {
        await remove(id);
      }
      const oom = ctrRun(['--memory-limit', String(32 << 20)], ['tail', '/dev/zero'], { timeout: 60_000 });
      assert.equal(oom.status, 137, show(oom, rt));
    });

    scenario(rt, "cpu quota and shares (seen in the container's cgroup)", async () => {
      const { id } = await ctrRunDetached(['--cpus', '0.5', '--cpu-shares', '512'], ['sleep', '1000']);
      try {
        const rel = `${CG}/${id}`;
        assert.deepEqual(
          ['cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares'].map((f) => readCgroupFile('cpu', rel, f)),
          ['50000', '100000', '512'],
        );
      } finally {
        await remove(id);
      }
    });

    scenario(rt, 'terminal (-t) driven with script', () => {
      const cmd = shellQuote([
        'ctr',
        ...runArgs(
          `c${++n}`,
          ['--rm', '-t'],
          sh(`tty; ${WAIT_WINSIZE}; echo $s; test -t 0 && echo stdin-is-tty`),
        ),
      ]);
      const r = inPty(`stty cols 91 rows 27; ${cmd}`);
      assert.equal(r.status, 0, show(r, rt));
      assert.match(r.stdout, /\/dev\/pts\/0/, show(r, rt));
      assert.match(r.stdout, /27 91/);
      assert.match(r.stdout, /stdin-is-tty/);
    });

    scenario(rt, 'stdin: 1 MiB piped, byte-exact', () => {
      const data = mebibyte();
      const r = ctrRun([], ['cat'], { input: data });
      assert.equal(r.status, 0, show(r, rt));
      assert.equal(r.out.length, data.length);
      assert.ok(r.out.equals(data), 'stdout equals stdin');
    });

    scenario(rt, '500 env vars and a 100,000-character argument', () => {
      const env = Array.from({ length: 500 }, (_, i) => ['--env', `V${i}=value-${i}`]).flat();
      const arg = 'a'.repeat(100_000);
      const r = ctrRun(env, ['sh', '-c', 'echo ${#1} $V0 $V499; env | grep -c ^V', 'sh', arg]);
      assert.equal(r.status, 0, show(r, rt));
      assert.equal(r.stdout, '100000 value-0 value-499\n500\n');
    });

    scenario(rt, 'no file descriptor leaks into the container', async () => {
      const { id, pid } = await ctrRunDetached([], ['sleep', '1000']);
      try {
        const fds = fs.readdirSync(`/proc/${pid}/fd`).sort();
        const what = fds.map((f) => `${f} -> ${fs.readlinkSync(`/proc/${pid}/fd/${f}`)}`).join(', ');
        assert.deepEqual(fds, ['0', '1', '2'], what);
      } finally {
        await remove(id);
      }
    });

    scenario(rt, 'run -d, then exec: output, exit status, user, cwd, env', async () => {
      const { id } = await ctrRunDetached([], ['sleep', '1000']);
      try {
        const a = ctrExec(id, [], sh('echo exec-out; exit 3'));
        assert.equal(a.status, 3, show(a, rt));
        assert.equal(a.stdout, 'exec-out\n');
        const u = ctrExec(id, ['--user', '65534'], ['id']);
        assert.match(u.stdout, /uid=65534\(nobody\)/, show(u, rt));
        const w = ctrExec(id, ['--cwd', '/etc'], ['pwd']);
        assert.equal(w.stdout, '/etc\n', show(w, rt));
        const ps = ctrExec(id, [], ['ps', '-o', 'pid,args']);
        assert.match(ps.stdout, /\n\s*1 sleep 1000/, show(ps, rt));
        const t = inPty(
          shellQuote([
            'ctr',
            '--address',
            cd!.sock,
            '-n',
            NS,
            'tasks',
            'exec',
            '--fifo-dir',
            FIFO,
            '-t',
            '--exec-id',
            `e${++n}`,
            id,
            'tty',
          ]),
        );
        assert.match(t.stdout, /\/dev\/pts\/\d+/, show(t, rt));
      } finally {
        await remove(id);
      }
    });

    scenario(rt, 'kill with a signal (trapped), then SIGTERM', async () => {
      const host = fs.mkdtempSync(path.join(base, 'sig-'));
      const id = `c${++n}`;
      const script =
        'trap "echo got USR1 >> /out/log" USR1; trap "echo got TERM >> /out/log; exit 7" TERM; echo ready > /out/log; while :; do sleep 0.1; done';
      const fg = runAsync(
        'ctr',
        runArgs(id, ['--rm', '--mount', `type=bind,src=${host},dst=/out,options=rbind:rw`], sh(script)),
      );
      await waitFor(() => fs.existsSync(path.join(host, 'log')), 15_000, 'ready');
      assert.equal(ctr(['tasks', 'kill', '-s', 'SIGUSR1', id]).status, 0);
      await waitFor(
        () => fs.readFileSync(path.join(host, 'log'), 'utf8').includes('USR1'),
        5000,
        'USR1 trapped',
      );
      assert.equal(ctr(['tasks', 'kill', id]).status, 0);
      const r = await fg.done;
      assert.equal(r.status, 7, show(r, rt));
      assert.equal(fs.readFileSync(path.join(host, 'log'), 'utf8'), 'ready\ngot USR1\ngot TERM\n');
    });

    scenario(rt, 'pause and resume: a counter stops, then moves', async () => {
      const host = fs.mkdtempSync(path.join(base, 'count-'));
      const file = path.join(host, 'n');
      const { id } = await ctrRunDetached(
        ['--mount', `type=bind,src=${host},dst=/out,options=rbind:rw`],
        sh('i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done'),
      );
      const count = () => Number(fs.readFileSync(file, 'utf8') || 0);
      try {
        await waitFor(() => fs.existsSync(file) && count() > 2, 10_000, 'counter');
        const p = ctr(['tasks', 'pause', id]);
        assert.equal(p.status, 0, show(p, rt));
        assert.match(ctr(['tasks', 'list']).stdout, new RegExp(`${id}\\s+\\d+\\s+PAUSED`));
        await sleep(300);
        const a = count();
        await sleep(500);
        assert.equal(count(), a, 'counter frozen while paused');
        const res = ctr(['tasks', 'resume', id]);
        assert.equal(res.status, 0, show(res, rt));
        await waitFor(() => count() > a + 2, 5000, 'counter moving again');
      } finally {
        await remove(id);
      }
    });

    scenario(rt, 'ps (runtime ps --format json) and metrics', async () => {
      const { id, pid } = await ctrRunDetached([], sh('sleep 1000 & sleep 999 & wait'));
      try {
        await sleep(300);
        const ps = ctr(['tasks', 'ps', id]);
        assert.equal(ps.status, 0, show(ps, rt));
        const pids = ps.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => Number(l.split(/\s+/)[0]));
        assert.ok(pids.includes(pid), show(ps, rt));
        assert.equal(pids.length, 3, show(ps, rt));
        const m = ctr(['tasks', 'metrics', '--format', 'json', id]);
        assert.equal(m.status, 0, show(m, rt));
        const j = JSON.parse(m.stdout);
        assert.ok((j.memory?.usage?.usage ?? j.memory?.usage) > 0, m.stdout.slice(0, 500));
        assert.equal(j.pids?.current, 3, m.stdout.slice(0, 500));
      } finally {
        await remove(id);
      }
    });

    scenario(rt, 'shared pid namespace (--with-ns)', async () => {
      const a = await ctrRunDetached([], ['sleep', '1001']);
      try {
        const r = ctrRun(
          ['--with-ns', `pid:/proc/${a.pid}/ns/pid`],
          sh('ps -o pid,args; readlink /proc/self/ns/pid'),
        );
        assert.match(r.stdout, /\n\s*1 sleep 1001/, show(r, rt));
        assert.equal(r.stdout.trim().split('\n').pop(), fs.readlinkSync(`/proc/${a.pid}/ns/pid`));
      } finally {
        await remove(a.id);
      }
    });

    scenario(rt, 'host network (--net-host)', () => {
      const r = ctrRun(['--net-host'], ['readlink', '/proc/self/ns/net']);
      assert.equal(r.stdout.trim(), fs.readlinkSync('/proc/self/ns/net'), show(r, rt));
      const own = ctrRun([], ['readlink', '/proc/self/ns/net']);
      assert.notEqual(own.stdout.trim(), fs.readlinkSync('/proc/self/ns/net'));
    });

    scenario(rt, 'host pid namespace: kill --all reaches every process', async () => {
      const marker = `99${Math.floor(Math.random() * 1e5)}`;
      const { id, pid } = await ctrRunDetached(
        ['--with-ns', `pid:/proc/${process.pid}/ns/pid`],
        sh(`sleep ${marker}1 & sleep ${marker}2 & wait`),
      );
      try {
        await waitFor(() => pidsWithCmdline(`sleep\0${marker}`).length === 2, 5000, 'children');
        assert.equal(ctr(['tasks', 'kill', '--all', '-s', 'SIGKILL', id]).status, 0);
        await waitFor(
          () => !alive(pid) && pidsWithCmdline(`sleep\0${marker}`).length === 0,
          5000,
          'all killed',
        );
      } finally {
        await remove(id);
        await stopPids(pidsWithCmdline(`sleep\0${marker}`));
      }
    });

    scenario(rt, "user namespace (--uidmap): ctr runs the runc in the shim's PATH", () => {
      const r = ctrRun(
        ['--uidmap', '0:200000:65536', '--gidmap', '0:200000:65536'],
        sh('cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -ln /bin/busybox; touch /tmp/x && echo ok'),
        { timeout: 120_000 },
      );
      assert.equal(r.status, 0, show(r, rt));
      const maps = r.stdout.trim().split('\n');
      assert.match(maps[0] ?? '', /^\s*0\s+200000\s+65536$/);
      assert.match(maps[1] ?? '', /^\s*0\s+200000\s+65536$/);
      assert.equal(maps[2], '0');
      assert.match(r.stdout, / 0 +0 .*\/bin\/busybox/, 'files owned by (mapped) root');
      assert.match(r.stdout, /\nok\n$/);
      assert.match(
        fs.readFileSync(rt.log, 'utf8'),
        new RegExp(`create .*--bundle \\S*/${r.id} `),
        'the shim ran the runtime under test',
      );
    });

    scenario(rt, 'masked and read-only paths', () => {
      const r = ctrRun(
        [],
        sh(
          'wc -c < /proc/timer_list; wc -c < /proc/keys; ls /proc/acpi | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>&1; echo rc=$?',
        ),
      );
      assert.match(r.stdout, /^0\n0\n0\n.*Read-only file system\nrc=1\n$/, show(r, rt));
    });

    scenario(rt, "--no-pivot: ctr runs the runc in the shim's PATH", () => {
      const r = ctrRun(['--no-pivot'], sh('cat /proc/self/cgroup >/dev/null; ls /; echo ok'));
      assert.equal(r.status, 0, show(r, rt));
      assert.match(r.stdout, /^bin\n[\s\S]*\nok\n$/, show(r, rt));
      assert.match(
        fs.readFileSync(rt.log, 'utf8'),
        new RegExp(
          `create .*--no-pivot .*--bundle \\S*/${r.id} |create .*--bundle \\S*/${r.id} .*--no-pivot`,
        ),
        'the runtime got --no-pivot',
      );
    });

    scenario(rt, 'device (--device)', () => {
      const r = ctrRun(['--device', '/dev/fuse'], sh('ls -l /dev/fuse; : < /dev/fuse 2>&1; echo rc=$?'));
      assert.match(r.stdout, /^crw.* 10, *229 .*\/dev\/fuse/, show(r, rt));
    });

    scenario(
      rt,
      'privileged',
      { skip: "this machine's root lacks CAP_SYS_RESOURCE: --privileged fails for every runtime" },
      () => {},
    );

    scenario(rt, 'delete leaves nothing: process, cgroup, mounts, runtime state', async () => {
      const { id, pid } = await ctrRunDetached([], ['sleep', '1000']);
      assert.ok(cgroupDirs(`${CG}/${id}`).length > 0, 'the container has a cgroup');
      assert.ok(fs.existsSync(path.join(RUNC_ROOT, NS, id)), `state under ${RUNC_ROOT}/${NS}`);
      assert.ok(readCgroupFile('memory', `${CG}/${id}`, 'cgroup.procs')?.split('\n').includes(String(pid)));
      await remove(id);
      await waitFor(() => !alive(pid), 5000, 'process gone');
      assert.deepEqual(cgroupDirs(`${CG}/${id}`), [], 'cgroup removed');
      assert.deepEqual(mountsMentioning(`/${id}/`), [], 'no mount left');
      assert.equal(fs.existsSync(path.join(RUNC_ROOT, NS, id)), false, 'runtime state removed');
    });
  },
);
