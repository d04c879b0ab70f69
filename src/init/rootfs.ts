/**
 * The container's filesystem, built inside its mount namespace: the rootfs
 * as a mount point, the config's mounts, /dev, then pivot_root, and the
 * read-only and masked paths.
 *
 * Safety against a hostile image: every mount target and every file made
 * inside the rootfs is resolved inside it (securejoin.ts: openat2
 * RESOLVE_IN_ROOT or a component walk on fds) and the mount is made on the
 * opened fd, never on a path that could be looked up again: bind mounts are
 * detached copies (open_tree) moved onto the target fd, new filesystems are
 * fsopen/fsmount mounts moved the same way (move_mount), and their flags
 * are set through mount_setattr on the mount's own fd. A symlink in the
 * image (absolute, relative, `..`, or swapped in during setup) can
 * therefore not redirect a mount or a write to the host.
 *
 * Needs Linux 5.12 (mount_setattr); the features document reports idmapped
 * mounts only where it is there.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  MNT_DETACH,
  MOUNT_ATTR,
  MS,
  chdir,
  chroot,
  closeFd,
  FsMountError,
  fchdir,
  mount,
  mountSetattr,
  mountSetattrPath,
  moveMountFd,
  newFsMount,
  openTree,
  pivotRoot,
  umount2,
} from '../linux/mount.js';
import { errnoOf as errno, SyscallError } from '../linux/errno.js';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, mkdirat, openat } from '../linux/at-calls.js';
import type { Spec } from '../spec/types.gen.js';
import { parseMountOptions, PROPAGATION_OPTIONS, type ParsedMountOptions } from './mount-options.js';
import { Root, cleanPath } from './securejoin.js';
import { isDevNull, setupDevices, type DeviceSpec } from './devices.js';
import { formatMountLabel } from './lsm.js';
import { fsType } from '../linux/procfs.js';
import { readMountinfo } from '../linux/mountinfo.js';

export interface RootfsOptions {
  spec: Spec;
  rootfs: string;
  /** The bundle: relative bind sources are relative to it. */
  bundle?: string;
  inUserNs: boolean;
  /** The init's own cgroup paths (controller → path) for the v1 cgroup mount. */
  cgroupPaths: Map<string, string>;
  cgroupNs: boolean;
  /**
   * Detached mounts `create` prepared on the host (idmapped bind mounts),
   * as inherited fds keyed by the mount's index in spec.mounts.
   */
  mountFds?: Record<string, number> | undefined;
  /**
   * Bind sources `create` opened (O_PATH) in our mount namespace as host
   * root (process/mount-sources.ts), keyed by the mount's index.
   */
  bindSourceFds?: Record<string, number>;
}

interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** What the steps share: the rootfs handle and mounts to make read-only once /dev and submounts are made. */
interface State {
  root?: Root;
  deferredReadonly: Array<{ fd: number; subject: string }>;
}
const state: State = { deferredReadonly: [] };

function rootOf(o: RootfsOptions): Root {
  state.root ??= Root.open(o.rootfs);
  return state.root;
}

/** The per-mount MS_* flags that are one MOUNT_ATTR_* each, set or cleared alike. */
const PLAIN_FLAG_ATTRS: Array<[flag: number, attr: number]> = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY],
  [MS.NOSUID, MOUNT_ATTR.NOSUID],
  [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC],
  [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
];

function plainAttrsOf(flags: number): number {
  return PLAIN_FLAG_ATTRS.reduce((a, [flag, attr]) => (flags & flag ? a | attr : a), 0);
}

/** Per-mount MS_* flags as MOUNT_ATTR_* (atime: strictatime over noatime over relatime, as mount(2)). */
function mountAttrsOf(flags: number): number {
  let a = plainAttrsOf(flags);
  if (flags & MS.NODIRATIME) a |= MOUNT_ATTR.NODIRATIME;
  if (flags & MS.STRICTATIME) a |= MOUNT_ATTR.STRICTATIME;
  else if (flags & MS.NOATIME) a |= MOUNT_ATTR.NOATIME;
  return a;
}

