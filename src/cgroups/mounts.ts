/**
 * Where the cgroup hierarchies are: the cgroup mounts in mountinfo, our own
 * cgroup in /proc/self/cgroup, and which layout the host has (v1 with or
 * without a cgroup2 mount beside it, "hybrid", or the unified v2 layout).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo, readMountinfo } from '../linux/mountinfo.js';

export const DEFAULT_ROOT = '/sys/fs/cgroup';
const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface CgroupMount {
  mountpoint: string;
  /** The mount's root inside its hierarchy (field 4 of mountinfo). */
  root: string;
  /** v1 subsystems (with "name=systemd" for named hierarchies); [] for cgroup2. */
  subsystems: string[];
  version: 1 | 2;
}

let mountsCache: CgroupMount[] | undefined;
let knownCache: Set<string> | undefined;

/** Subsystem names the kernel has (/proc/cgroups). */
function knownSubsystems(): Set<string> {
  if (!knownCache) {
    knownCache = new Set();
    try {
      for (const line of fs.readFileSync('/proc/cgroups', 'utf8').split('\n')) {
        const [name = ''] = line.split(/\s+/);
        if (name && !line.startsWith('#')) knownCache.add(name);
      }
    } catch {}
  }
  return knownCache;
}

export function cgroupMounts(mountinfo?: string): CgroupMount[] {
  if (mountinfo === undefined && mountsCache) return mountsCache;
  const mounts = mountinfo === undefined ? readMountinfo() : parseMountinfo(mountinfo);
  const out: CgroupMount[] = [];
  for (const { fsType, mountPoint, root, superOptions } of mounts) {
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mount: CgroupMount = {
      mountpoint: mountPoint,
      root,
      subsystems: [],
      version: fsType === 'cgroup2' ? 2 : 1,
    };
    if (fsType === 'cgroup') {
      const known = knownSubsystems();
      for (const opt of superOptions.split(',')) {
        if (opt.startsWith('name=') || known.has(opt)) mount.subsystems.push(opt);
      }
    }
    out.push(mount);
  }
  if (mountinfo === undefined) mountsCache = out;
  return out;
}

/** The first mount of a v1 subsystem ("" for the cgroup2 mount). */
export function findMount(subsystem: string, mounts = cgroupMounts()): CgroupMount | undefined {
  if (subsystem === '') return mounts.find((m) => m.version === 2);
  return mounts.find((m) => m.version === 1 && m.subsystems.includes(subsystem));
}

/** /proc/<pid>/cgroup as subsystem → path ("" for the unified hierarchy). */
export function parseCgroupFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (controllers === '') out.set('', p);
    else for (const c of controllers.split(',')) out.set(c, p);
  }
  return out;
}

export function ownCgroups(): Map<string, string> {
  return parseCgroupFile(fs.readFileSync('/proc/self/cgroup', 'utf8'));
}

/**
 * Whether `root` (/sys/fs/cgroup) is itself a cgroup2 mount: the pure v2
 * layout, runc's cgroups.IsCgroup2UnifiedMode (statfs's f_type against
 * CGROUP2_SUPER_MAGIC). A root that cannot be statted is not unified.
 */
export function isCgroup2Unified(root = DEFAULT_ROOT): boolean {
  try {
    return fs.statfsSync(root).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** The host's layout: "unified" when /sys/fs/cgroup itself is a cgroup2 mount. */
export function cgroupMode(root = DEFAULT_ROOT): 'unified' | 'hybrid' | 'legacy' {
  if (isCgroup2Unified(root)) return 'unified';
  return findMount('') ? 'hybrid' : 'legacy';
}

/** The mount holding `dir` (longest mountpoint prefix). */
export function mountOf(dir: string, mounts = cgroupMounts()): CgroupMount | undefined {
  let best: CgroupMount | undefined;
  for (const m of mounts) {
    if (
      dir === m.mountpoint ||
      dir.startsWith(m.mountpoint.endsWith('/') ? m.mountpoint : m.mountpoint + '/')
    ) {
      if (!best || m.mountpoint.length > best.mountpoint.length) best = m;
    }
  }
  return best;
}

/** Our own cgroup directory in a hierarchy: mountpoint + (own cgroup relative to the mount's root). */
export function ownCgroupDir(mount: CgroupMount, own: string): string {
  const rel = path.posix.relative(mount.root, own);
  return path.posix.join(mount.mountpoint, rel.startsWith('..') ? own : rel);
}
