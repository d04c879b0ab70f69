/**
 * seccomp: libseccomp (Debian's libseccomp2, opened on first use) compiles a
 * filter to classic BPF; the kernel's seccomp(2) loads it.
 *
 * runts does not let libseccomp load the filter (seccomp_load). Like runc's
 * patchbpf, it exports the program with seccomp_export_bpf while the host's
 * files are still reachable, and installs it later with seccomp(2) itself:
 * that way every filter flag the kernel has can be passed (libseccomp 2.5
 * knows no WAIT_KILLABLE_RECV) and the last step before execve allocates
 * nothing and loads no library.
 */
import fs from 'node:fs';
import { SOCK_FPROG } from './abi-x86_64.js';
import { errnoOf, SyscallError } from './errno.js';
import { DataType, libcFunction, libraryFunction, openLibrary, type CType } from './libc.js';
import { createMemfd } from './memfd.js';
import { NativeBlock } from './memory.js';
import { namedSyscall } from './syscall.js';

const LIB = 'libseccomp';

/** Open libseccomp.so.2 (idempotent); throws when it is not installed. */
export function openLibseccomp(): void {
  openLibrary(LIB, 'libseccomp.so.2');
}

/** True when libseccomp.so.2 can be opened. */
export function libseccompAvailable(): boolean {
  try {
    openLibseccomp();
    return true;
  } catch {
    return false;
  }
}

/** libseccomp returns -errno; turn that into a SyscallError. */
function negErrno(name: string, paramsType: readonly CType[], retType: CType = DataType.I32) {
  const fn = libraryFunction(LIB, name, retType, paramsType, () => false);
  return (args: unknown[], subject?: string): number => {
    const r = fn(args);
    if (r < 0) throw new SyscallError(name, -r, subject);
    return r;
  };
}

const I64 = DataType.I64;
const seccompInit = libraryFunction(LIB, 'seccomp_init', I64, [DataType.U32], (p) => p === 0);
const seccompRelease = libraryFunction(LIB, 'seccomp_release', DataType.Void, [I64], () => false);
const seccompArchAdd = negErrno('seccomp_arch_add', [I64, DataType.U32]);
const seccompArchResolveName = libraryFunction(
  LIB,
  'seccomp_arch_resolve_name',
  DataType.U32,
  [DataType.String],
  () => false,
);
const seccompSyscallResolveName = libraryFunction(
  LIB,
  'seccomp_syscall_resolve_name',
  DataType.I32,
  [DataType.String],
  () => false,
);
const seccompSyscallResolveNameArch = libraryFunction(
  LIB,
  'seccomp_syscall_resolve_name_arch',
  DataType.I32,
  [DataType.U32, DataType.String],
  () => false,
);
const seccompRuleAddArray = negErrno('seccomp_rule_add_array', [
  I64,
  DataType.U32,
  DataType.I32,
  DataType.U32,
  I64,
]);
const seccompAttrSet = negErrno('seccomp_attr_set', [I64, DataType.I32, DataType.U32]);
const seccompExportBpf = negErrno('seccomp_export_bpf', [I64, DataType.I32]);
const seccompApiGet = libraryFunction(LIB, 'seccomp_api_get', DataType.U32, [], () => false);
const seccompVersion = libraryFunction(LIB, 'seccomp_version', I64, [], () => false);

const seccompCall = namedSyscall('seccomp', [I64, I64, I64]);

const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_GET_ACTION_AVAIL = 2;

/** Filter flags of seccomp(2). */
export const FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/** Action values (SCMP_ACT_* of seccomp.h, which are the kernel's SECCOMP_RET_*). */
export const ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  NOTIFY: 0x7fc00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  errno: (e: number) => (0x00050000 | (e & 0xffff)) >>> 0,
  trace: (msg: number) => (0x7ff00000 | (msg & 0xffff)) >>> 0,
} as const;

/** SCMP_CMP_* of seccomp.h. */
export const CMP = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
} as const;

/** SCMP_FLTATR_* of seccomp.h. */
export const ATTR = { CTL_OPTIMIZE: 8 } as const;

/** libseccomp's names of the runtime-spec's architectures. */
export const ARCH_NAMES: Record<string, string> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_SH: 'sh',
  SCMP_ARCH_SHEB: 'sheb',
};

/** The libseccomp arch token for a SCMP_ARCH_* name, or 0 when this libseccomp does not know it. */
export function archToken(name: string): number {
  const lib = ARCH_NAMES[name];
  if (!lib) return 0;
  openLibseccomp();
  return seccompArchResolveName([lib]) >>> 0;
}

