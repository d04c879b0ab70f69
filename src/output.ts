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

// On globalThis, not in module variables: each command is a bundle of its
// own with its own copy of this module, and the entry point sets the sinks.
const SINKS = Symbol.for('runts.logSinks');
interface LogSinks {
  debug?: ((msg: string) => void) | undefined;
  warn?: ((msg: string) => void) | undefined;
}
const sinks = (): LogSinks => ((globalThis as { [SINKS]?: LogSinks | undefined })[SINKS] ??= {});

/**
 * Route debug() and warn() to the logger (set once by the entry point):
 * debug lines only with --debug, warnings to the --log file when there is one.
 */
export function setLogSinks(s: LogSinks): void {
  Object.assign(sinks(), s);
}

/**
 * One line per step at debug level (runc's --debug): nothing without
 * --debug. Never pass secrets or whole environments.
 */
export function debug(msg: string): void {
  sinks().debug?.(msg);
}

/** A problem that does not fail the command: the logger's warning, else `runts: warning: <msg>` on stderr. */
export function warn(msg: string): void {
  const sink = sinks().warn;
  if (sink) sink(msg);
  else writeAll(2, `runts: warning: ${msg}\n`);
}
