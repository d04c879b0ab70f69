/**
 * The container's filesystem, built inside its mount namespace: the plan of
 * rootfs-plan.ts executed step by step (RootfsBuilder): the rootfs as a
 * mount point, the config's mounts, /dev, then pivot_root, and the
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
import { readMountinfo } from '../linux/mountinfo.js';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, mkdirat, openat } from '../linux/at-calls.js';
import type { Mount, Spec } from '../spec/types.gen.js';
import type { ParsedMountOptions } from '../linux/mount-options.js';
import { Root, cleanPath } from './securejoin.js';
import { createDevice, isDevNull, linkDevPtmx, linkInDev } from './devices.js';
import { formatMountLabel } from './lsm.js';
import { fsType } from '../linux/procfs.js';
import {
  bindAttrChanges,
  mountAttrsOf,
  planRootfs,
  sbFlagsOf,
  type BindAttrs,
  type BindMountStep,
  type CgroupMountStep,
  type FilesystemStep,
  type MountStep,
  type RemountStep,
  type RootfsPhase,
  type RootfsStep,
} from './rootfs-plan.js';

export interface RootfsOptions {
  spec: Spec;
  rootfs: string;
  /** The bundle: relative bind sources are relative to it. */
  bundle?: string | undefined;
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
  bindSourceFds?: Record<string, number> | undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Executes the plan of one container's rootfs, phase by phase, as the init
 * reaches each (see rootfs-plan.ts). It holds what the steps share: the
 * rootfs handle, and the mounts whose read-only flag waits for `finish`.
 */
export class RootfsBuilder {
  readonly plan: readonly RootfsStep[];
  private rootHandle: Root | undefined;
  private deferredReadonly: Array<{ fd: number; subject: string }> = [];

  constructor(readonly options: RootfsOptions) {
    this.plan = planRootfs({
      spec: options.spec,
      rootfs: options.rootfs,
      bundle: options.bundle,
      inUserNs: options.inUserNs,
      hostHasKcore: fs.existsSync('/proc/kcore'),
    });
  }

  /** Private propagation and the rootfs as its own mount point. */
  prepare(): void {
    for (const step of this.stepsOf('prepare')) this.run(step);
  }

  /** The config's mounts, in order. */
  mountAll(): void {
    for (const step of this.stepsOf('mounts')) this.run(step);
  }

  /** /dev contents, unless /dev is bound from the host. */
  setupDev(): void {
    for (const step of this.stepsOf('dev')) this.run(step);
  }

  /** Make the rootfs `/` and let go of the host's tree. */
  enterRoot(noPivot: boolean): void {
    this.rootHandle?.close();
    this.rootHandle = undefined;
    if (noPivot) msMoveRoot(this.options.rootfs);
    else pivotInto(this.options.rootfs);
  }

  /** After pivot_root, sysctl and hostname: read-only and masked paths, the root's propagation. */
  finish(): void {
    const root = Root.open('/');
    try {
      for (const step of this.stepsOf('finish')) this.runFinish(step, root);
    } finally {
      root.close();
    }
  }

  private stepsOf(phase: RootfsPhase): RootfsStep[] {
    return this.plan.filter((s) => s.phase === phase);
  }

  /** The rootfs, opened once (and again after it became a mount point). */
  private root(): Root {
    this.rootHandle ??= Root.open(this.options.rootfs);
    return this.rootHandle;
  }

