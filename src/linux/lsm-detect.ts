/**
 * Whether the host has AppArmor or SELinux enabled: host facts, read before
 * pivot_root (by the init) or on the host side (by exec's checks).
 */
import fs from 'node:fs';
import type { ProcfsHandle } from './procfs.js';
import { fsType } from './procfs.js';
import { readMountinfo } from './mountinfo.js';

const SELINUX_MAGIC = 0xf97cff8c;

/** runc's test: securityfs shows apparmor and the module is enabled. Host paths: call before pivot_root. */
export function apparmorEnabled(): boolean {
  try {
    fs.statSync('/sys/kernel/security/apparmor');
    return fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

function isSelinuxfs(mnt: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(mnt, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    return fsType(fd) >>> 0 === SELINUX_MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * go-selinux's test: a selinuxfs is mounted (at /sys/fs/selinux or wherever
 * mountinfo says) and our label is not "kernel". Call before pivot_root.
 */
export function selinuxEnabled(procfs?: ProcfsHandle): boolean {
  let mounted = isSelinuxfs('/sys/fs/selinux');
  if (!mounted) {
    try {
      if (!fs.readFileSync('/proc/filesystems', 'utf8').includes('\tselinuxfs\n')) return false;
      for (const m of readMountinfo()) {
        if (m.fsType === 'selinuxfs' && isSelinuxfs(m.mountPoint)) {
          mounted = true;
          break;
        }
      }
    } catch {
      return false;
    }
  }
  if (!mounted) return false;
  try {
    const current = (
      procfs
        ? procfs.read('thread-self/attr/current')
        : fs.readFileSync('/proc/thread-self/attr/current', 'utf8')
    )
      .replace(/\0+$/, '')
      .trim();
    return current !== 'kernel';
  } catch {
    return false;
  }
}
