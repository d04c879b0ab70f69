/** mount(2) and friends. */
import { errnoOf, SyscallError } from './errno.js';
import { DataType, libcFunction } from './libc.js';
import { namedSyscall } from './syscall.js';
import { NativeBlock } from './memory.js';

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

const mountCall = libcFunction('mount', DataType.I32, [
  DataType.String,
  DataType.String,
  DataType.String,
  DataType.I64,
  DataType.String,
]);
const umount2Call = libcFunction('umount2', DataType.I32, [DataType.String, DataType.I32]);
const chrootCall = libcFunction('chroot', DataType.I32, [DataType.String]);
const chdirCall = libcFunction('chdir', DataType.I32, [DataType.String]);
const fchdirCall = libcFunction('fchdir', DataType.I32, [DataType.I32]);
const pivotRootCall = namedSyscall('pivot_root', [DataType.String, DataType.String]);
const mknodCall = libcFunction('mknod', DataType.I32, [DataType.String, DataType.U32, DataType.U64]);

/** mount(2); `subject` names the mount in errors, e.g. "proc to /proc". */
export function mount(
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string,
  subject?: string,
): void {
  mountCall([source, target, fstype, flags, data], subject ?? `${source || fstype || '""'} to ${target}`);
}

export function umount2(target: string, flags: number): void {
  umount2Call([target, flags], target);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  pivotRootCall([newRoot, putOld], newRoot);
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

// The new mount API (Linux 5.2; mount_setattr 5.12): mounts handled as fds,
// so a mount is made on exactly the directory that was opened, set up
// while still detached, and found again afterwards without a path.

export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The atime "enum": clear all of it to set one of RELATIME (0), NOATIME, STRICTATIME. */
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
export const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;

const I64 = DataType.I64;
const STR = DataType.String;

const openTreeCall = namedSyscall('open_tree', [I64, STR, I64]);
const moveMountCall = namedSyscall('move_mount', [I64, STR, I64, STR, I64]);
const mountSetattrCall = namedSyscall('mount_setattr', [I64, STR, I64, I64, I64]);
const fsopenCall = namedSyscall('fsopen', [STR, I64]);
const fsconfigCall = namedSyscall('fsconfig', [I64, I64, STR, STR, I64]);
const fsconfigFlagCall = namedSyscall('fsconfig', [I64, I64, STR, I64, I64]);
const fsconfigCmdCall = namedSyscall('fsconfig', [I64, I64, I64, I64, I64]);
const fsmountCall = namedSyscall('fsmount', [I64, I64, I64]);
const readCall = libcFunction('read', I64, [DataType.I32, I64, I64]);

/**
 * open_tree(2): an O_PATH fd of `path` (relative to `dirfd`; "" with
 * `emptyPath` for `dirfd` itself), or with `clone` a detached copy of the
 * mount there (recursive: of the whole tree under it), like a bind mount
 * that is not attached anywhere yet.
 */
export function openTree(
  dirfd: number,
  path: string,
  o: { clone?: boolean; recursive?: boolean; emptyPath?: boolean },
  subject?: string,
): number {
  const flags =
    OPEN_TREE_CLOEXEC |
    (o.clone ? OPEN_TREE_CLONE : 0) |
    (o.recursive ? AT_RECURSIVE : 0) |
    (o.emptyPath ? AT_EMPTY_PATH : 0);
  return openTreeCall([dirfd, path, flags], subject ?? path);
}

/** move_mount(2) of the mount `fromFd` is (detached or attached) onto what `toFd` is. */
export function moveMountFd(fromFd: number, toFd: number, subject: string): void {
  moveMountCall([fromFd, '', toFd, '', MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH], subject);
}

export interface MountAttr {
  set?: number;
  clear?: number;
  /** One of MS.PRIVATE, MS.SLAVE, MS.SHARED, MS.UNBINDABLE. */
  propagation?: number;
  usernsFd?: number;
}

let attrBlock: NativeBlock | undefined;

/**
 * mount_setattr(2) on the mount `fd` is (AT_EMPTY_PATH), or with
 * `recursive` on it and every mount under it. Only the attributes named
 * change: flags the kernel locked stay as they are unless a request would
 * clear them (EPERM).
 */
export function mountSetattr(fd: number, attr: MountAttr, recursive: boolean, subject: string): void {
  mountSetattrCall(
    [fd, '', AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), mountAttrStruct(attr), 32],
    subject,
  );
}

/** struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd }, in one reused block. */
function mountAttrStruct(attr: MountAttr): number {
  attrBlock ??= new NativeBlock(64);
  const v = attrBlock.view;
  v.writeBigUInt64LE(BigInt(attr.set ?? 0), 0);
  v.writeBigUInt64LE(BigInt(attr.clear ?? 0), 8);
  v.writeBigUInt64LE(BigInt(attr.propagation ?? 0), 16);
  v.writeBigUInt64LE(BigInt(attr.usernsFd ?? 0), 24);
  return Number(attrBlock.address);
}

/** mount_setattr(2) on a path (e.g. "/" after pivot_root). */
export function mountSetattrPath(path: string, attr: MountAttr, recursive: boolean, subject?: string): void {
  mountSetattrCall([-100, path, recursive ? AT_RECURSIVE : 0, mountAttrStruct(attr), 32], subject ?? path);
}

/** The kernel's messages about a filesystem context (fsopen fd), for errors. */
function fsContextLog(fsfd: number): string {
  const b = new NativeBlock(1100);
  const lines: string[] = [];
  for (let i = 0; i < 16; i++) {
    let n: number;
    try {
      n = readCall([fsfd, Number(b.address), 1024]);
    } catch {
      break;
    }
    if (n <= 0) break;
    lines.push(b.view.toString('utf8', 0, n).replace(/^[ewi] /, ''));
  }
  return lines.join('; ');
}

/** A failed fsopen/fsconfig/fsmount, with the kernel's own words when it gave some. */
export class FsMountError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'FsMountError';
  }
}

/** Split mount data at commas outside double quotes (SELinux contexts hold commas). */
export function splitMountData(data: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of data) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * A new filesystem as a detached mount: fsopen(fstype), each option of
 * `data` (key=value or flag) and each superblock flag name through
 * fsconfig, create, fsmount with the per-mount `attrs`. Returns the mount
 * fd, to be attached with moveMountFd.
 */
export function newFsMount(
  fstype: string,
  source: string,
  sbFlags: string[],
  data: string,
  attrs: number,
  subject: string,
): number {
  let fsfd: number;
  try {
    fsfd = fsopenCall([fstype, FSOPEN_CLOEXEC], subject);
  } catch (e) {
    // ENODEV: no such filesystem type, as mount(2) would say.
    if (e instanceof SyscallError) throw new FsMountError(`mount ${subject}: ${e.code}`, e.code);
    throw e;
  }
  const fail = (e: unknown, what: string): never => {
    const log = fsContextLog(fsfd);
    if (!(e instanceof SyscallError)) throw e;
    throw new FsMountError(`mount ${subject}: ${what}: ${e.code}${log ? ` (${log})` : ''}`, e.code);
  };
  try {
    if (source) {
      try {
        fsconfigCall([fsfd, FSCONFIG_SET_STRING, 'source', source, 0], subject);
      } catch (e) {
        fail(e, `source ${source}`);
      }
    }
    for (const flag of sbFlags) {
      try {
        fsconfigFlagCall([fsfd, FSCONFIG_SET_FLAG, flag, 0, 0], subject);
      } catch (e) {
        fail(e, `option ${flag}`);
      }
    }
    for (const opt of splitMountData(data)) {
      const eq = opt.indexOf('=');
      try {
        if (eq < 0) fsconfigFlagCall([fsfd, FSCONFIG_SET_FLAG, opt, 0, 0], subject);
        else {
          let value = opt.slice(eq + 1);
          if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
          fsconfigCall([fsfd, FSCONFIG_SET_STRING, opt.slice(0, eq), value, 0], subject);
        }
      } catch (e) {
        fail(e, `option ${opt}`);
      }
    }
    try {
      fsconfigCmdCall([fsfd, FSCONFIG_CMD_CREATE, 0, 0, 0], subject);
    } catch (e) {
      fail(e, 'create');
    }
    try {
      return fsmountCall([fsfd, FSMOUNT_CLOEXEC, attrs], subject);
    } catch (e) {
      return fail(e, 'fsmount');
    }
  } finally {
    closeFd(fsfd);
  }
}

const closeCall = libcFunction('close', DataType.I32, [DataType.I32]);
export function closeFd(fd: number): void {
  try {
    closeCall([fd]);
  } catch {}
}

let idmapProbe: boolean | undefined;
/**
 * Whether idmapped mounts can be made here: the kernel has mount_setattr
 * (5.12; asked on an invalid fd: EBADF, not ENOSYS). Whether a given
 * filesystem supports them shows only when one is made.
 */
export function idmapMountsSupported(): boolean {
  if (idmapProbe === undefined) {
    try {
      mountSetattr(-1, {}, false, 'probe');
      idmapProbe = true;
    } catch (e) {
      idmapProbe = errnoOf(e) !== 'ENOSYS';
    }
  }
  return idmapProbe;
}