  private run(step: RootfsStep): void {
    const o = this.options;
    switch (step.kind) {
      case 'host-propagation':
        mount('', '/', '', step.flag, '', `make / ${step.name}`);
        makeParentMountPrivate(o.rootfs, step.flag);
        return;
      case 'bind-rootfs':
        mount(step.rootfs, step.rootfs, '', MS.BIND | MS.REC, '', `bind rootfs ${step.rootfs}`);
        this.rootHandle?.close();
        this.rootHandle = Root.open(step.rootfs);
        return;
      case 'bind-mount':
      case 'remount':
      case 'mount-cgroup':
      case 'mount-filesystem':
        try {
          this.mountOne(step);
        } catch (e) {
          // Errors of mount(2) and fsopen already name the mount ("mount none to /broken: ENODEV").
          if (e instanceof FsMountError || (e instanceof SyscallError && e.syscall === 'mount')) throw e;
          throw new Error(
            `mount ${step.mount.source ?? step.mount.type ?? ''} to ${step.mount.destination}: ${messageOf(e)}`,
            { cause: e },
          );
        }
        return;
      case 'device':
        try {
          createDevice(this.root(), step.device, step.bindFromHost);
        } catch (e) {
          throw new Error(`error creating device nodes: ${step.device.path}: ${messageOf(e)}`, { cause: e });
        }
        return;
      case 'ptmx':
        try {
          linkDevPtmx(this.root());
        } catch (e) {
          throw new Error(`error setting up ptmx: ${messageOf(e)}`, { cause: e });
        }
        return;
      case 'dev-symlink':
        try {
          linkInDev(this.root(), step.target, step.link);
        } catch (e) {
          if (errno(e) !== 'EEXIST')
            throw new Error(`error setting up /dev symlinks: ${messageOf(e)}`, { cause: e });
        }
        return;
      default:
        throw new Error(`rootfs step ${step.kind} runs in the ${step.phase} phase`);
    }
  }

  private runFinish(step: RootfsStep, root: Root): void {
    switch (step.kind) {
      case 'deferred-readonly':
        for (const d of this.deferredReadonly) {
          mountSetattr(d.fd, { set: MOUNT_ATTR.RDONLY }, false, `remount ${d.subject} read-only`);
          closeFd(d.fd);
        }
        this.deferredReadonly = [];
        return;
      case 'readonly-root':
        mountSetattrPath('/', { set: MOUNT_ATTR.RDONLY }, false, '/ read-only');
        return;
      case 'readonly-path':
        readonlyPath(root, step.path);
        return;
      case 'mask-paths':
        maskPaths(root, step.paths, step.mountLabel);
        return;
      case 'root-propagation':
        mount('', '/', '', step.flag, '', `make / ${step.name}`);
        return;
      default:
        throw new Error(`rootfs step ${step.kind} does not run after pivot_root`);
    }
  }

  private mountOne(step: MountStep): void {
    if (step.options.idmap && step.kind !== 'bind-mount')
      throw new Error('id-mapped mounts are only supported for bind-mounts');
    const key = String(step.index);
    switch (step.kind) {
      case 'bind-mount':
        this.bindMount(step, this.options.mountFds?.[key], this.options.bindSourceFds?.[key]);
        return;
      case 'remount':
        this.remountExisting(step);
        return;
      case 'mount-cgroup':
        if (step.version === 1) this.mountCgroup(step);
        else this.mountCgroup2(step);
        return;
      case 'mount-filesystem':
        this.newFilesystem(step);
        return;
    }
  }

  /**
   * Open (creating if needed) the target of a mount inside the rootfs, and
   * refuse what runc refuses: the rootfs itself, and places in /proc a
   * mount could hide or fake (checkProcMount).
   */
  private openTarget(m: Mount, asFile: boolean, source?: { fd?: number; path?: string }): number {
    return this.openTargetOf(m, asFile, source).fd;
  }

