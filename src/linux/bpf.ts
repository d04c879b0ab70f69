/**
 * bpf(2) for cgroup v2 device programs: load a BPF_PROG_TYPE_CGROUP_DEVICE
 * program, attach it to a cgroup directory with BPF_F_ALLOW_MULTI (replacing
 * the one already there with BPF_F_REPLACE), query and detach. glibc has no
 * bpf() wrapper: this goes through syscall(SYS_bpf, cmd, &attr, size).
 */
import fs from 'node:fs';
import { errnoOf, SyscallError } from './errno.js';
import { DataType, type CFunction } from './libc.js';
import { NativeBlock } from './memory.js';
import { namedSyscall } from './syscall.js';

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 1 << 1;
export const BPF_F_REPLACE = 1 << 2;

/** Size of the bpf_attr we pass: larger than every command's part, all zero past it. */
const ATTR_SIZE = 128;

// Declared on first use: loading this module (with the cgroup code) must cost nothing.
let bpfCall: CFunction<number> | undefined;

function bpf(cmd: number, attr: NativeBlock, what: string): number {
  bpfCall ??= namedSyscall('bpf', [DataType.I64, DataType.I64, DataType.I64]);
  return bpfCall([cmd, Number(attr.address), ATTR_SIZE], what);
}

/** One eBPF instruction: struct bpf_insn { u8 code; u8 dst:4, src:4; s16 off; s32 imm; }. */
export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export function encodeInsns(insns: BpfInsn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    buf.writeUInt8(i.code, n * 8);
    buf.writeUInt8((i.dst & 0xf) | ((i.src & 0xf) << 4), n * 8 + 1);
    buf.writeInt16LE(i.off, n * 8 + 2);
    buf.writeInt32LE(i.imm | 0, n * 8 + 4);
  });
  return buf;
}

/** How many times in all BPF_PROG_LOAD is tried while it fails with EAGAIN. */
export const PROG_LOAD_TRIES = 5;

/**
 * `fn` again while it throws EAGAIN, `tries` times in all; the last error
 * when every try failed so. BPF_PROG_LOAD returns EAGAIN when a signal
 * interrupts the verifier (Linux 4.20+) or a transient allocation fails;
 * runc's loader (cilium/ebpf) tries it again.
 */
export function retryOnEagain<T>(fn: () => T, tries = PROG_LOAD_TRIES): T {
  for (let n = 1; ; n++) {
    try {
      return fn();
    } catch (e) {
      if (errnoOf(e) !== 'EAGAIN' || n >= tries) throw e;
    }
  }
}

/**
 * Load a program; returns its fd. On a verifier refusal the error message
 * carries the verifier's log. EAGAIN is tried again (retryOnEagain).
 */
export function loadProgram(progType: number, insns: BpfInsn[], license: string, name = ''): number {
  const code = encodeInsns(insns);
  const attempt = (logSize: number): number | { log: string; err: unknown } => {
    const attr = new NativeBlock(ATTR_SIZE);
    const mem = new NativeBlock(code.length + license.length + 16 + logSize);
    const insnsAt = mem.alloc(code.length);
    code.copy(mem.view, insnsAt.offset);
    const lic = mem.cString(license);
    const log = logSize > 0 ? mem.alloc(logSize) : undefined;
    attr.view.writeUInt32LE(progType, 0);
    attr.view.writeUInt32LE(insns.length, 4);
    attr.view.writeBigUInt64LE(insnsAt.address, 8);
    attr.view.writeBigUInt64LE(lic, 16);
    if (log) {
      attr.view.writeUInt32LE(1, 24); // log_level
      attr.view.writeUInt32LE(logSize, 28);
      attr.view.writeBigUInt64LE(log.address, 32);
    }
    Buffer.from(name.slice(0, 15), 'ascii').copy(attr.view, 48); // prog_name[16]
    try {
      return retryOnEagain(() => bpf(BPF_PROG_LOAD, attr, 'BPF_PROG_LOAD'));
    } catch (e) {
      const text = log
        ? mem.view.toString('utf8', log.offset, log.offset + logSize).replace(/\0[\s\S]*$/, '')
        : '';
      return { log: text, err: e };
    }
  };
  let r = attempt(0);
  if (typeof r === 'number') return r;
  if (errnoOf(r.err) === 'EACCES' || errnoOf(r.err) === 'EINVAL') {
    r = attempt(1 << 16);
    if (typeof r === 'number') return r;
    if (r.log && r.err instanceof SyscallError)
      throw new SyscallError('bpf', r.err.errno, `BPF_PROG_LOAD (verifier: ${r.log.trim()})`);
  }
  throw r.err;
}

