/**
 * The container's filesystem, built inside its mount namespace: the rootfs
 * as a mount point, the config's mounts, /dev, then pivot_root and the
 * masked and read-only paths. Every target is resolved inside the rootfs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MS, MNT_DETACH, mount, umount2, pivotRoot, chroot, chdir, fchdir, mknod, makedev, S_IFCHR, S_IFBLK, S_IFIFO } from '../linux/mount.js';
import { SyscallError } from '../linux/libc.js';
import { parseMountOptions, PROPAGATION_OPTIONS } from './mount-options.js';
import { secureJoin } from './securejoin.js';

export interface RootfsOptions {
  spec: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  rootfs: string;
  inUserNs: boolean;
  /** The init's own cgroup paths (controller → path) for the v1 cgroup mount. */
  cgroupPaths: Map<string, string>;
  cgroupNs: boolean;
}

/** runc's default devices, created when /dev is not bound from the host. */
const DEFAULT_DEVICES = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666 },
];

function mkdirAll(p: string, mode = 0o755): void {
  fs.mkdirSync(p, { recursive: true, mode });
}

/** Create a mount target of the right kind (file or directory) inside the rootfs. */
function createTarget(target: string, asFile: boolean): void {
  if (fs.existsSync(target)) return;
  if (asFile) {
    mkdirAll(path.dirname(target));
    fs.closeSync(fs.openSync(target, fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o755));
  } else {
    mkdirAll(target);
  }
}

/** Step 1: private propagation and the rootfs as its own mount point. */
export function prepareRoot(o: RootfsOptions): void {
  const prop = o.spec.linux?.rootfsPropagation;
  const rootFlag = prop ? PROPAGATION_OPTIONS[prop] : MS.SLAVE | MS.REC;
  mount('', '/', '', rootFlag, '', `make / ${prop ?? 'rslave'}`);
  makeParentMountPrivate(o.rootfs);
  mount(o.rootfs, o.rootfs, '', MS.BIND | MS.REC, '', `bind rootfs ${o.rootfs}`);
}

/** pivot_root needs the rootfs's parent mount not to be shared. */
function makeParentMountPrivate(rootfs: string): void {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
  let best: { mountPoint: string; shared: boolean } | undefined;
  for (const line of mounts) {
    const fields = line.split(' ');
    const mountPoint = fields[4].replace(/\\040/g, ' ');
    const optional = fields.slice(6, fields.indexOf('-'));
    if (rootfs === mountPoint || rootfs.startsWith(mountPoint.endsWith('/') ? mountPoint : mountPoint + '/')) {
      if (!best || mountPoint.length >= best.mountPoint.length) best = { mountPoint, shared: optional.some((f) => f.startsWith('shared:')) };
    }
  }
  if (best?.shared) mount('', best.mountPoint, '', MS.PRIVATE, '', `make ${best.mountPoint} private`);
}

/** Step 2: the config's mounts, in order. */
export function mountAll(o: RootfsOptions): void {
  for (const m of o.spec.mounts ?? []) mountOne(o, m);
}

