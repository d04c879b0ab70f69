/** File-system calls Node does not offer, and the atomic file write. */
import fs from 'node:fs';
import path from 'node:path';
import { DataType, libcFunction } from './libc.js';

const mkfifoCall = libcFunction('mkfifo', DataType.I32, [DataType.String, DataType.U32]);

export function mkfifo(file: string, mode: number): void {
  mkfifoCall([file, mode], file);
}

/**
 * Replace `file` with `data` atomically: a reader sees the old content or
 * the new, never a part (clients read pid files and state while runts
 * writes them). The data goes to a temporary file in the same directory
 * (rename(2) is atomic only within one filesystem), renamed over `file`.
 * No fsync: as runc, the file need not survive a crash of the machine.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, data, { mode });
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
