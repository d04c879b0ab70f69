/**
 * Process security on real containers: seccomp (actions, argument
 * conditions, flags, podman's default profile, a notify agent),
 * capabilities, AppArmor/SELinux labels (absent on this kernel: runc's
 * behaviour, and the label writers against a stand-in for procfs),
 * personality, scheduler, I/O priority, oom_score_adj, the session keyring,
 * and the host leaks behind runc's CVEs (fds and cwd: CVE-2024-21626;
 * /proc/<pid>/exe: CVE-2019-5736; the init's argv and environment).
 *
 * Run as root after `npm run build`.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { containerSuite, runts, runtsAsync, tempDir, RUNTS, ROOT_DIR } from '../helpers.js';
import { ProcfsHandle } from '../../src/linux/procfs.js';
import { enosysStub, wantsEnosysStub } from '../../src/init/seccomp-enosys.js';
import { apparmorEnabled, selinuxEnabled } from '../../src/linux/lsm-detect.js';
import {
  applyApparmorLabel,
  applySelinuxLabel,
  checkLabels,
  formatMountLabel,
  setApparmorExecProfile,
  setSelinuxExecLabel,
  setSelinuxKeyLabel,
} from '../../src/init/lsm.js';
import {
  compileSeccomp,
  listenerPayload,
  SECCOMP_ACTIONS,
  SECCOMP_OPERATORS,
} from '../../src/init/seccomp.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = containerSuite(after, { defaults: (c) => (c.root.readonly = false) });
const { base, root } = suite;
let n = 0;

/** A bundle whose process runs `script` with sh (root writable); `patch` edits the config. */
function bundle(script: string, patch?: (c: Config) => void): string {
  n++; // run() names its container after the last bundle
  return suite.bundle(script, patch);
}

function run(dir: string, id = `sec${n}`, extra: string[] = []) {
  return runts(['--root', root, 'run', ...extra, '--bundle', dir, id]);
}

/** `runts create`: its init keeps the stdio it gets, so give it files, not pipes. */
function create(dir: string, id: string, extra: string[] = []): { status: number | null; stderr: string } {
  const out = path.join(base, `create-out-${++n}`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
  try {
    const r = spawnSync(RUNTS, ['--root', root, 'create', ...extra, '--bundle', dir, id], {
      stdio: ['ignore', fds[0], fds[1]],
      timeout: 30_000,
    });
    return { status: r.status, stderr: fs.readFileSync(`${out}.err`, 'utf8') };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

/** No open fd of process `pid` names a file of runts' own package. */
function assertNoRuntsFile(pid: number): void {
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {}
    assert.ok(!target.startsWith(ROOT_DIR), `fd ${fd} -> ${target}`);
  }
}

function initPid(id: string): number {
  return JSON.parse(runts(['--root', root, 'state', id]).stdout).pid;
}

/**
 * A static x86-64 ELF executable that makes syscall `nr` (no arguments) and
 * exits with the errno it got (0 on success): no compiler needed.
 */
function syscallProbe(nr: number): Buffer {
  const code = Buffer.from([
    0xb8,
    ...u32le(nr), // mov eax, nr
    0x0f,
    0x05, // syscall
    0xf7,
    0xd8, // neg eax
    0x89,
    0xc7, // mov edi, eax
    0xb8,
    0x3c,
    0,
    0,
    0, // mov eax, 60 (exit)
    0x0f,
    0x05, // syscall
  ]);
  const base = 0x400000;
  const ehdr = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(ehdr); // ELF, 64-bit, little-endian, version 1
  ehdr.writeUInt16LE(2, 16); // ET_EXEC
  ehdr.writeUInt16LE(0x3e, 18); // EM_X86_64
  ehdr.writeUInt32LE(1, 20);
  ehdr.writeBigUInt64LE(BigInt(base + 64 + 56), 24); // entry: right after the headers
  ehdr.writeBigUInt64LE(64n, 32); // program headers at 64
  ehdr.writeUInt16LE(64, 52);
  ehdr.writeUInt16LE(56, 54);
  ehdr.writeUInt16LE(1, 56);
  const phdr = Buffer.alloc(56);
  const size = BigInt(64 + 56 + code.length);
  phdr.writeUInt32LE(1, 0); // PT_LOAD
  phdr.writeUInt32LE(5, 4); // R+X
  phdr.writeBigUInt64LE(BigInt(base), 16);
  phdr.writeBigUInt64LE(BigInt(base), 24);
  phdr.writeBigUInt64LE(size, 32);
  phdr.writeBigUInt64LE(size, 40);
  phdr.writeBigUInt64LE(0x1000n, 48);
  return Buffer.concat([ehdr, phdr, code]);
}
function u32le(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
}

const allowAllBut = (syscalls: Config[], extra: Config = {}) => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls,
  ...extra,
});

