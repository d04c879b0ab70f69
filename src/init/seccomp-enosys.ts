/**
 * The -ENOSYS stub runc puts in front of a seccomp filter (its patchbpf):
 * a syscall number above the highest one the profile names, on an
 * architecture the profile lists, fails with ENOSYS instead of the
 * profile's default action, so that programs probing for syscalls newer
 * than the profile fall back as they would on an older kernel.
 *
 * As runc: no stub when the default action lets calls through (allow, log,
 * trace) or already returns ENOSYS, and only the profile's architectures
 * get one. x86-64 and x32 share one audit architecture: x32 numbers carry
 * bit 30, and an arch the profile does not list goes on to the filter
 * (which gives it the bad-architecture action).
 */
import { archToken, resolveSyscallForArch } from '../linux/seccomp.js';

const ENOSYS = 38;
const SECCOMP_RET_ERRNO = 0x00050000;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const SCMP_ARCH_X32 = 0x4000003e;
const X32_SYSCALL_BIT = 0x40000000;

// Classic BPF opcodes (linux/filter.h) and struct seccomp_data offsets.
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JSET_K = 0x45;
const JA = 0x05;
const RET_K = 0x06;
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;

type Target = 'enosys' | 'filter' | number; // a label: ENOSYS return, the filter's first instruction, or an instruction index
interface Insn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
}

/** Per audit architecture, the highest syscall number the profile names (x86-64: plain and x32 apart). */
export type LastSyscalls = Map<number, { plain?: number; x32?: number }>;

export function lastSyscalls(architectures: string[], names: string[]): LastSyscalls {
  const out: LastSyscalls = new Map();
  for (const arch of architectures) {
    const token = archToken(arch);
    if (token === 0) continue;
    let last = -1;
    for (const name of names) last = Math.max(last, resolveSyscallForArch(name, token) ?? -1);
    if (last < 0) continue;
    const isX32 = token === SCMP_ARCH_X32;
    const audit = isX32 ? AUDIT_ARCH_X86_64 : token >>> 0;
    const entry = out.get(audit) ?? {};
    if (isX32) entry.x32 = (last | X32_SYSCALL_BIT) >>> 0;
    else entry.plain = last;
    out.set(audit, entry);
  }
  return out;
}

/** Whether runc would put the stub in front of a filter with this default action and errno. */
export function wantsEnosysStub(defaultAction: string, defaultErrnoRet: number | undefined): boolean {
  if (defaultErrnoRet === ENOSYS) return false;
  return !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(defaultAction);
}

/** Point a conditional jump's false branch at instruction `to`. */
function setFalseBranch(insn: Insn | undefined, to: number): void {
  if (insn) insn.jf = to;
}

/** The stub as struct sock_filter[] (empty when there is nothing to check), to run before `filter`. */
export function enosysStub(last: LastSyscalls): Buffer {
  if (last.size === 0) return Buffer.alloc(0);
  const insns: Insn[] = [{ code: LD_W_ABS, k: ARCH_OFFSET }];
  const nextArch: number[] = []; // indexes of JEQs whose false branch goes to the next architecture
  for (const [audit, l] of last) {
    for (const i of nextArch.splice(0)) setFalseBranch(insns.at(i), insns.length);
    nextArch.push(insns.length);
    insns.push({ code: JEQ_K, k: audit, jt: insns.length + 1 }, { code: LD_W_ABS, k: NR_OFFSET });
    const check = (max: number | undefined): Insn =>
      max === undefined
        ? { code: JA, k: 0, jt: 'filter' }
        : { code: JGT_K, k: max, jt: 'enosys', jf: 'filter' };
    if (audit === AUDIT_ARCH_X86_64) {
      const at = insns.length;
      insns.push({ code: JSET_K, k: X32_SYSCALL_BIT, jt: at + 2, jf: at + 1 }, check(l.plain), check(l.x32));
    } else {
      insns.push(check(l.plain));
    }
  }
  const noArch = insns.length;
  for (const i of nextArch) setFalseBranch(insns.at(i), noArch);
  insns.push({ code: JA, k: 0, jt: 'filter' }, { code: RET_K, k: SECCOMP_RET_ERRNO | ENOSYS });
  const enosysAt = insns.length - 1;
  const filterAt = insns.length;

  const buf = Buffer.alloc(8 * insns.length);
  insns.forEach((ins, i) => {
    const offset = (t: Target | undefined): number => {
      if (t === undefined) return 0;
      const to = t === 'enosys' ? enosysAt : t === 'filter' ? filterAt : t;
      const off = to - (i + 1);
      if (off < 0 || off > 255) throw new Error(`seccomp: ENOSYS stub jump out of range (${off})`);
      return off;
    };
    buf.writeUInt16LE(ins.code, 8 * i);
    if (ins.code === JA) {
      // An unconditional jump's distance is its k.
      buf.writeUInt32LE(offset(ins.jt), 8 * i + 4);
    } else {
      buf.writeUInt8(offset(ins.jt), 8 * i + 2);
      buf.writeUInt8(offset(ins.jf), 8 * i + 3);
      buf.writeUInt32LE(ins.k >>> 0, 8 * i + 4);
    }
  });
  return buf;
}
