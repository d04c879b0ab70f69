/**
 * /proc/PID/mountinfo (proc(5)): one line per mount,
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)         (6)      (7...)    (8) (9)   (10)      (11)
 *
 * with any number of optional fields (7) ended by a lone "-". The kernel
 * escapes space, tab, newline and backslash in paths as \ooo (octal).
 */
import fs from 'node:fs';

export interface MountInfo {
  id: number;
  parentId: number;
  /** "major:minor" of the device. */
  device: string;
  /** The directory of the filesystem mounted here (e.g. a bind mount's source path, a cgroup's path). */
  root: string;
  mountPoint: string;
  /** Per-mount options (rw, nosuid, relatime, ...). */
  options: string;
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  optionalFields: string[];
  fsType: string;
  source: string;
  /** Per-superblock options (for cgroup v1: the controllers and name=X). */
  superOptions: string;
}

/** Undo the kernel's \ooo escapes (space \040, tab \011, newline \012, backslash \134). */
export function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parse one line; undefined for a line that is not a mount (empty, or malformed). */
export function parseMountinfoLine(line: string): MountInfo | undefined {
  const sep = line.indexOf(' - ');
  if (sep < 0) return undefined;
  const pre = line.slice(0, sep).split(' ');
  const post = line.slice(sep + 3).split(' ');
  if (pre.length < 6) return undefined;
  const field = (fields: string[], i: number): string => fields.at(i) ?? '';
  return {
    id: Number(field(pre, 0)),
    parentId: Number(field(pre, 1)),
    device: field(pre, 2),
    root: unescapeMountinfo(field(pre, 3)),
    mountPoint: unescapeMountinfo(field(pre, 4)),
    options: field(pre, 5),
    optionalFields: pre.slice(6),
    fsType: field(post, 0),
    source: unescapeMountinfo(field(post, 1)),
    superOptions: field(post, 2),
  };
}

/** Every mount of a mountinfo text, in its order. */
export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const m = parseMountinfoLine(line);
    if (m) mounts.push(m);
  }
  return mounts;
}

/** The mounts of the calling process's mount namespace (or of /proc/PID/mountinfo given as `file`). */
export function readMountinfo(file = '/proc/self/mountinfo'): MountInfo[] {
  return parseMountinfo(fs.readFileSync(file, 'utf8'));
}
