/**
 * The scenarios podman and Docker share (their `run`, `exec`, `stop`, ...
 * take the same flags). Each one checks what the process inside the
 * container sees, or what the host sees of it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  alive,
  cgroupDirs,
  inPty,
  mebibyte,
  mountsMentioning,
  pidsWithCmdline,
  procCgroups,
  readCgroupFile,
  run,
  shellQuote,
  WAIT_WINSIZE,
  show,
  sleep,
  stopPids,
  waitFor,
  type Result,
  type RunOpts,
  type Runtime,
} from './common.js';
import { scenario, type ScenarioOpts } from './scenario.js';

export interface Client {
  name: 'podman' | 'docker';
  rt: Runtime;
  /** Temp dir for bind sources and the like. */
  base: string;
  /** The client's command line up to the subcommand: [binary, ...global flags]. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  image: string;
  /** Flags every `run` gets (cgroup parent, ...). */
  runFlags: string[];
  /** Per-scenario runts todo reasons and machine skips, by scenario name. */
  notes?: Record<string, ScenarioOpts>;
}

const sh = (script: string) => ['sh', '-c', script];

export function dockerLikeScenarios(k: Client): void {
  const { rt } = k;
  let n = 0;
  const c = (args: string[], opts: RunOpts = {}): Result =>
    run(k.argv[0] ?? assert.fail('no client command'), [...k.argv.slice(1), ...args], {
      env: k.env,
      cwd: k.base,
      ...opts,
    });
  /** k.runFlags, less an option that `flags` gives itself (e.g. --network). */
  const base = (flags: string[]) => {
    const out: string[] = [];
    for (let i = 0; i < k.runFlags.length; i++) {
      const f = k.runFlags[i] ?? assert.fail(`runFlags[${i}]`);
      const takesValue = i + 1 < k.runFlags.length && !k.runFlags[i + 1]?.startsWith('-');
      if (!flags.includes(f))
        out.push(f, ...(takesValue ? [k.runFlags[i + 1] ?? assert.fail(`runFlags[${i + 1}]`)] : []));
      if (takesValue) i++;
    }
    return out;
  };
  const runRm = (flags: string[], cmd: string[], opts: RunOpts = {}) =>
    c(['run', '--rm', ...base(flags), ...flags, k.image, ...cmd], opts);
  const name = () => `rts-${k.name}-${++n}`;
  const inspect = (id: string, fmt: string) => c(['inspect', '--format', fmt, id]).stdout.trim();
  const cmdline = (args: string[]) => shellQuote([...k.argv, ...args]);

  /** `run -d`; returns the name and the container's host PID once running. */
  async function runD(flags: string[], cmd: string[]): Promise<{ id: string; pid: number }> {
    const id = name();
    const r = c(['run', '-d', '--name', id, ...base(flags), ...flags, k.image, ...cmd]);
    assert.equal(r.status, 0, show(r, rt));
    const pid = await waitFor(
      () => {
        const p = Number(inspect(id, '{{.State.Pid}}'));
        return p > 0 && alive(p) ? p : 0;
      },
      15_000,
      `${id} running`,
    );
    return { id, pid };
  }
  const rmf = (id: string) =>
    c(['rm', '-f', ...(k.name === 'podman' ? ['-t', '0'] : []), id], { timeout: 60_000 });
  const hostDir = (p: string) => {
    const d = fs.mkdtempSync(path.join(k.base, `${p}-`));
    fs.chmodSync(d, 0o777);
    return d;
  };
  const S = (nm: string, fn: () => void | Promise<void>) => scenario(rt, nm, k.notes?.[nm] ?? {}, fn);

  S('output and exit status 0', () => {
    const r = runRm([], sh('echo hello; exit 0'));
    assert.equal(r.status, 0, show(r, rt));
    assert.equal(r.stdout, 'hello\n');
  });

  S('exit status 42', () => {
    const r = runRm([], sh('echo before; exit 42'));
    assert.equal(r.status, 42, show(r, rt));
    assert.equal(r.stdout, 'before\n');
  });

  S('killed: 137', async () => {
    const { id } = await runD([], ['sleep', '1000']);
    try {
      const kill = c(['kill', id]);
      assert.equal(kill.status, 0, show(kill, rt));
      const w = c(['wait', id]);
      assert.equal(w.stdout.trim(), '137', show(w, rt));
      assert.equal(inspect(id, '{{.State.ExitCode}}'), '137');
    } finally {
      rmf(id);
    }
  });

  S("missing command: 127, from the runtime's json log", () => {
    const r = runRm([], ['/no/such/command']);
    assert.equal(r.status, 127, show(r, rt));
    assert.match(r.stderr, /\/no\/such\/command/);
    assert.match(r.stderr, /no such file or directory|not found/i, show(r, rt));
  });

  S('non-executable command: 126', () => {
    const r = runRm([], ['/etc/notexec/script']);
    assert.equal(r.status, 126, show(r, rt));
    assert.match(r.stderr, /permission denied/i, show(r, rt));
  });

  S('env', () => {
    const r = runRm(
      ['-e', 'GREETING=hi there', '-e', 'EMPTY='],
      sh('echo "[$GREETING][$EMPTY][${EMPTY+set}]"; echo $PATH'),
    );
    assert.equal(r.status, 0, show(r, rt));
    assert.equal(
      r.stdout,
      '[hi there][][set]\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
    );
  });

  S('workdir', () => {
    const r = runRm(['-w', '/home/tester'], ['pwd']);
    assert.equal(r.stdout, '/home/tester\n', show(r, rt));
  });

  S('user and groups', () => {
    const a = runRm(['-u', '1000:1000'], ['id']);
    assert.match(a.stdout, /^uid=1000\(tester\) gid=1000\(tester\)/, show(a, rt));
    const b = runRm(
      ['-u', 'nobody', '--group-add', '1000'],
      sh('id -un; id -G; touch /x 2>&1 | grep -c denied'),
    );
    assert.equal(b.stdout, 'nobody\n65534 1000\n1\n', show(b, rt));
  });

  S('hostname', () => {
    const r = runRm(['--hostname', 'box-one'], sh('hostname; echo $(cat /etc/hostname)'));
    assert.equal(r.stdout, 'box-one\nbox-one\n', show(r, rt));
  });

  S('read-only rootfs', () => {
    const r = runRm(['--read-only'], sh('touch /x 2>&1; echo rc=$?; grep " / " /proc/mounts'));
    assert.match(r.stdout, /Read-only file system\nrc=1\n/, show(r, rt));
    assert.match(r.stdout.split('\n').find((l) => / \/ /.test(l)) ?? '', /\bro\b/);
  });

  S('bind volumes (rw, ro) and tmpfs', () => {
    const rw = hostDir('rw');
    const ro = hostDir('ro');
    fs.writeFileSync(path.join(rw, 'in'), 'from host\n');
    const r = runRm(
      ['-v', `${rw}:/data`, '-v', `${ro}:/ro:ro`, '--tmpfs', '/scratch:size=1m'],
      sh('cat /data/in; echo from container > /data/out; touch /ro/x 2>&1; grep " /scratch " /proc/mounts'),
    );
    assert.equal(r.status, 0, show(r, rt));
    assert.match(r.stdout, /^from host\n.*Read-only file system\n/, show(r, rt));
    assert.match(r.stdout, /tmpfs \/scratch tmpfs .*size=1024k/, show(r, rt));
    assert.equal(fs.readFileSync(path.join(rw, 'out'), 'utf8'), 'from container\n');
    assert.equal(fs.existsSync(path.join(ro, 'x')), false);
  });

  S('cap-drop and cap-add', () => {
    const drop = runRm(['--cap-drop', 'CHOWN'], sh('touch /tmp/f; chown 1000 /tmp/f 2>&1; echo rc=$?'));
    assert.match(drop.stdout, /Operation not permitted\nrc=1/, show(drop, rt));
    const add = runRm(
      ['--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined'],
      sh('grep CapEff /proc/self/status; mkdir /m && mount -t tmpfs none /m && echo mounted'),
    );
    assert.match(add.stdout, /mounted/, show(add, rt));
    assert.ok(
      BigInt('0x' + add.stdout.match(/CapEff:\s*([0-9a-f]+)/)![1]!) & (1n << 21n),
      'CAP_SYS_ADMIN effective',
    );
    const def = runRm([], sh('grep CapBnd /proc/self/status'));
    assert.equal(
      BigInt('0x' + def.stdout.match(/CapBnd:\s*([0-9a-f]+)/)![1]!) & (1n << 21n),
      0n,
      'no CAP_SYS_ADMIN by default',
    );
  });

  scenario(
    rt,
    'privileged',
    { skip: "this machine's root lacks CAP_SYS_RESOURCE: --privileged fails for every runtime" },
    () => {},
  );

  S('device', () => {
    const r = runRm(
      ['--device', '/dev/fuse:/dev/myfuse'],
      sh('ls -l /dev/myfuse; : < /dev/myfuse 2>&1 | grep -c "not permitted"'),
    );
    assert.match(r.stdout, /^crw.* 10, *229 .*\/dev\/myfuse\n0\n$/, show(r, rt));
    const none = runRm([], sh(': < /dev/fuse 2>&1'));
    assert.match(none.stdout + none.stderr, /no such file|not permitted/i, 'no /dev/fuse by default');
  });

  S('seccomp: default profile, unconfined, custom', () => {
    const def = runRm([], ['grep', 'Seccomp:', '/proc/self/status']);
    assert.match(def.stdout, /Seccomp:\s*2\n/, show(def, rt));
    const unc = runRm(['--security-opt', 'seccomp=unconfined'], ['grep', 'Seccomp:', '/proc/self/status']);
    assert.match(unc.stdout, /Seccomp:\s*0/, show(unc, rt));
    const prof = path.join(k.base, 'seccomp.json');
    fs.writeFileSync(
      prof,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    const cus = runRm(
      ['--security-opt', `seccomp=${prof}`],
      sh('mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touched'),
    );
    assert.match(cus.stdout, /Operation not permitted\nrc=1\ntouched/, show(cus, rt));
  });

  S('no-new-privileges', () => {
    const a = runRm(['--security-opt', 'no-new-privileges'], ['grep', 'NoNewPrivs', '/proc/self/status']);
    assert.match(a.stdout, /NoNewPrivs:\s*1/, show(a, rt));
    const b = runRm([], ['grep', 'NoNewPrivs', '/proc/self/status']);
    assert.match(b.stdout, /NoNewPrivs:\s*0/, show(b, rt));
  });

  S('masked and read-only paths', () => {
    // (this kernel has no /proc/kcore; /proc/timer_list and /proc/keys are masked by both clients)
    const r = runRm(
      [],
      sh(
        'wc -c < /proc/timer_list; wc -c < /proc/keys; ls /proc/acpi | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>&1; echo rc=$?',
      ),
    );
    assert.match(r.stdout, /^0\n0\n0\n.*Read-only file system\nrc=1\n$/, show(r, rt));
  });

  S('sysctl', () => {
    const r = runRm(
      ['--sysctl', 'net.ipv4.ip_unprivileged_port_start=99', '--sysctl', 'kernel.shm_rmid_forced=1'],
      sh('cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced'),
    );
    assert.equal(r.stdout, '99\n1\n', show(r, rt));
  });

  S('ulimits', () => {
    const r = runRm(
      ['--ulimit', 'nofile=1024:2048', '--ulimit', 'nproc=500:600'],
      sh('ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu'),
    );
    assert.equal(r.stdout, '1024\n2048\n500\n600\n', show(r, rt));
  });

  S('oom-score-adj', () => {
    const r = runRm(['--oom-score-adj', '432'], ['cat', '/proc/self/oom_score_adj']);
    assert.equal(r.stdout, '432\n', show(r, rt));
  });

  S('memory limit and OOM kill', () => {
    const lim = runRm(
      ['-m', '32m', '--memory-swap', '32m'],
      ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'],
    );
    assert.equal(lim.stdout.trim(), String(32 << 20), show(lim, rt));
    const id = name();
    const r = c(
      ['run', '--name', id, ...k.runFlags, '-m', '32m', '--memory-swap', '32m', k.image, 'tail', '/dev/zero'],
      { timeout: 60_000 },
    );
    try {
      assert.equal(r.status, 137, show(r, rt));
      // podman 4.3 learns of the OOM kill from conmon, and not reliably on cgroup v1
      if (k.name === 'docker') assert.equal(inspect(id, '{{.State.OOMKilled}}'), 'true');
    } finally {
      rmf(id);
    }
  });

  S('pids limit', () => {
    // builtins only once the limit is reached (no fork left for cat or grep)
    const r = runRm(
      ['--pids-limit', '10'],
      sh(
        'cat /sys/fs/cgroup/pids/pids.max; sh -c \'for i in $(seq 15); do sleep 2 & done; echo all-started\' > /tmp/o 2>&1; while read -r l; do echo "$l"; done < /tmp/o',
      ),
    );
    assert.match(r.stdout, /^10\n[\s\S]*can't fork/, show(r, rt));
    assert.doesNotMatch(r.stdout, /all-started/);
  });

  S('cpu and cpuset', () => {
    const r = runRm(
      ['--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0'],
      sh(
        'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares; grep Cpus_allowed_list /proc/self/status',
      ),
    );
    assert.equal(r.stdout, '50000\n100000\n512\nCpus_allowed_list:\t0\n', show(r, rt));
  });

  S('blkio throttle', () => {
    const dev = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/')!
      .split(' ')[2];
    const src = fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[1] === '/')!
      .split(' ')[0];
    const r = runRm(
      [`--device-read-bps=${src}:1mb`, `--device-write-iops=${src}:100`],
      sh(
        'cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device',
      ),
    );
    assert.equal(r.stdout, `${dev} 1048576\n${dev} 100\n`, show(r, rt));
  });

  S('terminal: run -t and -it, driven with script', () => {
    const t = inPty(
      `stty cols 91 rows 27; ${cmdline(['run', '--rm', '-t', ...k.runFlags, k.image, 'sh', '-c', `tty; ${WAIT_WINSIZE}; echo $s`])}`,
      { env: k.env, cwd: k.base },
    );
    assert.equal(t.status, 0, show(t, rt));
    assert.match(t.stdout, /\/dev\/pts\/0\r*\n27 91/, show(t, rt));
    const it = inPty(
      cmdline(['run', '--rm', '-it', ...k.runFlags, k.image, 'sh', '-c', 'read x; echo "got:$x"; exit 3']),
      { input: 'hello\n', env: k.env, cwd: k.base },
    );
    assert.equal(it.status, 3, show(it, rt));
    assert.match(it.stdout, /got:hello/, show(it, rt));
  });

  S('stdin: -i with 1 MiB piped, byte-exact', () => {
    const data = mebibyte();
    const r = runRm(['-i'], ['cat'], { input: data });
    assert.equal(r.status, 0, show(r, rt));
    assert.equal(r.out.length, data.length);
    assert.ok(r.out.equals(data), 'stdout equals stdin');
  });

  S('500 env vars and a 100,000-character argument', () => {
    const env = Array.from({ length: 500 }, (_, i) => ['-e', `V${i}=value-${i}`]).flat();
    const r = runRm(env, ['sh', '-c', 'echo ${#1} $V0 $V499; env | grep -c ^V', 'sh', 'a'.repeat(100_000)]);
    assert.equal(r.stdout, '100000 value-0 value-499\n500\n', show(r, rt));
  });

  S('no file descriptor leaks into the container', async () => {
    const { id, pid } = await runD([], ['sleep', '1000']);
    try {
      const fds = fs.readdirSync(`/proc/${pid}/fd`).sort();
      const what = fds.map((f) => `${f} -> ${fs.readlinkSync(`/proc/${pid}/fd/${f}`)}`).join(', ');
      assert.deepEqual(fds, ['0', '1', '2'], what);
    } finally {
      rmf(id);
    }
  });

  S('run -d, then exec: output, exit status, -u, -w, -e, -t', async () => {
    const { id } = await runD([], ['sleep', '1000']);
    try {
      const a = c(['exec', id, 'sh', '-c', 'echo exec-out; exit 3']);
      assert.equal(a.status, 3, show(a, rt));
      assert.equal(a.stdout, 'exec-out\n');
      assert.match(c(['exec', '-u', '1000', id, 'id']).stdout, /^uid=1000\(tester\)/);
      assert.equal(c(['exec', '-w', '/etc', id, 'pwd']).stdout, '/etc\n');
      assert.equal(c(['exec', '-e', 'X=y z', id, 'sh', '-c', 'echo "$X"']).stdout, 'y z\n');
      const ps = c(['exec', id, 'ps', '-o', 'pid,args']);
      assert.match(ps.stdout, /\n\s*1 sleep 1000\n/, show(ps, rt));
      const t = inPty(cmdline(['exec', '-t', id, 'tty']), { env: k.env, cwd: k.base });
      assert.match(t.stdout, /\/dev\/pts\/\d+/, show(t, rt));
      const miss = c(['exec', id, '/no/such']);
      // podman maps the runtime's error to 127; docker 20.10 says 126 for any exec failure
      assert.equal(miss.status, k.name === 'podman' ? 127 : 126, show(miss, rt));
      assert.match(miss.stdout + miss.stderr, /no such file/i, show(miss, rt));
    } finally {
      rmf(id);
    }
  });

  S('stop: SIGTERM trapped, exit status from the trap', async () => {
    const { id } = await runD(
      [],
      sh('trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'),
    );
    try {
      await waitFor(() => c(['logs', id]).stdout.includes('ready'), 10_000, 'ready');
      const t0 = Date.now();
      const s = c(['stop', '-t', '20', id]);
      assert.equal(s.status, 0, show(s, rt));
      assert.ok(Date.now() - t0 < 10_000, 'stopped by SIGTERM, not after the timeout');
      assert.equal(inspect(id, '{{.State.ExitCode}}'), '7');
      assert.match(c(['logs', id]).stdout, /ready\ngot TERM\n/);
    } finally {
      rmf(id);
    }
  });

  S('kill with a signal', async () => {
    const { id } = await runD([], sh('trap "echo got USR1" USR1; echo ready; while :; do sleep 0.1; done'));
    try {
      await waitFor(() => c(['logs', id]).stdout.includes('ready'), 10_000, 'ready');
      assert.equal(c(['kill', '-s', 'USR1', id]).status, 0);
      await waitFor(() => c(['logs', id]).stdout.includes('got USR1'), 5000, 'USR1 trapped');
      assert.equal(inspect(id, '{{.State.Running}}'), 'true');
    } finally {
      rmf(id);
    }
  });

  S('pause and unpause: a counter stops, then moves', async () => {
    const host = hostDir('count');
    const file = path.join(host, 'n');
    const { id } = await runD(
      ['-v', `${host}:/out`],
      sh('i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done'),
    );
    const count = () => Number(fs.readFileSync(file, 'utf8') || 0);
    try {
      await waitFor(() => fs.existsSync(file) && count() > 2, 10_000, 'counter');
      const p = c(['pause', id]);
      assert.equal(p.status, 0, show(p, rt));
      assert.equal(inspect(id, '{{.State.Status}}'), 'paused');
      await sleep(300);
      const a = count();
      await sleep(500);
      assert.equal(count(), a, 'counter frozen while paused');
      const u = c(['unpause', id]);
      assert.equal(u.status, 0, show(u, rt));
      await waitFor(() => count() > a + 2, 5000, 'counter moving again');
    } finally {
      rmf(id);
    }
  });

  S('top and ps', async () => {
    const { id } = await runD([], sh('sleep 1001 & sleep 1002 & wait'));
    try {
      await sleep(300);
      const top = c(['top', id]);
      assert.equal(top.status, 0, show(top, rt));
      assert.match(top.stdout, /sleep 1001/, show(top, rt));
      assert.match(top.stdout, /sleep 1002/);
      const ps = c(['ps', '--filter', `name=${id}`, '--format', '{{.Names}} {{.Status}}']);
      assert.match(ps.stdout, new RegExp(`${id} Up`), show(ps, rt));
    } finally {
      rmf(id);
    }
  });

  S('stats', async () => {
    const { id } = await runD(['-m', '64m'], ['sleep', '1000']);
    try {
      const s = c(['stats', '--no-stream', '--format', '{{.MemUsage}}|{{.PIDs}}', id], { timeout: 30_000 });
      assert.equal(s.status, 0, show(s, rt));
      const [mem = '', pids] = s.stdout.trim().split('|');
      assert.match(mem, /^[1-9][\d.]*\s*[kKMG]i?B \/ (64\s*MiB|67\.1\d*\s*MB)$/, show(s, rt));
      assert.equal(pids, '1');
    } finally {
      rmf(id);
    }
  });

  S('update memory, cpu (and pids) of a running container', async () => {
    const { id, pid } = await runD(['-m', '64m', '--memory-swap', '128m'], ['sleep', '1000']);
    try {
      const args = ['update', '-m', '96m', '--memory-swap', '192m', '--cpus', '0.5'];
      if (k.name === 'docker') args.push('--pids-limit', '50');
      const u = c([...args, id]);
      assert.equal(u.status, 0, show(u, rt));
      const cg = procCgroups(pid);
      assert.equal(
        readCgroupFile('memory', cg.memory ?? assert.fail('no memory cgroup'), 'memory.limit_in_bytes'),
        String(96 << 20),
      );
      assert.equal(
        readCgroupFile(
          'cpu',
          cg['cpu,cpuacct'] ?? cg.cpu ?? assert.fail('no cpu cgroup'),
          'cpu.cfs_quota_us',
        ),
        '50000',
      );
      if (k.name === 'docker')
        assert.equal(readCgroupFile('pids', cg.pids ?? assert.fail('no pids cgroup'), 'pids.max'), '50');
      // and the process inside sees it
      assert.equal(
        c(['exec', id, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']).stdout.trim(),
        String(96 << 20),
      );
    } finally {
      rmf(id);
    }
  });

  S('restart', async () => {
    const { id, pid } = await runD([], sh('echo started >> /tmp/boots; sleep 1000'));
    try {
      const r = c(['restart', '-t', '1', id], { timeout: 60_000 });
      assert.equal(r.status, 0, show(r, rt));
      const pid2 = await waitFor(() => Number(inspect(id, '{{.State.Pid}}')), 10_000, 'running again');
      assert.notEqual(pid2, pid);
      assert.equal(c(['exec', id, 'cat', '/tmp/boots']).stdout, 'started\nstarted\n');
    } finally {
      rmf(id);
    }
  });

  S('rm leaves nothing: process, cgroup, mounts, runtime state', async () => {
    const { id, pid } = await runD([], ['sleep', '1000']);
    const full = inspect(id, '{{.Id}}');
    const cg = procCgroups(pid).memory ?? assert.fail('no memory cgroup');
    assert.ok(cgroupDirs(cg).length > 0, 'the container has a cgroup');
    const calls = fs
      .readFileSync(rt.log, 'utf8')
      .split('\n')
      .filter((l) => / create /.test(l) && l.endsWith(` ${full}`));
    assert.equal(calls.length, 1, 'one create call for the container');
    // podman passes no --root: the runtime's default
    const root = calls[0]?.match(/--root[ =](\S+)/)?.[1] ?? (rt.isRunts ? '/run/runts' : '/run/runc');
    assert.ok(fs.existsSync(path.join(root, full)), `state in ${root}`);
    const r = rmf(id);
    assert.equal(r.status, 0, show(r, rt));
    await waitFor(() => !alive(pid), 5000, 'process gone');
    assert.deepEqual(cgroupDirs(cg), [], 'cgroup removed');
    assert.deepEqual(mountsMentioning(full), [], 'no mount left');
    assert.equal(fs.existsSync(path.join(root, full)), false, 'runtime state removed');
  });

  S('shared namespaces: --pid, --ipc, --network container:X', async () => {
    const a = await runD(
      ['--ipc', 'shareable'].filter(() => k.name === 'docker'),
      ['sleep', '1003'],
    );
    try {
      const r = runRm(
        ['--pid', `container:${a.id}`, '--ipc', `container:${a.id}`, '--network', `container:${a.id}`],
        sh('ps -o args | grep -c "^sleep 1003"; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net'),
      );
      assert.equal(r.status, 0, show(r, rt));
      const [count, ipc, net] = r.stdout.trim().split('\n');
      assert.equal(count, '1', show(r, rt));
      assert.equal(ipc, fs.readlinkSync(`/proc/${a.pid}/ns/ipc`));
      assert.equal(net, fs.readlinkSync(`/proc/${a.pid}/ns/net`));
    } finally {
      rmf(a.id);
    }
  });

  S('--init', () => {
    const r = runRm(['--init'], ['ps', '-o', 'pid,args']);
    assert.equal(r.status, 0, show(r, rt));
    assert.match(r.stdout, /\n\s*1 \S*(catatonit|podman-init|docker-init|tini)/, show(r, rt));
  });

  S('--cgroupns private', () => {
    const r = runRm(['--cgroupns', 'private'], ['cat', '/proc/self/cgroup']);
    assert.equal(r.status, 0, show(r, rt));
    for (const l of r.stdout.trim().split('\n')) assert.match(l, /:\/$/, show(r, rt));
  });

  S('host pid namespace: stop reaches every process', async () => {
    const marker = `88${Math.floor(Math.random() * 1e5)}`;
    const { id, pid } = await runD(['--pid', 'host'], sh(`sleep ${marker}1 & sleep ${marker}2 & wait`));
    try {
      await waitFor(() => pidsWithCmdline(`sleep\0${marker}`).length === 2, 5000, 'children');
      const s = c(['stop', '-t', '1', id], { timeout: 60_000 });
      assert.equal(s.status, 0, show(s, rt));
      await waitFor(
        () => !alive(pid) && pidsWithCmdline(`sleep\0${marker}`).length === 0,
        10_000,
        'all gone',
      );
    } finally {
      rmf(id);
      await stopPids(pidsWithCmdline(`sleep\0${marker}`));
    }
  });
}