/** Superblock flags of a new filesystem, as fsconfig flag names. */
function sbFlagsOf(flags: number): string[] {
  const names: string[] = [];
  if (flags & MS.RDONLY) names.push('ro');
  if (flags & MS.SYNCHRONOUS) names.push('sync');
  if (flags & MS.DIRSYNC) names.push('dirsync');
  if (flags & MS.MANDLOCK) names.push('mand');
  if (flags & MS.LAZYTIME) names.push('lazytime');
  return names;
}

const ATIME_FLAGS = MS.NOATIME | MS.RELATIME | MS.STRICTATIME | MS.NODIRATIME;
const PLAIN_ATTRS = PLAIN_FLAG_ATTRS.reduce((a, [, attr]) => a | attr, 0);

/**
 * The flags of a bind mount, as runc gives them. A bind mount keeps its
 * source's flags when the config names none; otherwise (mount --bind -o)
 * it gets exactly the flags named: ro, nosuid, nodev, noexec, nosymfollow
 * not named are cleared, and the atime mode changes only when one is named.
 * Where the kernel locked some of the source's flags (a mount inherited
 * into a user namespace), the locked flags are kept (mount --bind -o
 * remount), and asking to clear one of them is an error.
 */
function setBindFlags(tree: number, opts: ParsedMountOptions, subject: string): void {
  if ((opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT)) === 0 && opts.cleared === 0) return;
  const set = mountAttrsOf(opts.flags);
  const atime = (opts.flags & ATIME_FLAGS) !== 0 ? MOUNT_ATTR._ATIME | MOUNT_ATTR.NODIRATIME : 0;
  const exact = { set, clear: (PLAIN_ATTRS & ~set) | atime };
  const keepLocked = { set, clear: (plainAttrsOf(opts.cleared) & ~set) | atime };
  const first = opts.flags & MS.REMOUNT ? keepLocked : exact;
  try {
    mountSetattr(tree, first, false, subject);
  } catch (e) {
    if (errno(e) !== 'EPERM' || first === keepLocked) throw lockedError(e, subject);
    try {
      mountSetattr(tree, keepLocked, false, subject);
    } catch (e2) {
      throw lockedError(e2, subject);
    }
  }
}

function lockedError(e: unknown, subject: string): Error {
  if (errno(e) !== 'EPERM') return e as Error;
  return new Error(`mount ${subject}: cannot change flags the kernel locked on the source mount (it was inherited into this user namespace): EPERM`);
}

/** Propagation options and the r* attributes, on the mount `fd` is (attached). */
function setPropagation(fd: number, opts: ParsedMountOptions, subject: string): void {
  for (const p of opts.propagation) {
    mountSetattr(fd, { propagation: p & ~MS.REC }, (p & MS.REC) !== 0, `set propagation of ${subject}`);
  }
}

function setRecursive(fd: number, opts: ParsedMountOptions, subject: string): void {
  if (opts.recursive) mountSetattr(fd, opts.recursive, true, `set recursive attributes of ${subject}`);
}

/** Step 1: private propagation and the rootfs as its own mount point. */
export function prepareRoot(o: RootfsOptions): void {
  const prop = o.spec.linux?.rootfsPropagation || undefined;
  let rootFlag = prop ? PROPAGATION_OPTIONS[prop] : MS.SLAVE | MS.REC;
  // Unbindable is for the container's / (finishRoot): the host's tree,
  // where bind sources come from, is only made private here.
  if (rootFlag & MS.UNBINDABLE) rootFlag = MS.PRIVATE | (rootFlag & MS.REC);
  mount('', '/', '', rootFlag, '', `make / ${prop ?? 'rslave'}`);
  makeParentMountPrivate(o.rootfs, rootFlag);
  mount(o.rootfs, o.rootfs, '', MS.BIND | MS.REC, '', `bind rootfs ${o.rootfs}`);
  state.root?.close();
  state.root = Root.open(o.rootfs);
}

/**
 * The mount holding the rootfs must not be shared: pivot_root refuses it,
 * and the rootfs bind (and every mount under it) would propagate to the
 * host. Made slave when the root propagation is a slave mode, else private
 * (runc's rootfsParentMountPropagation): mount(2) says EINVAL on a
 * directory that is not a mount point, so walk up to the one that is.
 */