  private openTargetOf(
    m: Mount,
    asFile: boolean,
    source?: { fd?: number; path?: string },
  ): { fd: number; created: boolean } {
    const root = this.root();
    const dest = cleanPath(m.destination);
    const isProcOrSys = m.type === 'proc' || m.type === 'sysfs';
    if (isProcOrSys) {
      // Never through a symlink, even one inside the rootfs (CVE-2019-19921).
      const existing = root.tryOpen(dest, O_PATH, true);
      if (existing !== undefined) {
        const isDir = fs.fstatSync(existing).isDirectory();
        closeFd(existing);
        if (!isDir) throw new Error(`filesystem "${m.type}" must be mounted on ordinary directory`);
      }
    }
    const { fd, created } = root.openOrCreate(dest, isProcOrSys ? false : asFile);
    try {
      if (root.isRoot(fd))
        throw new Error(`mountpoint ${dest} resolves to the root of the container (${root.path})`);
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

  /** A bind mount: a detached copy of the source, its flags set, moved onto the target. */
  private bindMount(step: BindMountStep, preparedFd: number | undefined, sourceFd: number | undefined): void {
    // Data options mean nothing to a bind mount: ignored, as runc 1.1 and the
    // kernel do (runc 1.2 refuses them, but runtime-tools' own tests send them).
    const { mount: m, options: opts, subject, source } = step;
    let tree: number;
    if (preparedFd !== undefined) {
      tree = preparedFd;
    } else {
      if (opts.idmap || m.uidMappings) throw new Error('id-mapped mount was not prepared by runts create');
      try {
        // Opened by create when we may not reach it ourselves: clone what it opened.
        tree =
          sourceFd !== undefined
            ? openTree(sourceFd, '', { clone: true, recursive: step.recursive, emptyPath: true }, source)
            : openTree(-100, source, { clone: true, recursive: step.recursive }, source);
      } catch (e) {
        throw new Error(`bind source ${source}: ${errno(e) ?? messageOf(e)}`, { cause: e });
      } finally {
        if (sourceFd !== undefined) closeFd(sourceFd);
      }
    }
    try {
      const asFile = !fs.fstatSync(tree).isDirectory();
      setBindFlags(tree, step.attrs, subject);
      setRecursive(tree, opts, subject);
      const target = this.openTarget(m, asFile, { fd: tree });
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

  /** A new filesystem (tmpfs, proc, sysfs, mqueue, devpts, overlay...), made detached and moved onto the target. */
  private newFilesystem(step: FilesystemStep): void {
    const { mount: m, options: opts, subject, fstype: type } = step;
    const { fd: target, created } = this.openTargetOf(m, false);
    try {
      let data = opts.data;
      if (type === 'tmpfs' && !created) {
        // As runc: the tmpfs gets the mode of the directory it covers, unless data says otherwise.
        const mode = fs.fstatSync(target).mode & 0o7777;
        data = `mode=${mode.toString(8).padStart(4, '0')}${data ? ',' + data : ''}`;
      }
      if (step.labelled) data = formatMountLabel(data, this.options.spec.linux?.mountLabel);
      let mnt: number;
      try {
        mnt = newFsMount(type, step.source, step.sbFlags, data, step.attrs, subject);
      } catch (e) {
        if (errno(e) === 'EPERM' && this.options.inUserNs && (type === 'sysfs' || type === 'mqueue')) {
          // A user namespace that does not own the network (sysfs) or IPC
          // (mqueue) namespace may not mount them: bind the host's, as runc does.
          bindFallback(
            type === 'sysfs' ? '/sys' : '/dev/mqueue',
            opts.flags | (type === 'sysfs' ? MS.RDONLY : 0),
            opts,
            target,
            subject,
          );
          return;
        }
        throw e;
      }
      try {
        if (step.copyUp) copyUp(target, mnt);
        setRecursive(mnt, opts, subject);
        moveMountFd(mnt, target, subject);
        setPropagation(mnt, opts, subject);
      } catch (e) {
        closeFd(mnt);
        throw e;
      }
      if (step.deferReadonly) this.deferredReadonly.push({ fd: mnt, subject });
      else closeFd(mnt);
    } finally {
      closeFd(target);
    }
  }

  /** "remount" on a mount the rootfs already has at the destination: mount(2) with MS_REMOUNT through the target's fd. */
  private remountExisting(step: RemountStep): void {
    const { mount: m, options: opts, subject } = step;
    const target = this.root().open(cleanPath(m.destination));
    try {
      mount(m.source ?? '', `/proc/self/fd/${target}`, m.type ?? '', opts.flags, opts.data, subject);
    } finally {
      closeFd(target);
    }
  }

  /** cgroup2 asked for by type: a fresh mount, or the host's bound when not allowed. */
  private mountCgroup2(step: CgroupMountStep): void {
    const target = this.openTarget(step.mount, false);
    try {
      this.cgroup2At(step.mount, step.options, target);
    } finally {
      closeFd(target);
    }
  }

  private cgroup2At(m: Mount, opts: ParsedMountOptions, target: number): void {
    const subject = `cgroup2 to ${m.destination}`;
    let mnt: number;
    try {
      mnt = newFsMount(
        'cgroup2',
        'cgroup2',
        sbFlagsOf(opts.flags & ~MS.RDONLY),
        opts.data,
        mountAttrsOf(opts.flags),
        subject,
      );
    } catch (e) {
      if (errno(e) !== 'EPERM' && errno(e) !== 'EBUSY') throw e;
      // In a user namespace without a cgroup namespace of its own: bind the
      // host's hierarchy (the container's own cgroup with a cgroup namespace).
      const own = this.options.cgroupPaths.get('');
      const hierarchy = hostCgroup2Mount();
      const source = this.options.cgroupNs && own ? path.join(hierarchy, own) : hierarchy;
      bindFallback(source, opts.flags, opts, target, subject);
      return;
    }
    try {
      moveMountFd(mnt, target, subject);
      setPropagation(mnt, opts, subject);
    } finally {
      closeFd(mnt);
    }
  }

  /**
   * cgroup (v1 or hybrid host; on a cgroup2-only host a cgroup2 mount): a
   * tmpfs with one directory per hierarchy, each the container's own cgroup:
   * a fresh mount of the hierarchy with a cgroup namespace, else a bind of
   * the host's directory (runc's mountCgroupV1).
   */
  private mountCgroup(step: CgroupMountStep): void {
    const { mount: m, options: opts } = step;
    const o = this.options;
    const target = this.openTarget(m, false);
    try {
      if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
        this.cgroup2At(m, opts, target);
        return;
      }
      const base = MS.NOSUID | MS.NODEV | MS.NOEXEC;
      const tmpfs = newFsMount(
        'tmpfs',
        'tmpfs',
        [],
        formatMountLabel('mode=755', o.spec.linux?.mountLabel),
        mountAttrsOf(base),
        'tmpfs to /sys/fs/cgroup',
      );
      try {
        const byKey = new Map<string, string>();
        for (const [controllers, cgPath] of o.cgroupPaths)
          byKey.set(controllers.split(',').sort().join(','), cgPath);
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
                mnt = newFsMount(
                  'cgroup',
                  named ? h.key.slice(5) : 'cgroup',
                  sbFlagsOf(opts.flags & MS.RDONLY),
                  h.key,
                  mountAttrsOf(hierarchyFlags),
                  subject,
                );
              } catch (e) {
                if (errno(e) !== 'EPERM') throw e;
              }
            }
            if (mnt === undefined) {
              const rel = path.relative(h.root, own);
              mnt = openTree(
                -100,
                path.join(h.mountPoint, rel.startsWith('..') ? '' : rel),
                { clone: true, recursive: true },
                subject,
              );
              setBindFlags(
                mnt,
                bindAttrChanges({ flags: hierarchyFlags | MS.BIND | MS.REC, cleared: 0 }),
                subject,
              );
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
        if (opts.flags & MS.RDONLY)
          mountSetattr(tmpfs, { set: MOUNT_ATTR.RDONLY }, false, 'tmpfs to /sys/fs/cgroup');
        moveMountFd(tmpfs, target, `tmpfs to ${m.destination}`);
        setPropagation(tmpfs, opts, m.destination);
      } finally {
        closeFd(tmpfs);
      }
    } finally {
      closeFd(target);
    }
  }
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

/** Set a bind mount's flags (see bindAttrChanges); undefined keeps the source's. */
function setBindFlags(tree: number, attrs: BindAttrs | undefined, subject: string): void {
  if (!attrs) return;
  const first = attrs[attrs.first];
  try {
    mountSetattr(tree, first, false, subject);
  } catch (e) {
    if (errno(e) !== 'EPERM' || attrs.first === 'keepLocked') throw lockedError(e, subject);
    try {
      mountSetattr(tree, attrs.keepLocked, false, subject);
    } catch (e2) {
      throw lockedError(e2, subject);
    }
  }
}

function lockedError(e: unknown, subject: string): unknown {
  if (errno(e) !== 'EPERM') return e;
  return new Error(
    `mount ${subject}: cannot change flags the kernel locked on the source mount (it was inherited into this user namespace): EPERM`,
    { cause: e },
  );
}

/** Propagation options, on the mount `fd` is (attached). */
function setPropagation(fd: number, opts: ParsedMountOptions, subject: string): void {
  for (const p of opts.propagation) {
    mountSetattr(fd, { propagation: p & ~MS.REC }, (p & MS.REC) !== 0, `set propagation of ${subject}`);
  }
}

/** The r* attributes, for the mount and every mount below it. */
function setRecursive(fd: number, opts: ParsedMountOptions, subject: string): void {
  if (opts.recursive) mountSetattr(fd, opts.recursive, true, `set recursive attributes of ${subject}`);
}

function bindFallback(
  source: string,
  flags: number,
  opts: ParsedMountOptions,
  target: number,
  subject: string,
): void {
  const tree = openTree(-100, source, { clone: true, recursive: true }, source);
  try {
    setBindFlags(tree, bindAttrChanges({ flags: flags | MS.BIND | MS.REC, cleared: 0 }), subject);
    moveMountFd(tree, target, subject);
    setPropagation(tree, opts, subject);
  } finally {
    closeFd(tree);
  }
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

interface TreeEntry {
  rel: string;
  st: fs.Stats;
  data?: Buffer;
  link?: string;
}

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

const NOT_CONTROLLERS = new Set([
  'rw',
  'ro',
  'xattr',
  'noprefix',
  'clone_children',
  'cpuset_v2_mode',
  'favordynmods',
  'none',
]);

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

/** pivot_root into `rootfs` and detach the old root. */
function pivotInto(rootfs: string): void {
  const oldRoot = fs.openSync('/', fs.constants.O_DIRECTORY | fs.constants.O_RDONLY);
  const newRoot = fs.openSync(rootfs, fs.constants.O_DIRECTORY | fs.constants.O_RDONLY);
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
    throw new Error(`can't make ${p} read-only: ${messageOf(e)}`, { cause: e });
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
    throw new Error(`can't mask paths: /dev/null: ${messageOf(e)}`, { cause: e });
  }
  let sharedTmpfs: number | undefined;
  const done = new Set<string>();
  try {
    if (!isDevNull(fs.fstatSync(devNull)))
      throw new Error("can't mask paths: the container's /dev/null is not the character device 1:3");
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
        throw new Error(`can't mask path ${p}: ${messageOf(e)}`, { cause: e });
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
    return newFsMount(
      'tmpfs',
      'tmpfs',
      ['ro'],
      formatMountLabel('nr_blocks=1,nr_inodes=1', mountLabel),
      attrs,
      `mask ${p}`,
    );
  } catch {
    // Some kernels (Ubuntu 20.04's 5.4) refuse nr_inodes=1.
    return newFsMount(
      'tmpfs',
      'tmpfs',
      ['ro'],
      formatMountLabel('nr_blocks=1,nr_inodes=2', mountLabel),
      attrs,
      `mask ${p}`,
    );
  }
}