function mountOne(o: RootfsOptions, m: { destination: string; type?: string; source?: string; options?: string[] }): void {
  const opts = parseMountOptions(m.options);
  const isBind = m.type === 'bind' || (opts.flags & MS.BIND) !== 0;
  const target = secureJoin(o.rootfs, m.destination);
  const subject = `${m.source ?? m.type} to ${m.destination}`;
  if (isBind) {
    const source = m.source ?? '';
    const st = fs.statSync(source);
    createTarget(target, !st.isDirectory());
    const rec = (opts.flags & MS.REC) !== 0;
    mount(source, target, '', MS.BIND | (rec ? MS.REC : 0), '', subject);
    const extra = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (extra !== 0) remountBind(target, extra, subject);
  } else if (m.type === 'cgroup') {
    mountCgroup(o, target, opts.flags);
  } else if (m.type === 'tmpfs' && opts.tmpcopyup) {
    createTarget(target, false);
    const saved = readTree(target);
    mount(m.source ?? 'tmpfs', target, 'tmpfs', opts.flags & ~MS.RDONLY, opts.data, subject);
    writeTree(target, saved);
    if (opts.flags & MS.RDONLY) mount('', target, '', MS.REMOUNT | opts.flags, opts.data, subject);
  } else {
    createTarget(target, false);
    try {
      mount(m.source ?? m.type ?? 'none', target, m.type ?? '', opts.flags, opts.data, subject);
    } catch (e) {
      // sysfs cannot be mounted in a user namespace that does not own the
      // network namespace: bind the host's /sys instead, as runc does.
      if (m.type === 'sysfs' && e instanceof SyscallError && e.code === 'EPERM' && o.inUserNs) {
        mount('/sys', target, '', MS.BIND | MS.REC, '', subject);
        remountBind(target, opts.flags | MS.RDONLY, subject);
      } else if (m.type === 'mqueue' && e instanceof SyscallError && e.code === 'EPERM' && o.inUserNs) {
        mount('/dev/mqueue', target, '', MS.BIND | MS.REC, '', subject);
      } else {
        throw e;
      }
    }
  }
  for (const p of opts.propagation) mount('', target, '', p, '', `set propagation of ${m.destination}`);
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
    else if (st.isFile()) out.push({ rel: r, st, data: fs.readFileSync(p) });
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

/** The per-mount flags of the mount at `target`, from mountinfo. */
function currentMountFlags(target: string): number {
  const names: Record<string, number> = {
    ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, noatime: MS.NOATIME,
    nodiratime: MS.NODIRATIME, relatime: MS.RELATIME, nosymfollow: MS.NOSYMFOLLOW,
  };
  let flags = 0;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== target) continue;
    flags = 0; // the last mount on a point is the visible one
    for (const o of f[5].split(',')) flags |= names[o] ?? 0;
  }
  return flags;
}

const LOCKABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME;

/**
 * A bind mount takes its flags only on a remount. `keepCurrent` keeps the
 * flags the mount already has (read-only paths); otherwise, as runc does,
 * the flags the kernel locked in a user namespace are added only on EPERM.
 */
function remountBind(target: string, flags: number, subject: string, keepCurrent = false): void {
  const current = keepCurrent ? currentMountFlags(target) & LOCKABLE : 0;
  try {
    mount('', target, '', MS.BIND | MS.REMOUNT | flags | current, '', `remount ${subject}`);
  } catch (e) {
    if (!(e instanceof SyscallError && e.code === 'EPERM')) throw e;
    const locked = currentMountFlags(target) & LOCKABLE;
    mount('', target, '', MS.BIND | MS.REMOUNT | flags | locked, '', `remount ${subject}`);
  }
}

/**
 * /sys/fs/cgroup: with a cgroup namespace on a cgroup2 host, a fresh cgroup2
 * mount; otherwise a tmpfs with each v1 hierarchy's container cgroup bound
 * in (what runc does on v1 and hybrid hosts).
 */