function makeParentMountPrivate(rootfs: string, rootFlag: number): void {
  const flag = rootFlag & MS.SLAVE ? MS.SLAVE : MS.PRIVATE;
  for (let p = rootfs; ; p = path.dirname(p)) {
    try {
      mount('', p, '', flag, '', `make ${p} ${flag === MS.SLAVE ? 'slave' : 'private'}`);
      return;
    } catch (e) {
      if (errno(e) !== 'EINVAL' || p === '/') throw e;
    }
  }
}

/** Step 2: the config's mounts, in order. */
export function mountAll(o: RootfsOptions): void {
  const mounts: Mount[] = o.spec.mounts ?? [];
  mounts.forEach((m, i) => {
    try {
      mountOne(o, m, o.mountFds?.[String(i)], o.bindSourceFds?.[String(i)]);
    } catch (e) {
      // Errors of mount(2) and fsopen already name the mount ("mount none to /broken: ENODEV").
      if (e instanceof FsMountError || (e instanceof SyscallError && e.syscall === 'mount')) throw e;
      throw new Error(`mount ${m.source ?? m.type ?? ''} to ${m.destination}: ${(e as Error).message}`);
    }
  });
}

/**
 * Open (creating if needed) the target of a mount inside the rootfs, and
 * refuse what runc refuses: the rootfs itself, and places in /proc a
 * mount could hide or fake (checkProcMount).
 */
function openTarget(o: RootfsOptions, m: Mount, asFile: boolean, source?: { fd?: number; path?: string }): number {
  return openTargetOf(o, m, asFile, source).fd;
}

