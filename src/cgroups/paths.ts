/**
 * linux.cgroupsPath → directories, as runc's cgroupfs driver resolves it:
 * - cleaned so that it can never climb out of its hierarchy ("../x" is "x");
 * - absolute: under each hierarchy's mountpoint;
 * - relative: under our own cgroup in each hierarchy (v1), or under the
 *   parent of our own cgroup (unified v2 host);
 * - empty: the container ID, relative.
 */
import path from 'node:path';
import { cgroupMounts, findMount, mountOf, ownCgroupDir, ownCgroups, type CgroupMount } from './mounts.js';

/** runc's utils.CleanPath. */
export function cleanPath(p: string | undefined): string {
  if (!p) return '';
  let c = path.posix.normalize(p);
  if (!path.posix.isAbsolute(c)) {
    c = path.posix.relative('/', path.posix.normalize('/' + c));
  }
  c = path.posix.normalize(c);
  if (c.length > 1 && c.endsWith('/')) c = c.slice(0, -1);
  return c === '.' ? '' : c;
}

export function innerPath(cgroupsPath: string | undefined, id: string): string {
  return cleanPath(cgroupsPath) || cleanPath(id);
}

/** Directories of a v1 (or hybrid) host: subsystem → dir; throws when devices is not mounted. */
export function v1Dirs(
  inner: string,
  subsystems: string[],
  mounts: CgroupMount[] = cgroupMounts(),
  own: Map<string, string> = ownCgroups(),
): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const sub of subsystems) {
    const mount = findMount(sub, mounts);
    if (!mount) {
      if (sub === 'devices') throw new Error('mountpoint for devices not found');
      continue;
    }
    if (path.posix.isAbsolute(inner) || sub === '') {
      // runc 1.1 takes the cgroup2 mount itself as "our own cgroup" on a hybrid host.
      dirs.set(sub, path.posix.join(mount.mountpoint, inner));
    } else {
      const mine = own.get(sub);
      if (mine === undefined) {
        if (sub === 'devices') throw new Error('cannot find our own cgroup in the devices hierarchy');
        continue;
      }
      dirs.set(sub, path.posix.join(ownCgroupDir(mount, mine), inner));
    }
  }
  return dirs;
}

/** The directory on a unified host. */
export function v2Dir(inner: string, mountpoint: string, own: Map<string, string> = ownCgroups()): string {
  if (path.posix.isAbsolute(inner)) return path.posix.join(mountpoint, inner);
  const mine = own.get('');
  if (mine === undefined) throw new Error('cgroup path not found');
  // Our own cgroup most likely has processes (us): a sibling can have controllers, a child cannot.
  return path.posix.join(mountpoint, path.posix.dirname(mine), inner);
}

/** A record's v1 directories → subsystem → dir, by the hierarchy each is in. */
export function v1DirsOfPaths(paths: string[], mounts: CgroupMount[] = cgroupMounts()): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const p of paths) {
    const m = mountOf(p, mounts);
    if (!m) continue;
    if (m.version === 2) dirs.set('', p);
    else for (const s of m.subsystems) dirs.set(s, p);
  }
  return dirs;
}
