/** flock(2): advisory whole-file locks, released when the fd is closed. */
import fs from 'node:fs';
import { errnoOf } from './errno.js';
import { DataType, libcFunction } from './libc.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

const flockCall = libcFunction('flock', DataType.I32, [DataType.I32, DataType.I32]);

export class FileLock {
  private constructor(private fd: number | undefined) {}

  /** Open (O_RDONLY) `path` and take a lock on it, waiting for it. */
  static acquire(path: string, mode: 'shared' | 'exclusive'): FileLock {
    const lock = FileLock.take(path, mode, true);
    // A waiting flock returns with the lock or throws.
    if (!lock) throw new Error(`lock ${path}: not taken`);
    return lock;
  }

  /** As acquire, but undefined at once when another open file holds the lock. */
  static tryAcquire(path: string, mode: 'shared' | 'exclusive'): FileLock | undefined {
    return FileLock.take(path, mode, false);
  }

  private static take(path: string, mode: 'shared' | 'exclusive', wait: boolean): FileLock | undefined {
    const fd = fs.openSync(path, fs.constants.O_RDONLY);
    try {
      flockCall([fd, (mode === 'shared' ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)], path);
    } catch (e) {
      fs.closeSync(fd);
      if (!wait && errnoOf(e) === 'EAGAIN') return undefined;
      throw e;
    }
    return new FileLock(fd);
  }

  release(): void {
    if (this.fd === undefined) return;
    try {
      flockCall([this.fd, LOCK_UN]);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/**
 * Pids of the processes with an fd on `path` that holds a flock (the
 * `lock:` line of /proc/<pid>/fdinfo/<fd>): a lock belongs to an open file,
 * so a process that inherited the fd holds it as much as the one that took
 * it, and /proc/locks names only the latter. Waiters have no `lock:` line.
 */
export function flockHolders(path: string): number[] {
  const holders: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${name}/fd/${fd}`) !== path) continue;
        if (/^lock:.*FLOCK/m.test(fs.readFileSync(`/proc/${name}/fdinfo/${fd}`, 'utf8'))) {
          holders.push(Number(name));
          break;
        }
      } catch {}
    }
  }
  return holders;
}