function openTargetOf(o: RootfsOptions, m: Mount, asFile: boolean, source?: { fd?: number; path?: string }): { fd: number; created: boolean } {
  const root = rootOf(o);
  const dest = cleanPath(m.destination);
  let fd: number;
  let created = false;
  if (m.type === 'proc' || m.type === 'sysfs') {
    // Never through a symlink, even one inside the rootfs (CVE-2019-19921).
    const existing = root.tryOpen(dest, O_PATH, true);
    if (existing !== undefined) {
      const isDir = fs.fstatSync(existing).isDirectory();
      closeFd(existing);
      if (!isDir) throw new Error(`filesystem "${m.type}" must be mounted on ordinary directory`);
    }
    ({ fd, created } = root.openOrCreate(dest, false));
  } else {
    ({ fd, created } = root.openOrCreate(dest, asFile));
  }
  try {
    if (root.isRoot(fd)) throw new Error(`mountpoint ${dest} resolves to the root of the container (${root.path})`);
    const real = root.pathOf(fd);
    if (real !== root.path && !real.startsWith(root.path.endsWith('/') ? root.path : root.path + '/')) {
      throw new Error(`mountpoint ${dest} is outside of rootfs ${root.path} (${real})`);
    }
    checkProcMount(real.slice(root.path.length) || '/', m, source);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return { fd, created };
}

const PROC_SUPER_MAGIC = 0x9fa0;
/** What lxcfs emulates: the only files in /proc a mount may cover. */
const VALID_PROC_MOUNTS = [
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
];

/** runc's checkProcMount, on the target's resolved path inside the container. */
function checkProcMount(dest: string, m: Mount, source?: { fd?: number; path?: string }): void {
  if (dest !== '/proc' && !dest.startsWith('/proc/')) return;
  if (dest === '/proc') {
    if (m.type === 'proc') return;
    if (source?.fd !== undefined && fsType(source.fd) === PROC_SUPER_MAGIC) return;
    throw new Error(`"${dest}" cannot be mounted because it is not of type proc`);
  }
  if (VALID_PROC_MOUNTS.includes(dest)) return;
  throw new Error(`"${dest}" cannot be mounted because it is inside /proc`);
}


function mountOne(o: RootfsOptions, m: Mount, preparedFd: number | undefined, sourceFd?: number): void {
  const opts = parseMountOptions(m.options);
  const isBind = m.type === 'bind' || (opts.flags & MS.BIND) !== 0;
  const subject = `${m.source ?? m.type ?? ''} to ${m.destination}`;
  if (opts.idmap && !isBind) throw new Error('id-mapped mounts are only supported for bind-mounts');
  if (isBind) return bindMount(o, m, opts, preparedFd, subject, sourceFd);
  if (opts.flags & MS.REMOUNT) return remountExisting(o, m, opts, subject);
  if (m.type === 'cgroup') return mountCgroup(o, m, opts);
  if (m.type === 'cgroup2') return mountCgroup2(o, m, opts);
  newFilesystem(o, m, opts, subject);
}

/** A bind mount: a detached copy of the source, its flags set, moved onto the target. */
function bindMount(o: RootfsOptions, m: Mount, opts: ParsedMountOptions, preparedFd: number | undefined, subject: string, sourceFd?: number): void {
  // Data options mean nothing to a bind mount: ignored, as runc 1.1 and the
  // kernel do (runc 1.2 refuses them, but runtime-tools' own tests send them).
  const rec = (opts.flags & MS.REC) !== 0;
  let tree: number;
  if (preparedFd !== undefined) {
    tree = preparedFd;
  } else {
    if (opts.idmap || (m as { uidMappings?: unknown }).uidMappings) throw new Error('id-mapped mount was not prepared by runts create');
    const source = path.resolve(o.bundle ?? '/', m.source ?? '');
    try {
      // Opened by create when we may not reach it ourselves: clone what it opened.
      tree = sourceFd !== undefined
        ? openTree(sourceFd, '', { clone: true, recursive: rec, emptyPath: true }, source)
        : openTree(-100, source, { clone: true, recursive: rec }, source);
    } catch (e) {
      throw new Error(`bind source ${source}: ${errno(e) ?? (e as Error).message}`);
    } finally {
      if (sourceFd !== undefined) closeFd(sourceFd);
    }
  }
  try {
    const asFile = !fs.fstatSync(tree).isDirectory();
    setBindFlags(tree, opts, subject);
    setRecursive(tree, opts, subject);
    const target = openTarget(o, m, asFile, { fd: tree });
    try {
      moveMountFd(tree, target, subject);
    } finally {
      closeFd(target);
    }
    setPropagation(tree, opts, subject);
  } finally {
    closeFd(tree);
  }
}

/** Where a new mount's read-only flag must wait: /dev (devices come later) and tmpfs (mount points may be made in it). */
function deferReadonly(m: Mount): boolean {
  return m.type === 'tmpfs' || cleanPath(m.destination) === '/dev';
}

/** A new filesystem (tmpfs, proc, sysfs, mqueue, devpts, overlay...), made detached and moved onto the target. */
function newFilesystem(o: RootfsOptions, m: Mount, opts: ParsedMountOptions, subject: string): void {
  const type = m.type ?? '';
  const { fd: target, created } = openTargetOf(o, m, false);
  try {
    let data = opts.data;
    if (type === 'tmpfs' && !created) {
      // As runc: the tmpfs gets the mode of the directory it covers, unless data says otherwise.
      const mode = fs.fstatSync(target).mode & 0o7777;
      data = `mode=${mode.toString(8).padStart(4, '0')}${data ? ',' + data : ''}`;
    }
    if (type !== 'proc' && type !== 'sysfs' && type !== 'mqueue') data = formatMountLabel(data, o.spec.linux?.mountLabel);
    const defer = deferReadonly(m) && (opts.flags & MS.RDONLY) !== 0;
    const flags = defer ? opts.flags & ~MS.RDONLY : opts.flags;
    let mnt: number;
    try {
      mnt = newFsMount(type, m.source ?? type, sbFlagsOf(flags), data, mountAttrsOf(flags), subject);
    } catch (e) {
      if (errno(e) === 'EPERM' && o.inUserNs && (type === 'sysfs' || type === 'mqueue')) {
        // A user namespace that does not own the network (sysfs) or IPC
        // (mqueue) namespace may not mount them: bind the host's, as runc does.
        return bindFallback(type === 'sysfs' ? '/sys' : '/dev/mqueue', opts.flags | (type === 'sysfs' ? MS.RDONLY : 0), opts, target, subject);
      }
      throw e;
    }
    try {
      if (opts.tmpcopyup) copyUp(target, mnt);
      setRecursive(mnt, opts, subject);
      moveMountFd(mnt, target, subject);
      setPropagation(mnt, opts, subject);
    } catch (e) {
      closeFd(mnt);
      throw e;
    }
    if (defer) state.deferredReadonly.push({ fd: mnt, subject });
    else closeFd(mnt);
  } finally {
    closeFd(target);
  }
}

function bindFallback(source: string, flags: number, opts: ParsedMountOptions, target: number, subject: string): void {
  const tree = openTree(-100, source, { clone: true, recursive: true }, source);
  try {
    setBindFlags(tree, { ...opts, flags: flags | MS.BIND | MS.REC, cleared: 0 }, subject);
    moveMountFd(tree, target, subject);
    setPropagation(tree, opts, subject);
  } finally {
    closeFd(tree);
  }
}

/** "remount" on a mount the rootfs already has at the destination: mount(2) with MS_REMOUNT through the target's fd. */
function remountExisting(o: RootfsOptions, m: Mount, opts: ParsedMountOptions, subject: string): void {
  const target = rootOf(o).open(cleanPath(m.destination));
  try {
    mount(m.source ?? '', `/proc/self/fd/${target}`, m.type ?? '', opts.flags, opts.data, subject);
  } finally {
    closeFd(target);
  }
}

type TreeEntry = { rel: string; st: fs.Stats; data?: Buffer; link?: string };

/** What a directory holds (dirs, files, symlinks), read before a tmpfs hides it. */
function readTree(dir: string, rel = '', out: TreeEntry[] = []): TreeEntry[] {
  for (const name of fs.readdirSync(path.join(dir, rel))) {
    const r = path.join(rel, name);
    const p = path.join(dir, r);
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      out.push({ rel: r, st });
      readTree(dir, r, out);
    } else if (st.isSymbolicLink()) out.push({ rel: r, st, link: fs.readlinkSync(p) });
    else if (st.isFile()) {
      // Never through a symlink swapped in since the lstat.
      const fd = fs.openSync(p, fs.constants.O_RDONLY | O_NOFOLLOW);
      try {
        out.push({ rel: r, st, data: fs.readFileSync(fd) });
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  return out;
}

/** tmpcopyup: the tmpfs at `dir` gets a copy of what the directory held. */
function writeTree(dir: string, entries: TreeEntry[]): void {
  for (const e of entries) {
    const p = path.join(dir, e.rel);
    if (e.link !== undefined) fs.symlinkSync(e.link, p);
    else if (e.data) fs.writeFileSync(p, e.data);
    else fs.mkdirSync(p);
    fs.lchownSync(p, e.st.uid, e.st.gid);
    if (e.link === undefined) fs.chmodSync(p, e.st.mode & 0o7777);
  }
}

/** tmpcopyup: copy the covered directory (fd `from`) into the new, still detached tmpfs (fd `to`). */
function copyUp(from: number, to: number): void {
  writeTree(`/proc/self/fd/${to}`, readTree(`/proc/self/fd/${from}`));
}

/** cgroup2 asked for by type: a fresh mount, or the host's bound when not allowed. */
function mountCgroup2(o: RootfsOptions, m: Mount, opts: ParsedMountOptions): void {
  const target = openTarget(o, m, false);
  try {
    cgroup2At(o, m, opts, target);
  } finally {
    closeFd(target);
  }
}

function cgroup2At(o: RootfsOptions, m: Mount, opts: ParsedMountOptions, target: number): void {
  const subject = `cgroup2 to ${m.destination}`;
  let mnt: number;
  try {
    mnt = newFsMount('cgroup2', 'cgroup2', sbFlagsOf(opts.flags & ~MS.RDONLY), opts.data, mountAttrsOf(opts.flags), subject);
  } catch (e) {
    if (errno(e) !== 'EPERM' && errno(e) !== 'EBUSY') throw e;
    // In a user namespace without a cgroup namespace of its own: bind the
    // host's hierarchy (the container's own cgroup with a cgroup namespace).
    const own = o.cgroupPaths.get('');
    const hierarchy = hostCgroup2Mount();
    const source = o.cgroupNs && own ? path.join(hierarchy, own) : hierarchy;
    return bindFallback(source, opts.flags, opts, target, subject);
  }
  try {
    moveMountFd(mnt, target, subject);
    setPropagation(mnt, opts, subject);
  } finally {
    closeFd(mnt);
  }
}

/** Where the host has its cgroup2 hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host. */
function hostCgroup2Mount(): string {
  for (const m of readMountinfo()) if (m.fsType === 'cgroup2' && m.root === '/') return m.mountPoint;
  return '/sys/fs/cgroup';
}

interface CgroupV1Mount {
  mountPoint: string;
  root: string;
  /** Controllers and name=X of the hierarchy, as /proc/self/cgroup lists them. */
  key: string;
}

const NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'none']);

/** The host's cgroup v1 hierarchies (first mount of each), from mountinfo. */
function cgroupV1Mounts(): CgroupV1Mount[] {
  const seen = new Set<string>();
  const out: CgroupV1Mount[] = [];
  for (const m of readMountinfo()) {
    if (m.fsType !== 'cgroup') continue;
    // Super options: rw/ro, the controllers, name=X, and a few that are neither.
    const key = m.superOptions
      .split(',')
      .filter((x) => (x.startsWith('name=') || !x.includes('=')) && !NOT_CONTROLLERS.has(x));
    const id = key.sort().join(',');
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ mountPoint: m.mountPoint, root: m.root, key: id });
  }
  return out;
}

