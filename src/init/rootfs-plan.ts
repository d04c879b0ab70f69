/**
 * The container's filesystem as a plan: the config (and the bundle) turned
 * into an ordered list of typed steps, decided without touching the kernel,
 * so the order and every flag can be checked in a unit test. rootfs.ts
 * executes the steps (RootfsBuilder); what only the filesystem can tell
 * (is a bind source a file, the mode of a directory a tmpfs covers, is the
 * host cgroup2-only) is decided there, when the step runs.
 *
 * The steps come in the phases the init runs them in, with other work in
 * between (init.ts): `prepare` (before the mounts: propagation, the rootfs
 * as a mount point), `mounts` (the config's, in order), `dev` (the device
 * nodes and links), `enter` (pivot_root), `finish` (after hostname and
 * sysctls: deferred read-only, read-only root and paths, masks, the root's
 * propagation).
 */
import path from 'node:path';
import type { LinuxDevice, Mount, RootfsPropagation, Spec } from '../spec/types.gen.js';
import { MOUNT_ATTR, MS } from '../linux/mount.js';
import { parseMountOptions, propagationFlag, type ParsedMountOptions } from '../linux/mount-options.js';
import { cleanPath } from './securejoin.js';

export type RootfsPhase = 'prepare' | 'mounts' | 'dev' | 'enter' | 'finish';

/** mount_setattr(2) changes: attributes set and cleared (propagation is a step of its own). */
export interface AttrChange {
  set: number;
  clear: number;
}

/**
 * The flags of a bind mount, as runc gives them (see bindAttrChanges):
 * `exact` makes them exactly the flags named; `keepLocked` only changes what
 * was named, for a source whose flags the kernel locked (a mount inherited
 * into a user namespace). `first` is the one tried first: `keepLocked` for
 * a remount (mount --bind -o remount), else `exact`.
 */
export interface BindAttrs {
  exact: AttrChange;
  keepLocked: AttrChange;
  first: 'exact' | 'keepLocked';
}

interface MountStepBase {
  phase: 'mounts';
  /** The mount's index in spec.mounts (prepared fds are keyed by it). */
  index: number;
  mount: Mount;
  options: ParsedMountOptions;
  /** "<source or type> to <destination>", for messages. */
  subject: string;
}

/** A bind mount: a detached copy of `source` with its flags set, moved onto the target. */
export interface BindMountStep extends MountStepBase {
  kind: 'bind-mount';
  /** The host path of the source (relative sources are relative to the bundle). */
  source: string;
  /** rbind: the copy holds the mounts below the source too. */
  recursive: boolean;
  /** undefined: the source's flags are kept (no flag option was named). */
  attrs: BindAttrs | undefined;
}

/** "remount" of what the rootfs already has at the destination (mount(2) with MS_REMOUNT). */
export interface RemountStep extends MountStepBase {
  kind: 'remount';
}

/** A cgroup or cgroup2 mount (how depends on the host and the cgroup namespace). */
export interface CgroupMountStep extends MountStepBase {
  kind: 'mount-cgroup';
  version: 1 | 2;
}

/** A new filesystem (tmpfs, proc, sysfs, mqueue, devpts, overlay, ...), made detached and moved onto the target. */
export interface FilesystemStep extends MountStepBase {
  kind: 'mount-filesystem';
  fstype: string;
  source: string;
  /**
   * The read-only flag waits for the `finish` phase: /dev (its devices come
   * later) and a tmpfs (mount points may be made in it).
   */
  deferReadonly: boolean;
  /** The mount(2) flags to make it with (without MS_RDONLY when deferred). */
  flags: number;
  /** Superblock flags, as fsconfig flag names. */
  sbFlags: string[];
  /** Per-mount attributes for fsmount. */
  attrs: number;
  /** Whether linux.mountLabel goes into the data (not for proc, sysfs, mqueue). */
  labelled: boolean;
  /** tmpcopyup: the tmpfs starts with a copy of what the directory held. */
  copyUp: boolean;
}

export type MountStep = BindMountStep | RemountStep | CgroupMountStep | FilesystemStep;

export type RootfsStep =
  /** mount("/", propagation) and the mount holding the rootfs made private or slave. */
  | { phase: 'prepare'; kind: 'host-propagation'; flag: number; name: string }
  /** The rootfs bound on itself (rbind): a mount point pivot_root can use. */
  | { phase: 'prepare'; kind: 'bind-rootfs'; rootfs: string }
  | MountStep
  /** mknod (or, in a user namespace, a bind of the host's node). */
  | { phase: 'dev'; kind: 'device'; device: LinuxDevice; bindFromHost: boolean }
  /** /dev/ptmx as a link to the devpts instance's. */
  | { phase: 'dev'; kind: 'ptmx' }
  | { phase: 'dev'; kind: 'dev-symlink'; target: string; link: string }
  /** pivot_root (or MS_MOVE and chroot with --no-pivot) into the rootfs. */
  | { phase: 'enter'; kind: 'enter-root' }
  /** The read-only flag of the mounts that deferred it (deferReadonly). */
  | { phase: 'finish'; kind: 'deferred-readonly' }
  | { phase: 'finish'; kind: 'readonly-root' }
  | { phase: 'finish'; kind: 'readonly-path'; path: string }
  /** Files covered by /dev/null, directories by one read-only tmpfs; each path once. */
  | { phase: 'finish'; kind: 'mask-paths'; paths: string[]; mountLabel: string | undefined }
  /** A propagation of / that had to wait until the binds above were made (shared, unbindable). */
  | { phase: 'finish'; kind: 'root-propagation'; flag: number; name: string };