/** libseccomp's API level (seccomp_api_get). */
export function apiLevel(): number {
  openLibseccomp();
  return seccompApiGet([]);
}

/** "major.minor.micro" of the libseccomp in use. */
export function libseccompVersion(): string {
  openLibseccomp();
  const p = seccompVersion([]);
  const b = new NativeBlock(16);
  // struct scmp_version { unsigned int major, minor, micro; }: copy it with memcpy.
  memcpy([Number(b.address), p, 12]);
  return [0, 4, 8].map((o) => b.view.readUInt32LE(o)).join('.');
}
const memcpy = libcFunction('memcpy', I64, [I64, I64, I64], () => false);

/** The syscall number libseccomp knows for `name` (negative pseudo numbers for other archs), or undefined. */
export function resolveSyscall(name: string): number | undefined {
  openLibseccomp();
  const nr = seccompSyscallResolveName([name]);
  return nr === -1 ? undefined : nr; // __NR_SCMP_ERROR
}

/** The number of `name` on the architecture `token` (archToken), or undefined when it has none there. */
export function resolveSyscallForArch(name: string, token: number): number | undefined {
  openLibseccomp();
  const nr = seccompSyscallResolveNameArch([token >>> 0, name]);
  return nr < 0 ? undefined : nr; // __NR_SCMP_ERROR, or a pseudo number: not a real syscall of that arch
}

/** One argument comparison (struct scmp_arg_cmp). */
export interface ArgCmp {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

/** A libseccomp filter context being built. */
export class Filter {
  private ctx: number;
  /** Room for one rule's conditions (at most six), reused: a malloc per rule costs more than the rule. */
  private readonly conds = new NativeBlock(24 * 6);

  constructor(defaultAction: number) {
    openLibseccomp();
    this.ctx = seccompInit([defaultAction >>> 0], 'default action');
  }

  addArch(token: number, name: string): void {
    try {
      seccompArchAdd([this.ctx, token >>> 0], name);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e; // the native arch is always there
    }
  }

  setAttr(attr: number, value: number, what: string): void {
    seccompAttrSet([this.ctx, attr, value], what);
  }

  addRule(action: number, nr: number, conds: ArgCmp[], what: string): void {
    if (conds.length > 6) throw new Error(`seccomp: ${what}: more than six conditions`);
    const v = this.conds.view;
    conds.forEach((c, i) => {
      const o = 24 * i;
      v.writeUInt32LE(c.arg, o);
      v.writeUInt32LE(c.op, o + 4);
      v.writeBigUInt64LE(BigInt.asUintN(64, c.a), o + 8);
      v.writeBigUInt64LE(BigInt.asUintN(64, c.b), o + 16);
    });
    seccompRuleAddArray(
      [this.ctx, action >>> 0, nr, conds.length, conds.length ? Number(this.conds.address) : 0],
      what,
    );
  }