/**
 * cgroup (v1 or hybrid host; on a cgroup2-only host a cgroup2 mount): a
 * tmpfs with one directory per hierarchy, each the container's own cgroup:
 * a fresh mount of the hierarchy with a cgroup namespace, else a bind of
 * the host's directory (runc's mountCgroupV1).
 */
function mountCgroup(o: RootfsOptions, m: Mount, opts: ParsedMountOptions): void {
  const target = openTarget(o, m, false);
  try {
    if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return cgroup2At(o, m, opts, target);
    const base = MS.NOSUID | MS.NODEV | MS.NOEXEC;
    const tmpfs = newFsMount('tmpfs', 'tmpfs', [], formatMountLabel('mode=755', o.spec.linux?.mountLabel), mountAttrsOf(base), 'tmpfs to /sys/fs/cgroup');
    try {
      const byKey = new Map<string, string>();
      for (const [controllers, cgPath] of o.cgroupPaths) byKey.set(controllers.split(',').sort().join(','), cgPath);
      const hierarchyFlags = base | (opts.flags & MS.RDONLY);
      for (const h of cgroupV1Mounts()) {
        const own = byKey.get(h.key);
        if (own === undefined) continue;
        const name = path.basename(h.mountPoint);
        mkdirat(tmpfs, name, 0o755, `/sys/fs/cgroup/${name}`);
        const dir = openat(tmpfs, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, `/sys/fs/cgroup/${name}`);
        const subject = `cgroup ${h.key} to ${path.join(m.destination, name)}`;
        try {
          let mnt: number | undefined;
          if (o.cgroupNs) {
            const named = h.key.startsWith('name=');
            try {
              mnt = newFsMount('cgroup', named ? h.key.slice(5) : 'cgroup', sbFlagsOf(opts.flags & MS.RDONLY), h.key, mountAttrsOf(hierarchyFlags), subject);
            } catch (e) {
              if (errno(e) !== 'EPERM') throw e;
            }
          }
          if (mnt === undefined) {
            const rel = path.relative(h.root, own);
            mnt = openTree(-100, path.join(h.mountPoint, rel.startsWith('..') ? '' : rel), { clone: true, recursive: true }, subject);
            setBindFlags(mnt, { ...opts, flags: hierarchyFlags | MS.BIND | MS.REC, cleared: 0 }, subject);
          }
          try {
            moveMountFd(mnt, dir, subject);
          } finally {
            closeFd(mnt);
          }
        } finally {
          closeFd(dir);
        }
        // Co-mounted controllers (cpu,cpuacct) also get their single names as symlinks.
        if (name.includes(',')) {
          for (const single of name.split(',')) {
            try {
              fs.symlinkSync(name, `/proc/self/fd/${tmpfs}/${single}`);
            } catch (e) {
              if (errno(e) !== 'EEXIST') throw e;
            }
          }
        }
      }
      if (opts.flags & MS.RDONLY) mountSetattr(tmpfs, { set: MOUNT_ATTR.RDONLY }, false, 'tmpfs to /sys/fs/cgroup');
      moveMountFd(tmpfs, target, `tmpfs to ${m.destination}`);
      setPropagation(tmpfs, opts, m.destination);
    } finally {
      closeFd(tmpfs);
    }
  } finally {
    closeFd(target);
  }
}

