/**
 * Writing to runts' stdout and stderr without Node's stream objects: touching
 * process.stdout or process.stderr loads Node's whole stream machinery
 * (about 20 internal modules, ~5 ms here), more than `runts state` costs
 * otherwise. Writes are synchronous, as Node's own are for files, pipes and
 * terminals on Linux, so the order of output is kept.
 */
import fs from 'node:fs';

function writeAll(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += fs.writeSync(fd, buf, off);
  } catch (e) {
    // A non-blocking pipe that is full (its reader set O_NONBLOCK): let
    // Node's stream queue the rest and flush it before exit.
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
      (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(off));
      return;
    }
    if (fd === 1) throw e;
    // stderr gone: nothing left to tell.
  }
}

export function writeStdout(text: string): void {
  writeAll(1, text);
}

export function writeStderr(text: string): void {
  writeAll(2, text);
}

/** `runts: warning: <msg>` on stderr, for problems that do not fail the command. */
export function warn(msg: string): void {
  writeAll(2, `runts: warning: ${msg}\n`);
}
