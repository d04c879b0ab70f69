/**
 * /dev inside the container: linux.devices and the default devices made
 * with mknod (or bound from the host where mknod is not allowed: in a user
 * namespace), /dev/ptmx as a link to the devpts instance, and the /dev/fd,
 * stdin, stdout, stderr and core links. As runc does (libcontainer
 * rootfs_linux.go: createDevices, setupPtmx, setupDevSymlinks), all of it
 * is skipped when /dev is bind-mounted from the host.
 */
import fs from 'node:fs';
import { errnoOf as errno } from '../linux/errno.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, closeFd, makedev, moveMountFd, openTree } from '../linux/mount.js';
import { O_CREAT, O_NOFOLLOW, O_PATH, O_RDONLY, fchownFd, mknodat, openat } from '../linux/at-calls.js';
import { cleanPath, type Root } from './securejoin.js';

export interface DeviceSpec {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** runc's default devices (libcontainer/specconv AllowedDevices): always made unless /dev is bind-mounted. */
export const DEFAULT_DEVICES: DeviceSpec[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
];

const S_IFMT = 0o170000;

/** A device's file type bits; "u" (unbuffered) is a character device too. */
function deviceKind(d: DeviceSpec): number {
  switch (d.type) {
    case 'c':
    case 'u':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      throw new Error(`${d.type} is not a valid device type for device ${d.path}`);
  }
}

/** Bind the host's node at the same path (a user namespace may not mknod). */
function bindHostDevice(dirFd: number, name: string, d: DeviceSpec): void {
  let target: number;
  try {
    target = openat(dirFd, name, O_CREAT | O_NOFOLLOW | O_RDONLY, 0o000, d.path);
  } catch (e) {
    throw new Error(`create device inode ${d.path}: ${(e as Error).message}`);
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

function mknodDevice(dirFd: number, name: string, d: DeviceSpec): void {
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
    if (kind !== S_IFIFO && BigInt(st.rdev) !== dev) throw new Error(`new device inode ${d.path} has the wrong major:minor`);
    // mknod's mode is exact with umask 0, except that some filesystems drop bits: set it.
    if ((st.mode & 0o7777) !== mode) fs.chmodSync(`/proc/self/fd/${fd}`, mode);
    fchownFd(fd, d.uid ?? 0, d.gid ?? 0, d.path);
  } finally {
    fs.closeSync(fd);
  }
}

function createDevice(root: Root, d: DeviceSpec, bind: boolean): void {
  if (!d.path) return;
  const { dirFd, name } = root.mkdirAllParent(d.path);
  try {
    if (bind) return bindHostDevice(dirFd, name, d);
    try {
      mknodDevice(dirFd, name, d);
    } catch (e) {
      // As runc: a node already there is kept; EPERM (no CAP_MKNOD, a
      // user namespace made outside runts) falls back to a bind mount.
      if (errno(e) === 'EEXIST') return;
      if (errno(e) === 'EPERM') return bindHostDevice(dirFd, name, d);
      throw e;
    }
  } finally {
    closeFd(dirFd);
  }
}

/**
 * Make the config's devices and runc's defaults (a config device replaces
 * the default of the same path), /dev/ptmx and the /dev links.
 */
export function setupDevices(root: Root, configDevices: DeviceSpec[], inUserNs: boolean): void {
  const byPath = new Map<string, DeviceSpec>();
  for (const d of [...DEFAULT_DEVICES, ...configDevices]) byPath.set(cleanPath(d.path), d);
  for (const [p, d] of byPath) {
    // /dev/ptmx is the devpts instance's (below).
    if (p === '/dev/ptmx') continue;
    try {
      createDevice(root, d, inUserNs);
    } catch (e) {
      throw new Error(`error creating device nodes: ${d.path}: ${(e as Error).message}`);
    }
  }
  try {
    root.unlink('/dev/ptmx');
    root.symlink('pts/ptmx', '/dev/ptmx');
  } catch (e) {
    throw new Error(`error setting up ptmx: ${(e as Error).message}`);
  }
  const links: Array<[string, string]> = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  // kcore may be configured out of the kernel: link it only when the host has it.
  if (fs.existsSync('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  for (const [target, link] of links) {
    try {
      root.symlink(target, link);
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw new Error(`error setting up /dev symlinks: ${(e as Error).message}`);
    }
  }
}

/** True for a character device 1:3. */
export function isDevNull(st: fs.Stats): boolean {
  return (st.mode & S_IFMT) === S_IFCHR && BigInt(st.rdev) === makedev(1, 3);
}