/** Step 3: /dev contents, unless /dev is bound from the host (runc's needsSetupDev). */
export function setupDev(o: RootfsOptions): void {
  const devBound = (o.spec.mounts ?? []).some((m: Mount) => {
    const opts = m.options ?? [];
    return cleanPath(m.destination) === '/dev' && (m.type === 'bind' || opts.includes('bind') || opts.includes('rbind'));
  });
  if (devBound) return;
  setupDevices(rootOf(o), (o.spec.linux?.devices ?? []) as DeviceSpec[], o.inUserNs);
}

/** /dev/console: the pty slave bound over it (after pivot_root: `rootfs` is "/"). */
export function setupConsole(rootfs: string, slavePath: string): void {
  const root = Root.open(rootfs);
  try {
    const target = root.createTarget('/dev/console', true);
    let tree: number | undefined;
    try {
      tree = openTree(-100, slavePath, { clone: true }, slavePath);
      moveMountFd(tree, target, `bind ${slavePath} to /dev/console`);
    } finally {
      if (tree !== undefined) closeFd(tree);
      closeFd(target);
    }
  } finally {
    root.close();
  }
}

/** Step 4: make the rootfs `/` and let go of the host's tree. */
export function enterRoot(o: RootfsOptions, noPivot: boolean): void {
  state.root?.close();
  state.root = undefined;
  if (noPivot) return msMoveRoot(o.rootfs);
  const oldRoot = fs.openSync('/', fs.constants.O_DIRECTORY | fs.constants.O_RDONLY);
  const newRoot = fs.openSync(o.rootfs, fs.constants.O_DIRECTORY | fs.constants.O_RDONLY);
  try {
    fchdir(newRoot);
    pivotRoot('.', '.');
    // The old root is now stacked under "."; detach it without letting the
    // unmount propagate to the host.
    fchdir(oldRoot);
    mount('', '.', '', MS.SLAVE | MS.REC, '', 'make old root rslave');
    umount2('.', MNT_DETACH);
    chdir('/');
  } finally {
    fs.closeSync(oldRoot);
    fs.closeSync(newRoot);
  }
}

