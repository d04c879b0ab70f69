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

// On globalThis, not in a module variable: each command is a bundle of its
// own with its own copy of this module, and the entry point sets the sink.
const SINK = Symbol.for('runts.debugSink');
type Sinks = { [SINK]?: (msg: string) => void };

/** Where debug() writes: set once by the entry point when --debug is given (the logger's debug level). */
export function setDebugSink(sink: ((msg: string) => void) | undefined): void {
  (globalThis as Sinks)[SINK] = sink;
}

/**
 * One line per step at debug level (runc's --debug): nothing without
 * --debug. Never pass secrets or whole environments.
 */
export function debug(msg: string): void {
  (globalThis as Sinks)[SINK]?.(msg);
}

/** `runts: warning: <msg>` on stderr, for problems that do not fail the command. */
export function warn(msg: string): void {
  writeAll(2, `runts: warning: ${msg}\n`);
}