export interface RootfsPlanInput {
  spec: Spec;
  rootfs: string;
  /** Relative bind sources are relative to it. */
  bundle?: string | undefined;
  inUserNs: boolean;
  /** Whether the host has /proc/kcore (configurable out of the kernel): then /dev/core links to it. */
  hostHasKcore: boolean;
}

/** runc's default devices (libcontainer/specconv AllowedDevices): made unless /dev is bind-mounted. */
export const DEFAULT_DEVICES: readonly LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
];

/** The per-mount MS_* flags that are one MOUNT_ATTR_* each, set or cleared alike. */
const PLAIN_FLAG_ATTRS: ReadonlyArray<[flag: number, attr: number]> = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY],
  [MS.NOSUID, MOUNT_ATTR.NOSUID],
  [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC],
  [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
];
const PLAIN_ATTRS = PLAIN_FLAG_ATTRS.reduce((a, [, attr]) => a | attr, 0);
const ATIME_FLAGS = MS.NOATIME | MS.RELATIME | MS.STRICTATIME | MS.NODIRATIME;

function plainAttrsOf(flags: number): number {
  return PLAIN_FLAG_ATTRS.reduce((a, [flag, attr]) => (flags & flag ? a | attr : a), 0);
}

/** Per-mount MS_* flags as MOUNT_ATTR_* (atime: strictatime over noatime over relatime, as mount(2)). */
export function mountAttrsOf(flags: number): number {
  let a = plainAttrsOf(flags);
  if (flags & MS.NODIRATIME) a |= MOUNT_ATTR.NODIRATIME;
  if (flags & MS.STRICTATIME) a |= MOUNT_ATTR.STRICTATIME;
  else if (flags & MS.NOATIME) a |= MOUNT_ATTR.NOATIME;
  return a;
}

/** Superblock flags of a new filesystem, as fsconfig flag names. */
export function sbFlagsOf(flags: number): string[] {
  const names: string[] = [];
  if (flags & MS.RDONLY) names.push('ro');
  if (flags & MS.SYNCHRONOUS) names.push('sync');
  if (flags & MS.DIRSYNC) names.push('dirsync');
  if (flags & MS.MANDLOCK) names.push('mand');
  if (flags & MS.LAZYTIME) names.push('lazytime');
  return names;
}

/**
 * The flags of a bind mount, as runc gives them. A bind mount keeps its
 * source's flags when the config names none (undefined); otherwise (mount
 * --bind -o) it gets exactly the flags named: ro, nosuid, nodev, noexec,
 * nosymfollow not named are cleared, and the atime mode changes only when
 * one is named. Where the kernel locked some of the source's flags, the
 * locked flags are kept (keepLocked), and asking to clear one is an error.
 */
export function bindAttrChanges(opts: Pick<ParsedMountOptions, 'flags' | 'cleared'>): BindAttrs | undefined {
  if ((opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT)) === 0 && opts.cleared === 0) return undefined;
  const set = mountAttrsOf(opts.flags);
  const atime = (opts.flags & ATIME_FLAGS) !== 0 ? MOUNT_ATTR._ATIME | MOUNT_ATTR.NODIRATIME : 0;
  return {
    exact: { set, clear: (PLAIN_ATTRS & ~set) | atime },
    keepLocked: { set, clear: (plainAttrsOf(opts.cleared) & ~set) | atime },
    first: opts.flags & MS.REMOUNT ? 'keepLocked' : 'exact',
  };
}

/**
 * The propagation `/` gets before the rootfs is bound (default rslave).
 * Unbindable is for the container's / (the finish phase): the host's tree,
 * where bind sources come from, is only made private here.
 */
export function hostPropagation(prop: RootfsPropagation | undefined): { flag: number; name: string } {
  let flag = (prop === undefined ? undefined : propagationFlag(prop)) ?? MS.SLAVE | MS.REC;
  if (flag & MS.UNBINDABLE) flag = MS.PRIVATE | (flag & MS.REC);
  return { flag, name: prop ?? 'rslave' };
}

function isBindMount(m: Mount, opts: ParsedMountOptions): boolean {
  return m.type === 'bind' || (opts.flags & MS.BIND) !== 0;
}

