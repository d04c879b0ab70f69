/** mount(2) and friends. */
import { DataType, libcFunction } from './libc.js';

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

export const MNT_DETACH = 2;

const mountCall = libcFunction('mount', DataType.I32, [DataType.String, DataType.String, DataType.String, DataType.I64, DataType.String]);
const umount2Call = libcFunction('umount2', DataType.I32, [DataType.String, DataType.I32]);
const chrootCall = libcFunction('chroot', DataType.I32, [DataType.String]);
const chdirCall = libcFunction('chdir', DataType.I32, [DataType.String]);
const fchdirCall = libcFunction('fchdir', DataType.I32, [DataType.I32]);
const syscall2 = libcFunction('syscall', DataType.I64, [DataType.I64, DataType.String, DataType.String]);
const mknodCall = libcFunction('mknod', DataType.I32, [DataType.String, DataType.U32, DataType.U64]);

const SYS_pivot_root = 155;

/** mount(2); `subject` names the mount in errors, e.g. "proc to /proc". */
export function mount(source: string, target: string, fstype: string, flags: number, data: string, subject?: string): void {
  mountCall([source, target, fstype, flags, data], subject ?? `${source || fstype || '""'} to ${target}`);
}

export function umount2(target: string, flags: number): void {
  umount2Call([target, flags], target);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  syscall2([SYS_pivot_root, newRoot, putOld], newRoot);
}

export function chroot(path: string): void {
  chrootCall([path], path);
}

export function chdir(path: string): void {
  chdirCall([path], path);
}

export function fchdir(fd: number): void {
  fchdirCall([fd], `fd ${fd}`);
}

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export function mknod(path: string, mode: number, dev: bigint): void {
  mknodCall([path, mode, Number(dev)], path);
}