  /** The classic BPF program (struct sock_filter[]) libseccomp generates. */
  exportBpf(): Buffer {
    const fd = createMemfd('runts-seccomp', 0, 'seccomp program');
    try {
      seccompExportBpf([this.ctx, fd], 'to memfd');
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(size);
      let off = 0;
      while (off < size) {
        const n = fs.readSync(fd, buf, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf;
    } finally {
      fs.closeSync(fd);
    }
  }

  release(): void {
    if (this.ctx) seccompRelease([this.ctx]);
    this.ctx = 0;
  }
}

/** A BPF program in native memory with its struct sock_fprog, ready for seccomp(2). */
export class BpfProgram {
  readonly instructions: number;
  private readonly fprog: bigint;
  /** Kept so the memory stays referenced. */
  private readonly block: NativeBlock;

  /** The program itself (struct sock_filter[]), e.g. for a process that loads it later. */
  readonly code: Buffer;

  constructor(code: Buffer) {
    this.code = code;
    if (code.length === 0 || code.length % 8 !== 0)
      throw new Error(`seccomp: bad BPF program of ${code.length} bytes`);
    this.instructions = code.length / 8;
    if (this.instructions > 4096)
      throw new Error(`seccomp: filter has ${this.instructions} instructions, the kernel takes at most 4096`);
    this.block = new NativeBlock(code.length + 64);
    const prog = this.block.alloc(code.length);
    code.copy(this.block.view, prog.offset);
    const fprog = this.block.alloc(SOCK_FPROG.SIZE);
    this.block.view.writeUInt16LE(this.instructions, fprog.offset + SOCK_FPROG.LEN);
    this.block.view.writeBigUInt64LE(prog.address, fprog.offset + SOCK_FPROG.FILTER);
    this.fprog = fprog.address;
  }

  /**
   * Install the filter on the calling thread: seccomp(SECCOMP_SET_MODE_FILTER,
   * flags, &fprog). Returns the listener fd with FILTER_FLAG.NEW_LISTENER
   * (close-on-exec), else 0. Needs no_new_privs or CAP_SYS_ADMIN.
   */
  install(flags: number): number {
    return seccompCall([SECCOMP_SET_MODE_FILTER, flags, Number(this.fprog)], 'SECCOMP_SET_MODE_FILTER');
  }
}

/**
 * Does the kernel accept this filter flag? Probed the way libseccomp does:
 * seccomp(SET_MODE_FILTER, flag, NULL) fails with EFAULT when the flag is
 * known, EINVAL when not. Nothing is installed either way.
 */
export function kernelHasFilterFlag(flag: number): boolean {
  try {
    seccompCall([SECCOMP_SET_MODE_FILTER, flag, 0], 'probe');
    return true;
  } catch (e) {
    return errnoOf(e) === 'EFAULT';
  }
}

/** Does the kernel know this action (SECCOMP_GET_ACTION_AVAIL)? */
export function kernelHasAction(action: number): boolean {
  const b = new NativeBlock(16);
  b.view.writeUInt32LE(action >>> 0, 0);
  try {
    seccompCall([SECCOMP_GET_ACTION_AVAIL, 0, Number(b.address)], 'action probe');
    return true;
  } catch {
    return false;
  }
}

export { FdMessage } from './socket.js';

/** The runtime-spec's action names and their values (ERRNO and TRACE without their data). */
export const ACTION_BASE: Record<string, number> = {
  SCMP_ACT_KILL: ACT.KILL_THREAD,
  SCMP_ACT_KILL_THREAD: ACT.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: ACT.KILL_PROCESS,
  SCMP_ACT_TRAP: ACT.TRAP,
  SCMP_ACT_ERRNO: ACT.errno(0),
  SCMP_ACT_TRACE: ACT.trace(0),
  SCMP_ACT_ALLOW: ACT.ALLOW,
  SCMP_ACT_LOG: ACT.LOG,
  SCMP_ACT_NOTIFY: ACT.NOTIFY,
};

/** Every action runts handles (src/init/seccomp.ts), sorted as runc lists them. */
export const SECCOMP_ACTIONS = Object.keys(ACTION_BASE).sort();
export const SECCOMP_OPERATORS = Object.keys(CMP).sort();
/** runc's order. */
export const SECCOMP_KNOWN_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
];
export const FLAG_BITS: Readonly<Partial<Record<string, number>>> = {
  SECCOMP_FILTER_FLAG_TSYNC: FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_LOG: FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/**
 * Can runts apply this runtime-spec flag here? TSYNC always (accepted and
 * ignored, as in runc); WAIT_KILLABLE_RECV only exists with a listener, so
 * it is probed with NEW_LISTENER.
 */
export function flagSupported(name: string): boolean {
  if (name === 'SECCOMP_FILTER_FLAG_TSYNC') return true;
  const bit = FLAG_BITS[name];
  if (bit === undefined) return false;
  return kernelHasFilterFlag(bit === FILTER_FLAG.WAIT_KILLABLE_RECV ? bit | FILTER_FLAG.NEW_LISTENER : bit);
}

/**
 * The `linux.seccomp` part of `runts features`: what this runts can do on
 * this machine. Actions the kernel has, all operators, the architectures
 * the installed libseccomp knows, and the flags the kernel accepts (TSYNC
 * always: it is accepted and ignored, as in runc). Not enabled without
 * libseccomp.
 */
export function seccompFeatures(): {
  enabled: boolean;
  actions?: string[];
  operators?: string[];
  archs?: string[];
  knownFlags?: string[];
  supportedFlags?: string[];
} {
  if (!libseccompAvailable()) return { enabled: false };
  return {
    enabled: true,
    actions: Object.entries(ACTION_BASE)
      .filter(([, action]) => kernelHasAction(action))
      .map(([name]) => name)
      .sort(),
    operators: [...SECCOMP_OPERATORS],
    archs: Object.keys(ARCH_NAMES)
      .filter((a) => archToken(a) !== 0)
      .sort(),
    knownFlags: [...SECCOMP_KNOWN_FLAGS],
    supportedFlags: SECCOMP_KNOWN_FLAGS.filter(flagSupported),
  };
}