function mountCgroup(o: RootfsOptions, target: string, flags: number): void {
  createTarget(target, false);
  const unifiedOnly = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (unifiedOnly) {
    try {
      mount('cgroup2', target, 'cgroup2', flags, '', 'cgroup2 to /sys/fs/cgroup');
    } catch (e) {
      if (!(e instanceof SyscallError && e.code === 'EPERM')) throw e;
      mount('/sys/fs/cgroup', target, '', MS.BIND | MS.REC, '', 'cgroup2 to /sys/fs/cgroup');
      remountBind(target, flags | MS.RDONLY, '/sys/fs/cgroup');
    }
    return;
  }
  mount('tmpfs', target, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755', 'tmpfs to /sys/fs/cgroup');
  for (const [controller, cgPath] of o.cgroupPaths) {
    const hostDir = controller === '' ? '/sys/fs/cgroup/unified' : `/sys/fs/cgroup/${controller}`;
    if (!fs.existsSync(hostDir)) continue;
    const name = controller === '' ? 'unified' : controller;
    const dest = path.join(target, name);
    mkdirAll(dest);
    const src = hostDir + cgPath;
    mount(src, dest, '', MS.BIND | MS.REC, '', `cgroup ${name} to /sys/fs/cgroup/${name}`);
    remountBind(dest, flags | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, `/sys/fs/cgroup/${name}`);
    // co-mounted controllers (cpu,cpuacct) get their single names as symlinks.
    if (name.includes(',')) {
      for (const single of name.split(',')) {
        const link = path.join(target, single);
        if (!fs.existsSync(link)) fs.symlinkSync(name, link);
      }
    }
  }
  if (flags & MS.RDONLY) remountBind(target, MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY, '/sys/fs/cgroup');
}

/** Step 3: /dev contents: devices, symlinks, /dev/ptmx. */
export function setupDev(o: RootfsOptions): void {
  const devMounted = (o.spec.mounts ?? []).some((m: { destination: string; type?: string; options?: string[] }) => path.normalize(m.destination) === '/dev' && m.type !== 'bind' && !(m.options ?? []).includes('bind') && !(m.options ?? []).includes('rbind'));
  const devices = [...(devMounted ? DEFAULT_DEVICES : []), ...(o.spec.linux?.devices ?? [])];
  const seen = new Set<string>();
  for (const d of devices.reverse()) {
    // a config device overrides a default of the same path
    if (seen.has(d.path)) continue;
    seen.add(d.path);
    createDevice(o, d);
  }
  if (!devMounted) return;
  const dev = secureJoin(o.rootfs, '/dev');
  const links: Array<[string, string]> = [
    ['/proc/self/fd', 'fd'],
    ['/proc/self/fd/0', 'stdin'],
    ['/proc/self/fd/1', 'stdout'],
    ['/proc/self/fd/2', 'stderr'],
  ];
  if (fs.existsSync('/proc/kcore')) links.push(['/proc/kcore', 'core']);
  for (const [target, name] of links) {
    try {
      fs.symlinkSync(target, path.join(dev, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  // /dev/ptmx must be the devpts instance's ptmx of this container.
  const ptmx = path.join(dev, 'ptmx');
  try {
    fs.rmSync(ptmx, { force: true });
  } catch {}
  fs.symlinkSync('pts/ptmx', ptmx);
}

interface DeviceSpec {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

function createDevice(o: RootfsOptions, d: DeviceSpec): void {
  const target = secureJoin(o.rootfs, d.path);
  mkdirAll(path.dirname(target));
  if (o.inUserNs) {
    // mknod is not allowed in a user namespace: bind the host's node.
    createTarget(target, true);
    mount(d.path, target, '', MS.BIND, '', `bind device ${d.path}`);
    return;
  }
  const kind = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
  const mode = (d.fileMode ?? 0o666) & 0o7777;
  try {
    fs.rmSync(target, { force: true });
  } catch {}
  const oldUmask = process.umask(0);
  try {
    mknod(target, kind | mode, d.type === 'p' ? 0n : makedev(d.major ?? 0, d.minor ?? 0));
  } finally {
    process.umask(oldUmask);
  }
  fs.chownSync(target, d.uid ?? 0, d.gid ?? 0);
}

/** /dev/console: the pty slave bound over it. */
export function setupConsole(rootfs: string, slavePath: string): void {
  const target = secureJoin(rootfs, '/dev/console');
  createTarget(target, true);
  mount(slavePath, target, '', MS.BIND, '', `bind ${slavePath} to /dev/console`);
}

/** Step 4: make the rootfs `/` and let go of the host's tree. */
export function enterRoot(o: RootfsOptions, noPivot: boolean): void {
  if (noPivot) {
    chdir(o.rootfs);
    mount(o.rootfs, '/', '', MS.MOVE, '', 'move rootfs to /');
    chroot('.');
    chdir('/');
    return;
  }
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

/** Step 5 (after pivot_root): masked and read-only paths, read-only root. */
export function finishRoot(spec: any): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const p of spec.linux?.readonlyPaths ?? []) {
    const target = secureJoin('/', p);
    if (!fs.existsSync(target)) continue;
    mount(target, target, '', MS.BIND | MS.REC, '', `bind readonly path ${p}`);
    remountBind(target, MS.RDONLY, `readonly path ${p}`, true);
  }
  for (const p of spec.linux?.maskedPaths ?? []) {
    const target = secureJoin('/', p);
    let st: fs.Stats;
    try {
      st = fs.statSync(target);
    } catch {
      continue;
    }
    if (st.isDirectory()) mount('tmpfs', target, 'tmpfs', MS.RDONLY, '', `mask ${p}`);
    else mount('/dev/null', target, '', MS.BIND, '', `mask ${p}`);
  }
  if (spec.root?.readonly) remountBind('/', MS.RDONLY, '/ read-only', true);
  const prop = spec.linux?.rootfsPropagation;
  if (prop) mount('', '/', '', PROPAGATION_OPTIONS[prop], '', `make / ${prop}`);
}
