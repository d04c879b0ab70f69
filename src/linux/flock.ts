/** flock(2): advisory whole-file locks, released when the fd is closed. */
import fs from 'node:fs';
import { DataType, libcFunction } from './libc.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_UN = 8;

const flockCall = libcFunction('flock', DataType.I32, [DataType.I32, DataType.I32]);

export class FileLock {
  private constructor(private fd: number | undefined) {}

  /** Open (O_RDONLY) `path` and take a lock on it, waiting for it. */
  static acquire(path: string, mode: 'shared' | 'exclusive'): FileLock {
    const fd = fs.openSync(path, fs.constants.O_RDONLY);
    try {
      flockCall([fd, mode === 'shared' ? LOCK_SH : LOCK_EX], path);
    } catch (e) {
      fs.closeSync(fd);
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
