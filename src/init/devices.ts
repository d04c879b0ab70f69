/**
 * /dev inside the container, one step of the rootfs plan at a time
 * (rootfs-plan.ts decides which: linux.devices and runc's defaults, ptmx,
 * the /dev links; nothing when /dev is bind-mounted from the host): device
 * nodes made with mknod (or bound from the host where mknod is not allowed:
 * in a user namespace), /dev/ptmx as a link to the devpts instance, and the
 * links. As runc does (libcontainer rootfs_linux.go: createDevices,
 * setupPtmx, setupDevSymlinks).
 */
import fs from 'node:fs';
import { errnoOf as errno } from '../linux/errno.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, closeFd, makedev, moveMountFd, openTree } from '../linux/mount.js';
import { O_CREAT, O_NOFOLLOW, O_PATH, O_RDONLY, fchownFd, mknodat, openat } from '../linux/at-calls.js';
import type { LinuxDevice } from '../spec/types.gen.js';
import type { Root } from './securejoin.js';

const S_IFMT = 0o170000;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A device's file type bits; "u" (unbuffered) is a character device too. */
function deviceKind(d: LinuxDevice): number {
  switch (d.type) {
    case 'c':
    case 'u':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default: {
      // The schema allows no other type: a config that skipped validation.
      const type: string = d.type;
      throw new Error(`${type} is not a valid device type for device ${d.path}`);
    }
  }
}

/** Bind the host's node at the same path (a user namespace may not mknod). */
function bindHostDevice(dirFd: number, name: string, d: LinuxDevice): void {
  let target: number;
  try {
    target = openat(dirFd, name, O_CREAT | O_NOFOLLOW | O_RDONLY, 0o000, d.path);
  } catch (e) {
    throw new Error(`create device inode ${d.path}: ${messageOf(e)}`, { cause: e });
  }
  let tree: number | undefined;
  try {
    tree = openTree(-100, d.path, { clone: true }, `device ${d.path} of the host`);
    moveMountFd(tree, target, `bind device ${d.path}`);
  } finally {
    if (tree !== undefined) closeFd(tree);
    closeFd(target);
  }
}

function mknodDevice(dirFd: number, name: string, d: LinuxDevice): void {
  const kind = deviceKind(d);
  const mode = (d.fileMode ?? 0o666) & 0o7777;
  const dev = kind === S_IFIFO ? 0n : makedev(d.major ?? 0, d.minor ?? 0);
  const oldUmask = process.umask(0);
  try {
    mknodat(dirFd, name, kind | mode, dev, d.path);
  } finally {
    process.umask(oldUmask);
  }
  // Verify what was made before changing it (nothing may have raced in).
  const fd = openat(dirFd, name, O_PATH | O_NOFOLLOW, 0, d.path);
  try {
    const st = fs.fstatSync(fd);
    if ((st.mode & S_IFMT) !== kind) throw new Error(`new device inode ${d.path} has the wrong file type`);
    if (kind !== S_IFIFO && BigInt(st.rdev) !== dev)
      throw new Error(`new device inode ${d.path} has the wrong major:minor`);
    // mknod's mode is exact with umask 0, except that some filesystems drop bits: set it.
    if ((st.mode & 0o7777) !== mode) fs.chmodSync(`/proc/self/fd/${fd}`, mode);
    fchownFd(fd, d.uid ?? 0, d.gid ?? 0, d.path);
  } finally {
    fs.closeSync(fd);
  }
}

/** A device node at d.path: mknod, or a bind of the host's node (`bind`, or mknod refused). */
export function createDevice(root: Root, d: LinuxDevice, bind: boolean): void {
  if (!d.path) return;
  const { dirFd, name } = root.mkdirAllParent(d.path);
  try {
    if (bind) {
      bindHostDevice(dirFd, name, d);
      return;
    }
    try {
      mknodDevice(dirFd, name, d);
    } catch (e) {
      // As runc: a node already there is kept; EPERM (no CAP_MKNOD, a
      // user namespace made outside runts) falls back to a bind mount.
      if (errno(e) === 'EEXIST') return;
      if (errno(e) === 'EPERM') {
        bindHostDevice(dirFd, name, d);
        return;
      }
      throw e;
    }
  } finally {
    closeFd(dirFd);
  }
}

/** /dev/ptmx: a link to the devpts instance's ptmx (whatever was there is replaced). */
export function linkDevPtmx(root: Root): void {
  root.unlink('/dev/ptmx');
  root.symlink('pts/ptmx', '/dev/ptmx');
}

/** A link in /dev (e.g. /dev/fd to /proc/self/fd); EEXIST is the caller's to judge. */
export function linkInDev(root: Root, target: string, link: string): void {
  root.symlink(target, link);
}

/** True for a character device 1:3. */
export function isDevNull(st: fs.Stats): boolean {
  return (st.mode & S_IFMT) === S_IFCHR && BigInt(st.rdev) === makedev(1, 3);
}