describe('seccomp', () => {
  test('ERRNO: mkdir fails with exactly EPERM, errnoRet picks another errno, everything else works', () => {
    const r = run(
      bundle(
        'mkdir /tmp/a; echo "mkdir=$?"; chmod 700 /tmp; echo "chmod=$?"; touch /tmp/f && ls /tmp; grep -E "^Seccomp(_filters)?:" /proc/self/status',
        (c) => {
          c.linux.seccomp = allowAllBut([
            { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
            { names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
          ]);
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'mkdir=1\nchmod=1\nf\nSeccomp:\t2\nSeccomp_filters:\t1\n');
    assert.match(r.stderr, /can't create directory '\/tmp\/a': Operation not permitted/);
    assert.match(r.stderr, /chmod.*Permission denied/);
  });

  test('KILL, KILL_THREAD, KILL_PROCESS and TRAP end the process with SIGSYS', async () => {
    const results = await Promise.all(
      ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP'].map((action, i) => {
        const dir = bundle('', (c) => {
          c.process.args = ['/bin/mkdir', '/tmp/x'];
          c.linux.seccomp = allowAllBut([{ names: ['mkdir', 'mkdirat'], action }]);
        });
        return runtsAsync(['--root', root, 'run', '--bundle', dir, `kill-${i}`]).then((r) => ({ action, r }));
      }),
    );
    for (const { action, r } of results) assert.equal(r.status, 128 + 31, `${action}: ${r.stderr}`);
  });

  test('TRACE without a tracer fails the call with ENOSYS; LOG and ALLOW let it through', () => {
    const r = run(
      bundle(
        'mkdir /tmp/a; echo "mkdir=$?"; rmdir /bin; echo "rmdir=$?"; touch /tmp/t; echo "touch=$?"',
        (c) => {
          c.linux.seccomp = {
            defaultAction: 'SCMP_ACT_ALLOW',
            syscalls: [
              { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_TRACE', errnoRet: 5 },
              { names: ['rmdir'], action: 'SCMP_ACT_LOG' },
            ],
          };
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'mkdir=1\nrmdir=1\ntouch=0\n');
    assert.match(r.stderr, /can't create directory '\/tmp\/a': Function not implemented/);
    // rmdir went through to the kernel: /bin is not empty.
    assert.match(r.stderr, /rmdir.*Directory not empty/);
  });

  test('argument conditions: each operator filters only matching calls; several on one argument are ORed (as in runc), on several arguments ANDed', () => {
    // kill(pid, sig) to pids that do not exist: ESRCH when the filter lets
    // the call through, the rule's errno when it matches. Each operator gets
    // a pid of its own (arg 0, SCMP_CMP_EQ) and compares the signal (arg 1)
    // with V. (Rules that differ only in the operator on one argument are
    // merged wrongly by libseccomp 2.5: with runc too.)
    const V = 10;
    const ops: Array<[string, number, number, number?]> = [
      // [operator, pid, errnoRet, valueTwo]
      ['SCMP_CMP_NE', 20001, 2],
      ['SCMP_CMP_LT', 20002, 4],
      ['SCMP_CMP_LE', 20003, 5],
      ['SCMP_CMP_EQ', 20004, 6],
      ['SCMP_CMP_GE', 20005, 7],
      ['SCMP_CMP_GT', 20006, 8],
      ['SCMP_CMP_MASKED_EQ', 20007, 9, V & 0x3],
    ];
    const syscalls: Config[] = ops.map(([op, pid, errnoRet, valueTwo]) => ({
      names: ['kill'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet,
      args: [
        { index: 0, value: pid, op: 'SCMP_CMP_EQ' },
        op === 'SCMP_CMP_MASKED_EQ' ? { index: 1, value: 0x3, valueTwo, op } : { index: 1, value: V, op },
      ],
    }));
    syscalls.push({
      names: ['kill'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 25,
      args: [
        { index: 0, value: 21000, op: 'SCMP_CMP_EQ' },
        { index: 0, value: 22000, op: 'SCMP_CMP_EQ' },
      ],
    });
    const probes: Array<[number, number]> = [];
    for (const [, pid] of ops) for (const sig of [V - 1, V, V + 1]) probes.push([sig, pid]);
    for (const pid of [21000, 21500, 22000]) probes.push([0, pid]);
    const script = probes.map(([sig, pid]) => `kill -${sig} ${pid} 2>&1 | sed 's/.*: //'`).join('; ');
    const r = run(bundle(script, (c) => (c.linux.seccomp = allowAllBut(syscalls))));
    assert.equal(r.status, 0, r.stderr);
    const got = r.stdout.trim().split('\n');
    const NONE = 'No such process';
    const msg: Record<number, string> = {
      2: 'No such file or directory',
      4: 'Interrupted system call',
      5: 'Input/output error',
      6: 'No such device or address',
      7: 'Argument list too long',
      8: 'Exec format error',
      9: 'Bad file descriptor',
      25: 'Inappropriate ioctl for device',
    };
    const match: Record<string, (sig: number) => boolean> = {
      SCMP_CMP_NE: (x) => x !== V,
      SCMP_CMP_LT: (x) => x < V,
      SCMP_CMP_LE: (x) => x <= V,
      SCMP_CMP_EQ: (x) => x === V,
      SCMP_CMP_GE: (x) => x >= V,
      SCMP_CMP_GT: (x) => x > V,
      SCMP_CMP_MASKED_EQ: (x) => (x & 0x3) === (V & 0x3),
    };
    const message = (errno: number): string => msg[errno] ?? assert.fail(`no message for errno ${errno}`);
    const matches = (op: string, sig: number): boolean =>
      (match[op] ?? assert.fail(`no comparison ${op}`))(sig);
    const want: string[] = [];
    for (const [op, , errnoRet] of ops)
      for (const sig of [V - 1, V, V + 1]) want.push(matches(op, sig) ? message(errnoRet) : NONE);
    want.push(message(25), NONE, message(25));
    assert.deepEqual(got, want);
    assert.deepEqual(SECCOMP_OPERATORS, Object.keys(match).sort());
  });

  test('flags, architectures and syscall names libseccomp does not know', () => {
    const r = run(
      bundle('mkdir /tmp/a 2>/dev/null || echo denied; grep -E "^Seccomp:" /proc/self/status', (c) => {
        c.linux.seccomp = allowAllBut(
          [{ names: ['no_such_syscall_at_all', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
          {
            architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
            flags: [
              'SECCOMP_FILTER_FLAG_TSYNC',
              'SECCOMP_FILTER_FLAG_LOG',
              'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
              'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
            ],
          },
        );
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'denied\nSeccomp:\t2\n');
    const empty = run(
      bundle(
        'grep -E "^Seccomp:" /proc/self/status',
        (c) => (c.linux.seccomp = allowAllBut([], { flags: [] })),
      ),
    );
    assert.equal(empty.stdout, 'Seccomp:\t2\n', empty.stderr);
  });

  test('what runc refuses is refused at create, and nothing is left behind', () => {
    const cases: Array<[Config, RegExp]> = [
      [
        allowAllBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }]),
        /SCMP_ACT_NOTIFY needs linux\.seccomp\.listenerPath/,
      ],
      [
        allowAllBut([{ names: ['sendmsg'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: '/nonexistent' }),
        /cannot be used for the sendmsg syscall/,
      ],
      [
        allowAllBut([{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }], {
          listenerPath: path.join(base, 'no-agent.sock'),
        }),
        /failed to connect with seccomp agent/,
      ],
      [
        allowAllBut([], { architectures: ['SCMP_ARCH_LOONGARCH64'] }),
        /architecture SCMP_ARCH_LOONGARCH64 is not supported by libseccomp/,
      ],
      [
        allowAllBut([
          { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_XX' }] },
        ]),
        /args\[0\]\.op/,
      ],
    ];
    for (const [seccomp, re] of cases) {
      const id = `refused-${++n}`;
      const r = run(
        bundle('echo ran', (c) => (c.linux.seccomp = seccomp)),
        id,
      );
      assert.equal(r.status, 1, `${JSON.stringify(seccomp)}: ${r.stdout}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
      assert.equal(fs.existsSync(path.join(root, id)), false);
    }
  });

  test("the compiled program: runc's rule shapes, skipped names, and the features lists", () => {
    const c = compileSeccomp({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [
        { names: ['read', 'write', 'bogus_call'], action: 'SCMP_ACT_ALLOW' },
        // Same as the default action: skipped, as runc does (libseccomp would refuse it).
        { names: ['open'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    })!;
    assert.deepEqual(c.skipped, ['bogus_call']);
    assert.equal(c.notify, false);
    assert.ok(c.program.instructions > 4);
    assert.equal(compileSeccomp(undefined), undefined);
    assert.deepEqual(SECCOMP_ACTIONS.length, 9);
    const doc = JSON.parse(runts(['features']).stdout).linux.seccomp;
    assert.equal(doc.enabled, true);
    assert.deepEqual(doc.actions, SECCOMP_ACTIONS);
    assert.deepEqual(doc.operators, SECCOMP_OPERATORS);
    assert.ok(
      doc.archs.includes('SCMP_ARCH_X86_64') && !doc.archs.includes('SCMP_ARCH_LOONGARCH64'),
      doc.archs.join(),
    );
    assert.deepEqual(doc.knownFlags, [
      'SECCOMP_FILTER_FLAG_TSYNC',
      'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
      'SECCOMP_FILTER_FLAG_LOG',
      'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
    ]);
    assert.ok(doc.supportedFlags.includes('SECCOMP_FILTER_FLAG_LOG'));
  });

  /** podman's default profile as podman turns it into linux.seccomp (containers/common pkg/seccomp) for x86-64. */
  function podmanProfile(bounding: string[]): Config {
    const p = JSON.parse(
      fs.readFileSync(path.join(ROOT_DIR, 'test/fixtures/seccomp/containers-common-0.50.1.json'), 'utf8'),
    );
    // NaN for a missing part: every comparison with it is false, as with undefined.
    const [major = NaN, minor = NaN] = os.release().split('.').map(Number);
    const kernelAtLeast = (v: string) => {
      const [a = NaN, b = NaN] = v.split('.').map(Number);
      return major > a || (major === a && minor >= b);
    };
    const syscalls: Config[] = [];
    for (const s of p.syscalls) {
      const inc = s.includes ?? {};
      const exc = s.excludes ?? {};
      if (inc.arches?.length && !inc.arches.includes('amd64')) continue;
      if (inc.caps?.length && !inc.caps.every((c: string) => bounding.includes(c))) continue;
      if (inc.minKernel && !kernelAtLeast(inc.minKernel)) continue;
      if (exc.arches?.length && exc.arches.includes('amd64')) continue;
      if (exc.caps?.length && exc.caps.some((c: string) => bounding.includes(c))) continue;
      const rule: Config = { names: s.names ?? [s.name], action: s.action, args: s.args ?? [] };
      if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
      syscalls.push(rule);
    }
    const arch = p.archMap.find((a: Config) => a.architecture === 'SCMP_ARCH_X86_64');
    return {
      defaultAction: p.defaultAction,
      defaultErrnoRet: p.defaultErrnoRet,
      architectures: [arch.architecture, ...arch.subArchitectures],
      syscalls,
    };
  }

  test('unit: the ENOSYS stub, run by a small cBPF interpreter: per architecture, x32 apart, others to the filter', () => {
    const X86_64 = 0xc000003e;
    const I386 = 0x40000003;
    const stub = enosysStub(
      new Map([
        [X86_64, { plain: 450, x32: 0x40000000 | 547 }],
        [I386, { plain: 460 }],
      ]),
    );
    const amd64Only = enosysStub(new Map([[X86_64, { plain: 450 }]]));
    // Returns "ENOSYS" or "filter" (fell through past the stub).
    const runStub = (prog: Buffer, arch: number, nr: number): string => {
      let acc = 0;
      for (let pc = 0; pc < prog.length / 8; pc++) {
        const code = prog.readUInt16LE(8 * pc);
        const jt = prog.readUInt8(8 * pc + 2);
        const jf = prog.readUInt8(8 * pc + 3);
        const k = prog.readUInt32LE(8 * pc + 4);
        if (code === 0x20) acc = k === 4 ? arch : nr;
        else if (code === 0x15) pc += acc === k ? jt : jf;
        else if (code === 0x25) pc += acc > k ? jt : jf;
        else if (code === 0x45) pc += (acc & k) !== 0 ? jt : jf;
        else if (code === 0x05) pc += k;
        else if (code === 0x06) return k === (0x50000 | 38) ? 'ENOSYS' : `ret ${k}`;
        else throw new Error(`opcode ${code}`);
      }
      return 'filter';
    };
    assert.equal(runStub(stub, X86_64, 1000), 'ENOSYS');
    assert.equal(runStub(stub, X86_64, 450), 'filter');
    assert.equal(runStub(stub, X86_64, 39), 'filter');
    assert.equal(runStub(stub, X86_64, 0x40000000 | 548), 'ENOSYS');
    assert.equal(runStub(stub, X86_64, 0x40000000 | 500), 'filter');
    assert.equal(runStub(stub, I386, 461), 'ENOSYS');
    assert.equal(runStub(stub, I386, 455), 'filter');
    assert.equal(runStub(stub, 0xc00000b7 /* aarch64: not in the profile */, 5000), 'filter');
    assert.equal(
      runStub(amd64Only, X86_64, 0x40000000 | 9999),
      'filter',
      "x32 not listed: the filter's bad-arch action",
    );
    assert.equal(enosysStub(new Map()).length, 0);
    assert.equal(wantsEnosysStub('SCMP_ACT_ERRNO', 1), true);
    assert.equal(wantsEnosysStub('SCMP_ACT_ERRNO', 38), false);
    assert.equal(wantsEnosysStub('SCMP_ACT_ALLOW', undefined), false);
    assert.equal(wantsEnosysStub('SCMP_ACT_KILL', undefined), true);
  });

  test("a syscall number beyond the profile's highest fails with ENOSYS, as under runc; a known one gets the default errno", () => {
    // podman's profile with Docker's default errno (EPERM; podman's own is ENOSYS). /probeN makes
    // syscall N and exits with the errno it got: 1000 is beyond the profile, 400 unassigned within it.
    const patch = (c: Config, dir: string) => {
      c.linux.seccomp = { ...podmanProfile(c.process.capabilities.bounding), defaultErrnoRet: 1 };
      for (const nr of [1000, 400]) {
        fs.writeFileSync(path.join(dir, 'rootfs', `probe${nr}`), syscallProbe(nr), { mode: 0o755 });
      }
    };
    const script = 'for n in 1000 400; do /probe$n; echo "$n=$?"; done';
    const dir = suite.bundle(script, patch);
    const r = run(dir, 'enosys');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.stdout.trim().split('\n'),
      ['1000=38', '400=1'],
      'ENOSYS beyond the profile, EPERM within',
    );
    if (fs.existsSync('/usr/sbin/runc')) {
      const theirs = spawnSync(
        '/usr/sbin/runc',
        ['--root', path.join(base, 'runc-enosys'), 'run', '--bundle', dir, 'runc-enosys'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(theirs.stdout, r.stdout, theirs.stderr);
    }
  });

  test("podman's default profile runs a busybox shell: with and without no_new_privs, and in a user namespace", () => {
    const script =
      'echo hello; ls / | wc -l; mkdir /tmp/d && rmdir /tmp/d && echo dirs; ps -o pid,comm | wc -l; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr "\\n\\t" "  "; echo';
    const variants: Array<[string, (c: Config) => void, string]> = [
      ['nnp', (c) => (c.process.noNewPrivileges = true), 'NoNewPrivs: 1'],
      ['no-nnp', (c) => (c.process.noNewPrivileges = false), 'NoNewPrivs: 0'],
      [
        'userns',
        (c) => {
          c.process.noNewPrivileges = false;
          c.linux.namespaces.push({ type: 'user' });
          c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        },
        'NoNewPrivs: 0',
      ],
    ];
    for (const [name, patch, nnp] of variants) {
      const r = run(
        bundle(script, (c) => {
          patch(c);
          c.linux.seccomp = podmanProfile(c.process.capabilities.bounding);
        }),
        `podman-${name}`,
      );
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], 'hello', name);
      assert.ok(Number(lines[1]) >= 5, name);
      assert.equal(lines[2], 'dirs', name);
      assert.ok(Number(lines[3]) >= 2, name);
      assert.match(
        lines[4] ?? '',
        new RegExp(`^NoNewPrivs:\\s+${nnp.slice(-1)}\\s+Seccomp:\\s+2\\s*$`),
        name,
      );
    }
  });

  test('a notify agent gets the listener fd and the state, and answers a syscall for the container', async () => {
    const sock = path.join(base, 'agent.sock');
    const agent = spawn('python3', [path.join(ROOT_DIR, 'test/fixtures/seccomp/agent.py'), sock, '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    agent.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    agent.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const exited = new Promise<number | null>((resolve) => agent.on('close', resolve));
    try {
      for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 25));
      assert.match(out, /ready/, err);
      const id = 'notified';
      const dir = bundle('', (c) => {
        c.process.args = ['/bin/mkdir', '/tmp/agent'];
        c.annotations = { 'org.example/key': 'value' };
        c.linux.seccomp = allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], {
          listenerPath: sock,
          listenerMetadata: 'meta-data',
        });
      });
      const r = await runtsAsync(['--root', root, 'run', '--bundle', dir, id]);
      assert.equal(r.status, 0, r.stderr);
      // The agent said "success" without making the directory.
      assert.equal(r.stdout + r.stderr, '');
      assert.equal(fs.existsSync(path.join(dir, 'rootfs/tmp/agent')), false);
      assert.equal(await exited, 0, err);
      const [, stateLine, callLine] = out.trim().split('\n');
      assert.ok(stateLine && callLine, out);
      const { state, fds } = JSON.parse(stateLine);
      assert.equal(fds, 1);
      assert.deepEqual(Object.keys(state), ['ociVersion', 'fds', 'pid', 'metadata', 'state']);
      assert.deepEqual(state.fds, ['seccompFd']);
      assert.equal(state.metadata, 'meta-data');
      assert.equal(state.state.id, id);
      assert.equal(state.state.status, 'creating');
      assert.equal(state.state.bundle, dir);
      assert.equal(state.state.pid, state.pid);
      assert.deepEqual(state.state.annotations, { 'org.example/key': 'value' });
      const call = JSON.parse(callLine);
      assert.equal(call.nr, 83); // mkdir on x86-64
      assert.equal(
        call.pid,
        state.pid,
        "the call came from the container's process, which the state names by its host pid",
      );
    } finally {
      agent.kill();
    }
  });

  /** The fixture agent on `sock`, answering `count` calls; resolves once it listens. */
  async function startAgent(sock: string, count: number) {
    const agent = spawn(
      'python3',
      [path.join(ROOT_DIR, 'test/fixtures/seccomp/agent.py'), sock, String(count)],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise((r) => agent.stdout.once('data', r));
    return agent;
  }

  const notifyMkdir = (sock: string) =>
    allowAllBut([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: sock });

  test('with a notify agent, a startContainer hook gets stdio only, not what runts inherited (as runc: 4 entries in its fd dir)', async () => {
    const sock = path.join(base, 'agent-fds.sock');
    const agent = await startAgent(sock, 0);
    try {
      const dir = bundle('cat /tmp/hook-fds', (c) => {
        c.linux.seccomp = notifyMkdir(sock);
        c.hooks = {
          startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'ls /proc/self/fd > /tmp/hook-fds'] }],
        };
      });
      // runts gets fds 3-5 from its caller, none meant for the container.
      const r = spawnSync(RUNTS, ['--root', root, 'run', '--bundle', dir, 'hook-fds'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      assert.equal(r.status, 0, r.stderr);
      // 0-2 and ls's own directory fd.
      assert.deepEqual(r.stdout.trim().split('\n'), ['0', '1', '2', '3']);
    } finally {
      agent.kill();
    }
  });

  test('a failing startContainer hook under a terminal: `run` ends at once with the error, as runc (it waited for ever)', async () => {
    const sock = path.join(base, 'agent-hang.sock');
    const agent = await startAgent(sock, 0);
    try {
      const dir = bundle('echo main', (c) => {
        c.process.terminal = true;
        c.linux.seccomp = notifyMkdir(sock);
        c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }] };
      });
      // runts on a pty of its own (foreground run relays the container's pty to it).
      const py = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
end = time.time() + 15
while time.time() < end:
    if select.select([fd], [], [], 0.1)[0]:
        try: os.read(fd, 4096)
        except OSError: pass
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        print("exit", os.waitstatus_to_exitcode(st)); sys.exit(0)
os.kill(pid, 9); os.waitpid(pid, 0); print("hung")
`;
      const r = spawnSync(
        'python3',
        ['-c', py, RUNTS, '--root', root, 'run', '--bundle', dir, 'hook-fails'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(r.stdout.trim(), 'exit 1', r.stderr);
      assert.equal(fs.existsSync(path.join(root, 'hook-fails')), false, 'the container was removed');
    } finally {
      agent.kill();
    }
  });

  test("the agent message has runc's shape", () => {
    const s = listenerPayload({
      ociVersion: '1.2.0',
      pid: 42,
      state: { ociVersion: '1.2.0', id: 'x', status: 'creating', pid: 42, bundle: '/b' },
    });
    assert.equal(
      s,
      '{"ociVersion":"1.2.0","fds":["seccompFd"],"pid":42,"state":{"ociVersion":"1.2.0","id":"x","status":"creating","pid":42,"bundle":"/b"}}',
    );
  });
});

describe('capabilities', () => {
  test("CapEff, CapBnd, CapAmb and NoNewPrivs are the config's; without CAP_CHOWN root cannot chown", () => {
    const hex = (bits: number[]) =>
      bits
        .reduce((m, b) => m | (1n << BigInt(b)), 0n)
        .toString(16)
        .padStart(16, '0');
    const r = run(
      bundle('grep -E "^(Cap|NoNewPrivs)" /proc/self/status; chown 1:1 /tmp; echo "chown=$?"', (c) => {
        const set = ['CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_SETUID', 'CAP_NET_RAW'];
        c.process.capabilities = {
          bounding: set,
          effective: set,
          permitted: set,
          inheritable: ['CAP_NET_RAW'],
          ambient: ['CAP_NET_RAW'],
        };
        c.process.noNewPrivileges = false;
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.includes(':'))
        .map((l) => l.split(/:\s+/)),
    );
    // DAC_OVERRIDE=1, FOWNER=3, SETUID=7, NET_RAW=13
    assert.equal(got.CapEff, hex([1, 3, 7, 13]));
    assert.equal(got.CapPrm, hex([1, 3, 7, 13]));
    assert.equal(got.CapBnd, hex([1, 3, 7, 13]));
    assert.equal(got.CapInh, hex([13]));
    assert.equal(got.CapAmb, hex([13]));
    assert.equal(got.NoNewPrivs, '0');
    assert.match(r.stdout, /chown=1/);
    assert.match(r.stderr, /Operation not permitted/);
  });
});

describe('AppArmor and SELinux', () => {
  test('this host has neither (the detection agrees with /sys)', () => {
    assert.equal(apparmorEnabled(), fs.existsSync('/sys/kernel/security/apparmor'));
    assert.equal(selinuxEnabled(), fs.existsSync('/sys/fs/selinux/enforce'));
    const doc = JSON.parse(runts(['features']).stdout).linux;
    // As runc: "enabled" says the support is built in, not that the host has the LSM.
    assert.deepEqual(doc.apparmor, { enabled: true });
    assert.deepEqual(doc.selinux, { enabled: true });
  });

  test('without the LSM: a named profile or label is refused at create, empty ones are ignored', () => {
    if (apparmorEnabled() || selinuxEnabled()) return;
    const aa = run(
      bundle('echo ran', (c) => (c.process.apparmorProfile = 'runts-test')),
      'aa',
    );
    assert.equal(aa.status, 1);
    assert.match(
      aa.stderr,
      /unable to apply apparmor profile: AppArmor is not enabled on this host \(profile "runts-test"\)/,
    );
    const se = run(
      bundle('echo ran', (c) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0')),
      'se',
    );
    assert.equal(se.status, 1);
    assert.match(se.stderr, /selinux label is specified in config, but selinux is disabled or not supported/);
    assert.equal(aa.stdout + se.stdout, '');
    const empty = run(
      bundle('echo ran', (c) => ((c.process.apparmorProfile = ''), (c.process.selinuxLabel = ''))),
      'lsm-empty',
    );
    assert.equal(empty.status, 0, empty.stderr);
    assert.equal(empty.stdout, 'ran\n');
    assert.throws(
      () => checkLabels({ apparmorProfile: 'p' }, { apparmor: false, selinux: true }),
      /AppArmor is not enabled/,
    );
    assert.deepEqual(
      checkLabels({ apparmorProfile: 'p', selinuxLabel: 'l' }, { apparmor: true, selinux: true }),
      { apparmorProfile: 'p', selinuxLabel: 'l' },
    );
  });

  test('the label writers, against a directory standing in for procfs', (t) => {
    const dir = tempDir(t);
    const attr = path.join(dir, 'thread-self', 'attr');
    fs.mkdirSync(path.join(attr, 'apparmor'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'self', 'attr'), { recursive: true });
    for (const f of [
      path.join(attr, 'exec'),
      path.join(attr, 'apparmor', 'exec'),
      path.join(dir, 'self', 'attr', 'keycreate'),
    ])
      fs.writeFileSync(f, '');
    const h = ProcfsHandle.standIn(dir);
    try {
      // The LSM-stacking layout (5.8+): attr/apparmor/exec.
      setApparmorExecProfile(h, 'docker-default');
      assert.equal(fs.readFileSync(path.join(attr, 'apparmor', 'exec'), 'utf8'), 'exec docker-default');
      assert.equal(fs.readFileSync(path.join(attr, 'exec'), 'utf8'), '');
      setSelinuxExecLabel(h, 'system_u:system_r:container_t:s0:c1,c2');
      assert.equal(
        fs.readFileSync(path.join(attr, 'exec'), 'utf8'),
        'system_u:system_r:container_t:s0:c1,c2',
      );
      setSelinuxKeyLabel(h, 'system_u:object_r:container_file_t:s0');
      assert.equal(
        fs.readFileSync(path.join(dir, 'self', 'attr', 'keycreate'), 'utf8'),
        'system_u:object_r:container_file_t:s0',
      );
      // Older kernels: attr/exec for AppArmor too.
      fs.rmSync(path.join(attr, 'apparmor'), { recursive: true });
      fs.writeFileSync(path.join(attr, 'exec'), '');
      applyApparmorLabel(h, { apparmorProfile: 'older', selinuxLabel: 'not-this-one' });
      assert.equal(
        fs.readFileSync(path.join(attr, 'exec'), 'utf8'),
        'exec older',
        'the AppArmor label alone',
      );
      applySelinuxLabel(h, { apparmorProfile: 'not-this-one', selinuxLabel: 'system_u:system_r:spc_t:s0' });
      assert.equal(
        fs.readFileSync(path.join(attr, 'exec'), 'utf8'),
        'system_u:system_r:spc_t:s0',
        'the SELinux label alone',
      );
      applyApparmorLabel(h, {});
      applySelinuxLabel(h, {});
      assert.equal(
        fs.readFileSync(path.join(attr, 'exec'), 'utf8'),
        'system_u:system_r:spc_t:s0',
        'nothing written without a label',
      );
      // Never outside the handle, even through a symlink the container could plant.
      fs.rmSync(path.join(attr, 'exec'));
      fs.symlinkSync('/etc/hostname', path.join(attr, 'exec'));
      assert.throws(() => setSelinuxExecLabel(h, 'x'), /EXDEV|ELOOP/);
    } finally {
      h.close();
    }
  });

  test('the procfs handle is a procfs root and refuses to leave it', () => {
    assert.throws(() => ProcfsHandle.open(os.tmpdir()), /not a procfs/);
    assert.throws(() => ProcfsHandle.open('/proc/1'), /not the root of a procfs/);
    const h = ProcfsHandle.open('/proc');
    try {
      assert.equal(h.selfPid(), process.pid);
      assert.match(h.read('thread-self/status'), new RegExp(`^Pid:\\s+${process.pid}$`, 'm'));
      assert.throws(() => h.read('../etc/hostname'), /EXDEV/);
      assert.throws(() => h.read('self/root/etc/hostname'), /ELOOP/, 'no magic links');
      assert.throws(
        () => h.read('sys/fs/binfmt_misc/status'),
        /EXDEV|ENOENT/,
        'no crossing into another mount',
      );
    } finally {
      h.close();
    }
  });

  test('mount label: appended as context=, as runc does', () => {
    assert.equal(
      formatMountLabel('mode=755', 'system_u:object_r:container_file_t:s0'),
      'mode=755,context="system_u:object_r:container_file_t:s0"',
    );
    assert.equal(formatMountLabel('', 'l'), 'context="l"');
    assert.equal(formatMountLabel('size=1k', undefined), 'size=1k');
  });
});

describe('process attributes', () => {
  test('personality: LINUX32 makes uname report i686', () => {
    const r32 = run(bundle('uname -m', (c) => (c.linux.personality = { domain: 'LINUX32' })));
    assert.equal(r32.stdout, 'i686\n', r32.stderr);
    const r64 = run(bundle('uname -m', (c) => (c.linux.personality = { domain: 'LINUX' })));
    assert.equal(r64.stdout, `${os.machine()}\n`, r64.stderr);
  });

  test("scheduler, I/O priority and oom_score_adj are the process's", () => {
    // /proc/<pid>/stat: field 19 is nice, 41 the policy (3 = SCHED_BATCH, 5 = SCHED_IDLE).
    const script =
      'set -- $(cat /proc/$$/stat); shift 18; echo "nice=$1"; shift 22; echo "policy=$1"; ionice -p $$; cat /proc/self/oom_score_adj';
    const r = run(
      bundle(script, (c) => {
        c.process.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
        c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
        c.process.oomScoreAdj = 500;
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'nice=7\npolicy=3\nbest-effort: prio 4\n500\n');
    const idle = run(
      bundle(
        script,
        (c) => (
          (c.process.scheduler = { policy: 'SCHED_IDLE' }),
          (c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE' })
        ),
      ),
    );
    assert.equal(idle.status, 0, idle.stderr);
    assert.match(idle.stdout, /^nice=0\npolicy=5\nidle\n/);
    for (const v of [1001, -1001]) {
      const bad = run(
        bundle('echo ran', (c) => (c.process.oomScoreAdj = v)),
        `oom${v}`,
      );
      assert.equal(bad.status, 1);
      // The config validator or the init: either way before anything runs.
      assert.match(
        bad.stderr,
        /oomScoreAdj(: must be at (most|least)| must be an integer between -1000 and 1000)/,
      );
    }
    const badIo = run(
      bundle('echo ran', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 })),
      'io8',
    );
    assert.equal(badIo.status, 1);
    assert.match(badIo.stderr, /ioPriority/);
  });

  test('a session keyring of its own, unless --no-new-keyring', () => {
    const unmask = (c: Config) =>
      (c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p !== '/proc/keys'));
    const r = run(bundle('grep -o "_ses\\.[^:]*" /proc/keys || true', unmask), 'keyring-own');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^_ses\.keyring-own$/m);
    const inherit = run(bundle('grep -o "_ses\\.[^:]*" /proc/keys || true', unmask), 'keyring-none', [
      '--no-new-keyring',
    ]);
    assert.equal(inherit.status, 0, inherit.stderr);
    assert.doesNotMatch(inherit.stdout, /_ses\.keyring-none/);
  });

  test("exec joins the container's session keyring, and none when it was created with --no-new-keyring", (t) => {
    const unmask = (c: Config) =>
      (c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p !== '/proc/keys'));
    const keyrings = (id: string) =>
      runts(['--root', root, 'exec', id, 'sh', '-c', 'grep -o "_ses\\.[^:]*" /proc/keys || true']);
    for (const [id, flags] of [
      ['exec-keyring-own', []],
      ['exec-keyring-none', ['--no-new-keyring']],
    ] as const) {
      const started = spawnSync(
        RUNTS,
        ['--root', root, 'run', '-d', ...flags, '--bundle', bundle('sleep 30', unmask), id],
        { stdio: 'ignore', timeout: 30_000 },
      );
      t.after(() => runts(['--root', root, 'delete', '--force', id]));
      assert.equal(started.status, 0);
    }
    const own = keyrings('exec-keyring-own');
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /^_ses\.exec-keyring-own$/m);
    const none = keyrings('exec-keyring-none');
    assert.equal(none.status, 0, none.stderr);
    assert.doesNotMatch(none.stdout, /_ses\.exec-keyring-none/);
  });
});

describe('no host leaks', () => {
  test('fds: cd /proc/self/fd/N for every N from 3 to 64 fails or stays inside', () => {
    const script =
      'for N in $(seq 3 64); do if cd /proc/self/fd/$N 2>/dev/null; then echo "$N $(pwd -P) $(ls | head -3 | tr "\\n" " ")"; cd /; fi; done; echo done';
    const r = run(bundle(script));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'done\n', 'no fd above stdio reaches the container');
  });

  test('cwd: /proc/self/fd/N naming any fd the init had open is refused, never followed out (CVE-2024-21626)', () => {
    const id = 'fd-survey';
    assert.equal(create(bundle('true'), id).status, 0);
    let fds: number[];
    try {
      fds = fs
        .readdirSync(`/proc/${initPid(id)}/fd`)
        .map(Number)
        .filter((f) => f >= 3);
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
    assert.ok(fds.length > 0);
    for (const fd of [...fds, Math.max(...fds) + 1]) {
      const r = run(
        bundle('pwd -P; ls', (c) => (c.process.cwd = `/proc/self/fd/${fd}`)),
        `cwd-${fd}`,
      );
      if (r.status === 0) {
        // Stayed inside: a path of the container's root, with the container's files.
        assert.match(r.stdout, /^\//, `fd ${fd}: ${r.stdout}`);
        assert.ok(!r.stdout.includes('(unreachable)'), `fd ${fd}`);
      } else {
        assert.match(
          r.stderr,
          /outside of container mount namespace root|chdir|ENOENT|ENOTDIR|no such file|not a directory/i,
          `fd ${fd}: ${r.stderr}`,
        );
      }
    }
  });

  test('/proc/<init>/exe: read-only during create and start, even after the init exits (CVE-2019-5736)', () => {
    // A startContainer hook runs in the container while the init (Node) is pid 1.
    const probe =
      'for f in /proc/1/exe /proc/self/exe; do (exec 3<>$f) 2>&1 && echo "$f WRITABLE"; done; true';
    const dir = bundle(`cat /tmp/hook-result; ${probe}`, (c) => {
      c.hooks = {
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', `{ ${probe}; } > /tmp/hook-result 2>&1`] }],
      };
    });
    const id = 'exe';
    assert.equal(create(dir, id).status, 0);
    let pathFd: number | undefined;
    try {
      const pid = initPid(id);
      const exe = fs.readlinkSync(`/proc/${pid}/exe`);
      assert.notEqual(
        exe,
        fs.realpathSync(process.execPath),
        'the init does not run the host binary by its path',
      );
      assert.throws(
        () => fs.closeSync(fs.openSync(`/proc/${pid}/exe`, 'r+')),
        /EROFS/,
        'not even host root can write it',
      );
      // The attack: hold the file with O_PATH, wait for the process to go, reopen for writing.
      pathFd = fs.openSync(`/proc/${pid}/exe`, fs.constants.O_RDONLY | 0o10000000);
      const r = runts(['--root', root, 'start', id]);
      assert.equal(r.status, 0, r.stderr);
      for (
        let i = 0;
        i < 100 &&
        fs.existsSync(`/proc/${pid}`) &&
        JSON.parse(runts(['--root', root, 'state', id]).stdout).status !== 'stopped';
        i++
      ) {
        spawnSync('sleep', ['0.05']);
      }
      assert.throws(() => fs.closeSync(fs.openSync(`/proc/self/fd/${pathFd}`, 'r+')), /EROFS/);
    } finally {
      if (pathFd !== undefined) fs.closeSync(pathFd);
      runts(['--root', root, 'delete', '--force', id]);
    }
    const hook = fs.readFileSync(path.join(dir, 'rootfs/tmp/hook-result'), 'utf8');
    assert.doesNotMatch(hook, /WRITABLE/);
    assert.match(hook, /\/proc\/1\/exe: Read-only file system/, hook);
  });

  test('the sealed view of node needs no temp dir: none made, none left, even where TMPDIR does not exist', (t) => {
    const tmp = tempDir(t);
    const id = 'exe-tmpdir';
    const out = path.join(base, `create-out-${++n}`);
    const fds = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
    let r;
    try {
      // TMPDIR missing: a temp-dir based layer would fall back to the bind mount (exe "/").
      // A startContainer hook keeps the Node init waiting (no hand-over to runts-wait), so its exe shows.
      const dir = bundle(
        'true',
        (c) => (c.hooks = { startContainer: [{ path: '/bin/true', args: ['true'] }] }),
      );
      r = spawnSync(RUNTS, ['--root', root, 'create', '--bundle', dir, id], {
        stdio: ['ignore', fds[0], fds[1]],
        env: { ...process.env, TMPDIR: path.join(tmp, 'missing') },
        timeout: 30_000,
      });
    } finally {
      fds.forEach((fd) => fs.closeSync(fd));
    }
    try {
      assert.equal(r.status, 0, fs.readFileSync(`${out}.err`, 'utf8'));
      assert.equal(
        fs.readlinkSync(`/proc/${initPid(id)}/exe`),
        '/' + path.basename(fs.realpathSync(process.execPath)),
        'the overlay view',
      );
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
    const env = { ...process.env, TMPDIR: tmp };
    assert.equal(runts(['--root', root, 'run', '--bundle', bundle('true'), `${id}-2`], { env }).status, 0);
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  test('runts exec while the init is still Node: /proc/1/exe not writable, /proc/1 guarded (not dumpable)', () => {
    const id = 'exe-exec';
    assert.equal(create(bundle('true'), id).status, 0);
    try {
      const r = runts([
        '--root',
        root,
        'exec',
        id,
        'sh',
        '-c',
        '(exec 3<>/proc/1/exe) 2>&1 && echo WRITABLE; readlink /proc/1/exe || echo unreadable; cat /proc/1/environ >/dev/null 2>&1 && echo ENVIRON || echo no-environ',
      ]);
      if (/not implemented/i.test(r.stderr)) return;
      assert.doesNotMatch(r.stdout, /WRITABLE/);
      // The init is not dumpable: without CAP_SYS_PTRACE nothing of /proc/1 that ptrace guards.
      assert.match(r.stdout, /unreadable\nno-environ\n$/, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, new RegExp(fs.realpathSync(process.execPath)), 'the host path of node');
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });

  /**
   * CVE-2019-5736 with an attacker in the container: a static watcher as
   * the container's process opens /proc/<pid>/exe of every process it sees
   * (read-only and O_PATH) in a tight loop and keeps every fd; then runts
   * execs `n` times (the first right after start) and creates `joins`
   * containers in its PID namespace. From the host: no kept fd is the
   * host's node binary, and none opens for writing.
   */
  function watchExecs(
    t: { skip(m: string): void; after(fn: () => void): void },
    o: { id: string; n: number; joins: number; patch: (c: Config) => void },
  ): void {
    const cc = spawnSync('gcc', ['--version']);
    if (cc.status !== 0) {
      t.skip('needs gcc to build the static watcher');
      return;
    }
    const dir = bundle('', (c) => {
      c.process.args = ['/bin/exe-watcher'];
      // Every fd kept: up to four per exec.
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 8192, hard: 8192 }];
      o.patch(c);
    });
    const built = spawnSync(
      'gcc',
      [
        '-static',
        '-O2',
        '-o',
        path.join(dir, 'rootfs/bin/exe-watcher'),
        path.join(ROOT_DIR, 'test/fixtures/exe-watcher.c'),
      ],
      { encoding: 'utf8' },
    );
    if (built.status !== 0) {
      t.skip(`no static build of the watcher: ${built.stderr.split('\n')[0]}`);
      return;
    }
    const userns = (
      JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).linux.namespaces as Config[]
    ).some((ns) => ns.type === 'user');
    if (userns) spawnSync('chown', ['-R', '100000:100000', path.join(dir, 'rootfs')]);
    const out = path.join(base, `watcher-${o.id}`);
    const fds = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
    try {
      const r = spawnSync(RUNTS, ['--root', root, 'create', '--bundle', dir, o.id], {
        stdio: ['ignore', fds[0], fds[1]],
        timeout: 30_000,
      });
      assert.equal(r.status, 0, fs.readFileSync(`${out}.err`, 'utf8'));
    } finally {
      fds.forEach((fd) => fs.closeSync(fd));
    }
    try {
      const watcher = initPid(o.id);
      assert.equal(runts(['--root', root, 'start', o.id]).status, 0);
      for (let i = 0; i < 200 && !fs.readFileSync(out, 'utf8').includes('ready'); i++)
        spawnSync('sleep', ['0.01']);
      for (let i = 0; i < o.n; i++) {
        const r = runts(['--root', root, 'exec', o.id, 'true']);
        assert.equal(r.status, 0, r.stderr);
      }
      const joiner = bundle('true', (c) => {
        c.linux.namespaces = (c.linux.namespaces as Config[])
          .filter((ns) => ns.type !== 'pid')
          .concat([{ type: 'pid', path: `/proc/${watcher}/ns/pid` }]);
      });
      for (let i = 0; i < o.joins; i++) {
        const id = `${o.id}-join${i}`;
        assert.equal(create(joiner, id).status, 0);
        assert.equal(runts(['--root', root, 'start', id]).status, 0);
        runts(['--root', root, 'delete', '--force', id]);
      }
      const node = fs.statSync(fs.realpathSync(process.execPath));
      const seen: string[] = [];
      // Its stdio (files of this test) aside: fds 3.. are what it opened.
      for (const fd of fs.readdirSync(`/proc/${watcher}/fd`).filter((f) => Number(f) > 2)) {
        const p = `/proc/${watcher}/fd/${fd}`;
        // The watcher's own /proc directory fd comes and goes.
        let st: fs.Stats;
        let target: string;
        try {
          st = fs.statSync(p);
          target = fs.readlinkSync(p);
        } catch {
          continue;
        }
        seen.push(target);
        assert.ok(
          !(st.dev === node.dev && st.ino === node.ino),
          `the watcher holds the host's node (fd ${fd} -> ${target})`,
        );
        // Any view of node (the sealed one has node's inode on an overlay): read-only.
        if (st.ino === node.ino)
          assert.throws(
            () => fs.closeSync(fs.openSync(p, 'r+')),
            /EROFS|ETXTBSY/,
            `fd ${fd} -> ${target} opens for writing`,
          );
      }
      // The watcher works: it caught each exec, as runts' sealed node or as the program.
      assert.ok(seen.filter((s) => s === '/bin/busybox' || s === '/node').length >= o.n / 2, seen.join(' '));
    } finally {
      runts(['--root', root, 'delete', '--force', o.id]);
    }
  }

  test("a watcher in the container never gets the host's node from runts exec or a create joining its PID namespace (default caps)", (t) => {
    watchExecs(t, { id: 'watch', n: 120, joins: 5, patch: () => {} });
  });

  test("... nor in a user namespace where the container has CAP_SYS_PTRACE (it did: runts' clone was dumpable)", (t) => {
    watchExecs(t, {
      id: 'watch-userns',
      n: 80,
      joins: 0,
      patch: (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        for (const k of Object.keys(c.process.capabilities))
          c.process.capabilities[k] = [...new Set([...c.process.capabilities[k], 'CAP_SYS_PTRACE'])];
      },
    });
  });

  test('... nor without a user namespace where the container has CAP_SYS_PTRACE, from exec or a create joining it (runts execs itself sealed first)', (t) => {
    watchExecs(t, {
      id: 'watch-ptrace',
      n: 60,
      joins: 3,
      patch: (c) => {
        for (const k of Object.keys(c.process.capabilities))
          c.process.capabilities[k] = [...new Set([...c.process.capabilities[k], 'CAP_SYS_PTRACE'])];
      },
    });
  });

  test("the init's argv and environment name nothing of the host (Node waiting: a startContainer hook)", () => {
    const id = 'argv';
    const dir = bundle(
      'true',
      (c) => (c.hooks = { startContainer: [{ path: '/bin/true', args: ['true'] }] }),
    );
    assert.equal(create(dir, id, []).status, 0);
    try {
      const pid = initPid(id);
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      // Node's options, then the script below an fd on runts' package directory.
      assert.deepEqual(argv.slice(0, 3), ['runts:init', '--preserve-symlinks', '--preserve-symlinks-main']);
      assert.match(argv[3] ?? '', /^\/proc\/self\/fd\/\d+\/dist\/init\.cjs$/);
      assert.equal(argv.length, 4);
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      assert.deepEqual(env.map((e) => e.split('=')[0]).sort(), ['PATH', '_RUNTS_SYNC_FD']);
      assert.ok(!env.join(' ').includes(ROOT_DIR) && !env.join(' ').includes(base), env.join(' '));
      // The package directory's fd was closed: no fd of the init names a runts file.
      assertNoRuntsFile(pid);
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });
  test("the waiting runts-wait's argv, environment and fds name nothing of the host", () => {
    const id = 'argv-wait';
    const dir = bundle('true', (c) => (c.process.env = ['PATH=/bin', 'ONLY=mine']));
    assert.equal(create(dir, id, []).status, 0);
    try {
      const pid = initPid(id);
      assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), '/memfd:runts-wait (deleted)');
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      // runts-wait FIFO_FD BPF_FD SECCOMP_FLAGS PATH ARG0 ...: fd numbers, then the container's own program.
      assert.deepEqual(
        argv.slice(0, 4).map((a, i) => (i === 0 ? a : /^-?\d+$/.test(a))),
        ['runts-wait', true, true, true],
      );
      assert.deepEqual(argv.slice(4, 6), ['/bin/sh', 'sh']);
      assert.ok(!argv.join(' ').includes(ROOT_DIR) && !argv.join(' ').includes(base), argv.join(' '));
      // Its environment is already the container's: nothing of runts' or the host's.
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      assert.deepEqual(env, ['PATH=/bin', 'ONLY=mine', 'HOME=/root']); // HOME as runc adds it
      // stdio (files of this test) and exec.fifo (as runc's init holds it) are all it has; no runts file.
      assertNoRuntsFile(pid);
    } finally {
      runts(['--root', root, 'delete', '--force', id]);
    }
  });
});
