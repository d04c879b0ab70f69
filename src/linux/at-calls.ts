/**
 * Directory-fd file operations: openat2(2) with its RESOLVE_* flags, and
 * the *at() calls that create, inspect or remove one name in a directory
 * given by an fd. With these, a path inside a container's rootfs is
 * resolved and written without a host path ever being followed (see
 * src/init/securejoin.ts).
 */
import { OPEN_HOW } from './abi-x86_64.js';
import { errnoOf } from './errno.js';
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';
import { namedSyscall } from './syscall.js';

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_RECURSIVE = 0x8000;
export const AT_EMPTY_PATH = 0x1000;

export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
  CACHED: 0x20,
} as const;

const I64 = DataType.I64;
const I32 = DataType.I32;
const STR = DataType.String;

const openat2Call = namedSyscall('openat2', [I64, STR, I64, I64]);
const openatCall = libcFunction('openat', I32, [I32, STR, I32, DataType.U32]);
const mkdiratCall = libcFunction('mkdirat', I32, [I32, STR, DataType.U32]);
const mknodatCall = libcFunction('mknodat', I32, [I32, STR, DataType.U32, DataType.U64]);
const symlinkatCall = libcFunction('symlinkat', I32, [STR, I32, STR]);
const unlinkatCall = libcFunction('unlinkat', I32, [I32, STR, I32]);
const readlinkatCall = libcFunction('readlinkat', I64, [I32, STR, I64, I64]);
const fchownatCall = libcFunction('fchownat', I32, [I32, STR, DataType.U32, DataType.U32, I32]);

let openat2Missing = false;
let howBlock: NativeBlock | undefined;
let linkBlock: NativeBlock | undefined;

/** True unless the kernel said ENOSYS to openat2 (before Linux 5.6). */
export function hasOpenat2(): boolean {
  return !openat2Missing;
}

/** Tests: behave as on a kernel without openat2 (the component walk does every lookup). */
export function pretendNoOpenat2(on: boolean): void {
  openat2Missing = on;
}

/**
 * openat2(2). `subject` names the path in errors. Throws SyscallError; on a
 * kernel without openat2 the error is ENOSYS (and hasOpenat2() turns false).
 */
export function openat2(
  dirfd: number,
  path: string,
  flags: number,
  mode: number,
  resolve: number,
  subject?: string,
): number {
  // struct open_how { u64 flags; u64 mode; u64 resolve; }, reused: the init is single-threaded JS.
  howBlock ??= new NativeBlock(32);
  const b = howBlock;
  b.view.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), OPEN_HOW.FLAGS);
  b.view.writeBigUInt64LE(BigInt(mode), OPEN_HOW.MODE);
  b.view.writeBigUInt64LE(BigInt(resolve), OPEN_HOW.RESOLVE);
  for (;;) {
    try {
      return openat2Call([dirfd, path, Number(b.address), OPEN_HOW.SIZE], subject ?? path);
    } catch (e) {
      const code = errnoOf(e);
      // EAGAIN: a rename or mount raced with RESOLVE_IN_ROOT's `..` check; retry.
      if (code === 'EAGAIN') continue;
      if (code === 'ENOSYS') openat2Missing = true;
      throw e;
    }
  }
}

export function openat(dirfd: number, path: string, flags: number, mode = 0, subject?: string): number {
  return openatCall([dirfd, path, flags | O_CLOEXEC, mode], subject ?? path);
}

export function mkdirat(dirfd: number, name: string, mode: number, subject?: string): void {
  mkdiratCall([dirfd, name, mode], subject ?? name);
}

export function mknodat(dirfd: number, name: string, mode: number, dev: bigint, subject?: string): void {
  mknodatCall([dirfd, name, mode, Number(dev)], subject ?? name);
}

export function symlinkat(target: string, dirfd: number, name: string, subject?: string): void {
  symlinkatCall([target, dirfd, name], subject ?? name);
}

export function unlinkat(dirfd: number, name: string, flags: number, subject?: string): void {
  unlinkatCall([dirfd, name, flags], subject ?? name);
}

/** The target of the symlink `name` in `dirfd` (name "" with an O_PATH fd of the link itself). */
export function readlinkat(dirfd: number, name: string, subject?: string): string {
  linkBlock ??= new NativeBlock(4112);
  const b = linkBlock;
  const n = readlinkatCall([dirfd, name, Number(b.address), 4096], subject ?? name);
  return b.view.toString('utf8', 0, n);
}

/** chown of what `fd` is (an O_PATH fd too), never following a symlink. */
export function fchownFd(fd: number, uid: number, gid: number, subject?: string): void {
  fchownatCall([fd, '', uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW], subject ?? `fd ${fd}`);
}