/**
 * --no-pivot: MS_MOVE the rootfs onto / and chroot. The host's full proc
 * and sys mounts stay in the mount namespace under the chroot; the kernel
 * lets a new procfs or sysfs be mounted only where a full one is visible,
 * so they are removed (or covered) first, as runc does.
 */
function msMoveRoot(rootfs: string): void {
  const inside = (p: string) => p === rootfs || p.startsWith(rootfs + '/');
  for (const { root, fsType, mountPoint } of readMountinfo()) {
    if (root !== '/' || (fsType !== 'proc' && fsType !== 'sysfs') || inside(mountPoint)) continue;
    try {
      mount('', mountPoint, '', MS.SLAVE | MS.REC, '', `make ${mountPoint} rslave`);
    } catch (e) {
      if (errno(e) === 'ENOENT') continue;
      throw e;
    }
    try {
      umount2(mountPoint, MNT_DETACH);
    } catch (e) {
      if (errno(e) !== 'EINVAL' && errno(e) !== 'EPERM') throw e;
      mount('tmpfs', mountPoint, 'tmpfs', 0, '', `cover ${mountPoint}`);
    }
  }
  chdir(rootfs);
  mount(rootfs, '/', '', MS.MOVE, '', 'move rootfs to /');
  chroot('.');
  chdir('/');
}

/**
 * Step 5 (after pivot_root, sysctl and hostname): deferred read-only
 * tmpfs and /dev, read-only root, read-only and masked paths, and the
 * root's propagation.
 */