export interface AttachOptions {
  targetFd: number;
  progFd: number;
  attachType: number;
  flags: number;
  /** With BPF_F_REPLACE: the program to replace. */
  replaceFd?: number | undefined;
}

export function attachProgram(o: AttachOptions): void {
  const attr = new NativeBlock(ATTR_SIZE);
  attr.view.writeUInt32LE(o.targetFd, 0);
  attr.view.writeUInt32LE(o.progFd, 4);
  attr.view.writeUInt32LE(o.attachType, 8);
  attr.view.writeUInt32LE(o.flags >>> 0, 12);
  attr.view.writeUInt32LE(o.replaceFd ?? 0, 16);
  bpf(BPF_PROG_ATTACH, attr, 'BPF_PROG_ATTACH');
}

export function detachProgram(targetFd: number, progFd: number, attachType: number): void {
  const attr = new NativeBlock(ATTR_SIZE);
  attr.view.writeUInt32LE(targetFd, 0);
  attr.view.writeUInt32LE(progFd, 4);
  attr.view.writeUInt32LE(attachType, 8);
  bpf(BPF_PROG_DETACH, attr, 'BPF_PROG_DETACH');
}

/** IDs of the programs attached to a cgroup for `attachType` (its own, not inherited). */
export function queryPrograms(targetFd: number, attachType: number): number[] {
  let size = 64;
  for (let tries = 0; tries < 10; tries++) {
    const attr = new NativeBlock(ATTR_SIZE);
    const ids = new NativeBlock(4 * size);
    attr.view.writeUInt32LE(targetFd, 0);
    attr.view.writeUInt32LE(attachType, 4);
    attr.view.writeBigUInt64LE(ids.address, 16);
    attr.view.writeUInt32LE(size, 24);
    try {
      bpf(BPF_PROG_QUERY, attr, 'BPF_PROG_QUERY');
    } catch (e) {
      if (errnoOf(e) === 'ENOSPC') {
        size = attr.view.readUInt32LE(24);
        continue;
      }
      throw e;
    }
    const n = attr.view.readUInt32LE(24);
    return Array.from({ length: n }, (_, i) => ids.view.readUInt32LE(4 * i));
  }
  throw new Error('BPF_PROG_QUERY: could not get the complete list of programs');
}

/** An fd for a loaded program, by its ID. */
export function programFdById(id: number): number {
  const attr = new NativeBlock(ATTR_SIZE);
  attr.view.writeUInt32LE(id, 0);
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, `BPF_PROG_GET_FD_BY_ID ${id}`);
}

let replaceSupported: boolean | undefined;

/**
 * Whether the kernel knows BPF_F_REPLACE (5.6+): attaching a trivial program
 * with it to a non-cgroup fd fails with EBADF when known, EINVAL when not.
 */
export function haveProgReplace(): boolean {
  if (replaceSupported !== undefined) return replaceSupported;
  replaceSupported = false;
  let prog = -1;
  let devnull = -1;
  try {
    prog = loadProgram(
      BPF_PROG_TYPE_CGROUP_DEVICE,
      [
        { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, // r0 = 0
        { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, // exit
      ],
      'MIT',
    );
    devnull = fs.openSync('/dev/null', 'r');
    try {
      attachProgram({
        targetFd: devnull,
        progFd: prog,
        attachType: BPF_CGROUP_DEVICE,
        flags: BPF_F_ALLOW_MULTI | BPF_F_REPLACE,
      });
    } catch (e) {
      replaceSupported = errnoOf(e) !== 'EINVAL';
    }
  } catch {
    // No bpf at all: the caller's own load reports it.
  } finally {
    if (prog >= 0) fs.closeSync(prog);
    if (devnull >= 0) fs.closeSync(devnull);
  }
  return replaceSupported;
}