/** One of the config's mounts as a step. */
export function planMount(m: Mount, index: number, bundle: string | undefined): MountStep {
  const options = parseMountOptions(m.options);
  const base = {
    phase: 'mounts' as const,
    index,
    mount: m,
    options,
    subject: `${m.source ?? m.type ?? ''} to ${m.destination}`,
  };
  if (isBindMount(m, options)) {
    return {
      ...base,
      kind: 'bind-mount',
      source: path.resolve(bundle ?? '/', m.source ?? ''),
      recursive: (options.flags & MS.REC) !== 0,
      attrs: bindAttrChanges(options),
    };
  }
  if (options.flags & MS.REMOUNT) return { ...base, kind: 'remount' };
  if (m.type === 'cgroup' || m.type === 'cgroup2')
    return { ...base, kind: 'mount-cgroup', version: m.type === 'cgroup' ? 1 : 2 };
  const fstype = m.type ?? '';
  const deferReadonly =
    (fstype === 'tmpfs' || cleanPath(m.destination) === '/dev') && (options.flags & MS.RDONLY) !== 0;
  const flags = deferReadonly ? options.flags & ~MS.RDONLY : options.flags;
  return {
    ...base,
    kind: 'mount-filesystem',
    fstype,
    source: m.source ?? fstype,
    deferReadonly,
    flags,
    sbFlags: sbFlagsOf(flags),
    attrs: mountAttrsOf(flags),
    labelled: fstype !== 'proc' && fstype !== 'sysfs' && fstype !== 'mqueue',
    copyUp: options.tmpcopyup,
  };
}

/** runc's needsSetupDev: /dev bound from the host gets no device nodes or links of ours. */
export function devIsBound(mounts: readonly Mount[]): boolean {
  return mounts.some((m) => {
    const opts = m.options ?? [];
    return (
      cleanPath(m.destination) === '/dev' &&
      (m.type === 'bind' || opts.includes('bind') || opts.includes('rbind'))
    );
  });
}

/** The device steps: runc's defaults, then the config's (a config device replaces the default of its path), ptmx, links. */
export function planDev(input: Pick<RootfsPlanInput, 'spec' | 'inUserNs' | 'hostHasKcore'>): RootfsStep[] {
  if (devIsBound(input.spec.mounts ?? [])) return [];
  const byPath = new Map<string, LinuxDevice>();
  for (const d of [...DEFAULT_DEVICES, ...(input.spec.linux?.devices ?? [])])
    byPath.set(cleanPath(d.path), d);
  const steps: RootfsStep[] = [];
  for (const [p, device] of byPath) {
    // /dev/ptmx is the devpts instance's (the ptmx step).
    if (p === '/dev/ptmx' || !device.path) continue;
    steps.push({ phase: 'dev', kind: 'device', device, bindFromHost: input.inUserNs });
  }
  steps.push({ phase: 'dev', kind: 'ptmx' });
  const links: Array<[target: string, link: string]> = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  if (input.hostHasKcore) links.push(['/proc/kcore', '/dev/core']);
  for (const [target, link] of links) steps.push({ phase: 'dev', kind: 'dev-symlink', target, link });
  return steps;
}

/** The finish phase: deferred read-only, read-only root and paths, masks, then the root's propagation. */
export function planFinish(spec: Spec): RootfsStep[] {
  const steps: RootfsStep[] = [{ phase: 'finish', kind: 'deferred-readonly' }];
  if (spec.root?.readonly) steps.push({ phase: 'finish', kind: 'readonly-root' });
  for (const p of spec.linux?.readonlyPaths ?? [])
    steps.push({ phase: 'finish', kind: 'readonly-path', path: p });
  const masked = spec.linux?.maskedPaths ?? [];
  if (masked.length > 0)
    steps.push({ phase: 'finish', kind: 'mask-paths', paths: masked, mountLabel: spec.linux?.mountLabel });
  // Last: an unbindable root would refuse the binds above. Private and slave
  // were made before the rootfs was bound (hostPropagation).
  const prop = spec.linux?.rootfsPropagation || undefined;
  if (prop) {
    const flag = propagationFlag(prop);
    if (flag !== undefined && (flag & (MS.PRIVATE | MS.SLAVE)) === 0)
      steps.push({ phase: 'finish', kind: 'root-propagation', flag, name: prop });
  }
  return steps;
}

/** The whole plan, in order. */
export function planRootfs(input: RootfsPlanInput): RootfsStep[] {
  const { flag, name } = hostPropagation(input.spec.linux?.rootfsPropagation || undefined);
  return [
    { phase: 'prepare', kind: 'host-propagation', flag, name },
    { phase: 'prepare', kind: 'bind-rootfs', rootfs: input.rootfs },
    ...(input.spec.mounts ?? []).map((m, i) => planMount(m, i, input.bundle)),
    ...planDev(input),
    { phase: 'enter', kind: 'enter-root' },
    ...planFinish(input.spec),
  ];
}