export function finishRoot(spec: Spec): void {
  for (const d of state.deferredReadonly) {
    mountSetattr(d.fd, { set: MOUNT_ATTR.RDONLY }, false, `remount ${d.subject} read-only`);
    closeFd(d.fd);
  }
  state.deferredReadonly = [];
  if (spec.root?.readonly) mountSetattrPath('/', { set: MOUNT_ATTR.RDONLY }, false, '/ read-only');
  const root = Root.open('/');
  try {
    for (const p of spec.linux?.readonlyPaths ?? []) readonlyPath(root, p);
    maskPaths(root, spec.linux?.maskedPaths ?? [], spec.linux?.mountLabel);
  } finally {
    root.close();
  }
  // Last: an unbindable root would refuse the binds above. Private and
  // slave were made before the rootfs was bound (prepareRoot).
  const prop = spec.linux?.rootfsPropagation || undefined;
  if (prop) {
    const flag = PROPAGATION_OPTIONS[prop];
    if ((flag & (MS.PRIVATE | MS.SLAVE)) === 0) mount('', '/', '', flag, '', `make / ${prop}`);
  }
}

/** A read-only bind of a path onto itself (runc's readonlyPath); a path that does not exist is skipped. */
function readonlyPath(root: Root, p: string): void {
  const fd = root.tryOpen(p);
  if (fd === undefined) return;
  try {
    const tree = openTree(fd, '', { clone: true, recursive: true, emptyPath: true }, p);
    try {
      mountSetattr(tree, { set: MOUNT_ATTR.RDONLY }, false, `readonly path ${p}`);
      moveMountFd(tree, fd, `readonly path ${p}`);
    } finally {
      closeFd(tree);
    }
  } catch (e) {
    throw new Error(`can't make ${p} read-only: ${(e as Error).message}`);
  } finally {
    closeFd(fd);
  }
}

/**
 * Masked paths: a file is covered by the container's /dev/null (checked to
 * be the character device 1:3: CVE-2025-31133), a directory by a read-only
 * tmpfs, one instance shared by all. A path that does not exist is skipped.
 */
function maskPaths(root: Root, paths: string[], mountLabel: string | undefined): void {
  if (paths.length === 0) return;
  let devNull: number;
  try {
    devNull = root.open('/dev/null');
  } catch (e) {
    throw new Error(`can't mask paths: /dev/null: ${(e as Error).message}`);
  }
  let sharedTmpfs: number | undefined;
  const done = new Set<string>();
  try {
    if (!isDevNull(fs.fstatSync(devNull))) throw new Error("can't mask paths: the container's /dev/null is not the character device 1:3");
    for (const p of paths) {
      const clean = cleanPath(p);
      if (done.has(clean)) continue;
      done.add(clean);
      const fd = root.tryOpen(clean);
      if (fd === undefined) continue;
      try {
        if (root.isRoot(fd)) throw new Error('it resolves to the root of the container');
        if (fs.fstatSync(fd).isDirectory()) {
          if (sharedTmpfs === undefined) {
            sharedTmpfs = maskTmpfs(mountLabel, p);
            moveMountFd(sharedTmpfs, fd, `mask ${p}`);
          } else {
            const copy = openTree(sharedTmpfs, '', { clone: true, emptyPath: true }, `mask ${p}`);
            try {
              moveMountFd(copy, fd, `mask ${p}`);
            } finally {
              closeFd(copy);
            }
          }
        } else {
          const copy = openTree(devNull, '', { clone: true, emptyPath: true }, `mask ${p}`);
          try {
            moveMountFd(copy, fd, `mask ${p}`);
          } finally {
            closeFd(copy);
          }
        }
      } catch (e) {
        throw new Error(`can't mask path ${p}: ${(e as Error).message}`);
      } finally {
        closeFd(fd);
      }
    }
  } finally {
    closeFd(devNull);
    if (sharedTmpfs !== undefined) closeFd(sharedTmpfs);
  }
}

/** The read-only tmpfs over masked directories (as small as the kernel allows). */
function maskTmpfs(mountLabel: string | undefined, p: string): number {
  const attrs = MOUNT_ATTR.RDONLY;
  try {
    return newFsMount('tmpfs', 'tmpfs', ['ro'], formatMountLabel('nr_blocks=1,nr_inodes=1', mountLabel), attrs, `mask ${p}`);
  } catch {
    // Some kernels (Ubuntu 20.04's 5.4) refuse nr_inodes=1.
    return newFsMount('tmpfs', 'tmpfs', ['ro'], formatMountLabel('nr_blocks=1,nr_inodes=2', mountLabel), attrs, `mask ${p}`);
  }
}
